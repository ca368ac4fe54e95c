# Two commands for a fresh machine:
#   make lab    set up .venv (once) and open JupyterLab on notebooks/
#   make test   set up .venv (once) and run every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.sse_lab-installed
PORT   ?= 8888

.PHONY: lab test install serve bench clean

# Re-installs only when pyproject.toml changes, so a second `make test` starts at once.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
	$(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 --port=$(PORT)

test: $(STAMP)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=60 tests notebooks

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
