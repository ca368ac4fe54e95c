# Two commands for a fresh machine:
#   make lab    set up .venv (once) and open JupyterLab on notebooks/
#               (make lab EDITION=zh-CN: the Chinese edition, notebooks/zh-CN/)
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
# Which edition `make lab` opens: en (notebooks/00-index.ipynb) or zh-CN
# (notebooks/zh-CN/00-index.ipynb). The kernel picks the lab's language from the notebook's
# folder by itself; for zh-CN, JupyterLab's own menus speak Chinese too (language pack).
EDITION ?= en
# zh-CN only: the application settings of that run (a copy of the environment's, plus a
# default for the interface language), so the English run's settings stay untouched.
LAB_SETTINGS ?= $(VENV)/share/sse_lab/lab-settings-$(EDITION)
ifeq ($(EDITION),en)
LAB_START := 00-index.ipynb
LAB_EDITION_ARGS :=
else ifeq ($(EDITION),zh-CN)
LAB_START := zh-CN/00-index.ipynb
LAB_EDITION_ARGS := --LabApp.app_settings_dir=$(LAB_SETTINGS)
endif

.PHONY: lab test test-busy test-notebooks install serve bench clean

# Re-installs only when pyproject.toml changes, so a second `make test` starts at once.
$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --upgrade pip
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

lab: $(STAMP)
ifeq ($(LAB_START),)
	$(error make lab: EDITION must be en or zh-CN, not "$(EDITION)")
endif
ifneq ($(ALLOW_ROOT),)
	@echo "make lab: you are root (uid 0), so JupyterLab runs with --allow-root"
endif
ifeq ($(EDITION),zh-CN)
	@# JupyterLab reads default settings from overrides.d/*.json in its app settings dir:
	@# start from the environment's own (if any) and make Chinese the interface default.
	mkdir -p '$(LAB_SETTINGS)/overrides.d'
	@d="$$($(PY) -c 'from jupyterlab.commands import get_app_dir; print(get_app_dir())')/settings"; \
		if [ -d "$$d" ]; then cp -R "$$d/." '$(LAB_SETTINGS)/'; fi
	echo '{"@jupyterlab/translation-extension:plugin": {"locale": "zh_CN"}}' \
		> '$(LAB_SETTINGS)/overrides.d/sse-lab-zh-CN.json'
endif
	exec $(VENV)/bin/jupyter lab --notebook-dir=notebooks --ServerApp.ip=127.0.0.1 \
		--port=$(PORT) --LabApp.default_url=/lab/tree/$(LAB_START) $(LAB_EDITION_ARGS) \
		$(ALLOW_ROOT) $(LAB_ARGS)

# The suite (the zh-CN notebooks in JupyterLab among it), then every notebook of both
# editions under nbval on a busy machine (see test-busy): nbval on an idle machine
# would only repeat it (`make test-notebooks` runs that alone).
test: $(STAMP)
	$(PY) -m pytest tests
	$(MAKE) --no-print-directory test-busy

test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval-lax --nbval-current-env --nbval-cell-timeout=60 notebooks

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

# Regenerate docs/screenshot.png and docs/screenshot.zh-CN.png (notebook 01 mid-race,
# headless /usr/bin/chromium).
.PHONY: screenshot
screenshot: $(STAMP)
	$(PY) scripts/screenshot.py
	$(PY) scripts/screenshot.py --edition zh-CN
