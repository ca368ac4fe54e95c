# Two commands for a fresh machine:
#   make lab    set up .venv (once) and open JupyterLab on notebooks/
#   make test   set up .venv (once) and run every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sse_lab-installed
PORT   ?= 8888
# Extra options for `jupyter lab`, e.g. LAB_ARGS="--no-browser --ServerApp.token=".
LAB_ARGS ?=
# JupyterLab refuses to start as root ("Running as root is not recommended"), which is
# how Docker images, many cloud VMs and CI boxes log in: allow it there, and say so.
ALLOW_ROOT := $(shell [ "$$(id -u)" = 0 ] && echo --allow-root)

.PHONY: lab test test-busy install serve bench clean

# Re-installs only when pyproject.toml changes, so a second `make test` starts at once.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
ifneq ($(ALLOW_ROOT),)
	@echo "make lab: you are root (uid 0), so JupyterLab runs with --allow-root"
endif
	exec $(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
		--port=$(PORT) $(ALLOW_ROOT) $(LAB_ARGS)

# The suite, then every notebook again on a busy machine (see test-busy).
test: $(STAMP)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=60 tests notebooks
	$(MAKE) --no-print-directory test-busy

# Classroom-proof: nbval on every notebook while two busy loops hold both cores, as on a
# shared JupyterHub during a workshop. The script always stops the busy loops.
test-busy: $(STAMP)
	PY=$(PY) scripts/busy_nbval.sh

serve: $(STAMP)
	$(PY) -m sse_lab serve --port 1314

bench: $(STAMP)
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	$(PY) -m benchmarks.run

clean:
	rm -rf $(VENV) test-artifacts

# Regenerate docs/screenshot.png (notebook 01 mid-race, headless /usr/bin/chromium).
.PHONY: screenshot
screenshot: $(STAMP)
	$(PY) scripts/screenshot.py
