# Two entry points for a fresh clone: `make demo` and `make test` (both set up .venv first).
# Recipes are quiet (@): `make demo` prints the demo's lines, `make test` the test runners'.
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
EXTRAS := cpu,fit,formats,eval,export,cluster,dev
# pip prints "Location ... is ignored" for local package mirrors that lack a project; not ours.
PIP_QUIET := 2>&1 | grep -v "is ignored" || true
# Node.js and browser restore runtimes (Node 20+ and npm): npm ci from the lock files, re-run when
# a lock file changes or node_modules is removed (the stamp lives inside it).
NODE_DIRS := runtimes/node runtimes/web
NODE_STAMPS := $(NODE_DIRS:%=%/node_modules/.installed)
HAVE_NODE := $(shell command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 && echo yes)

.PHONY: setup demo test lint graph node-setup test-runtimes package-check

$(STAMP): pyproject.toml constraints.txt
	@python3 -m venv $(VENV)
	@$(PY) -m pip install -q --upgrade pip $(PIP_QUIET)
	@$(PY) -m pip install -q -c constraints.txt -e ".[$(EXTRAS)]" $(PIP_QUIET)
	@$(PY) -c "import gamut_onnx, torch, onnxruntime"
	@touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	@$(VENV)/bin/gamut-onnx demo demo

ifeq ($(HAVE_NODE),yes)
test: $(STAMP) $(NODE_STAMPS)
	@$(PY) -m pytest -q
	@$(MAKE) --no-print-directory test-runtimes
else
test: $(STAMP)
	@$(PY) -m pytest -q
	@echo "Node.js/npm not found: skipped the Node and browser runtime tests (install Node 20+)"
endif

lint: $(STAMP)
	@$(VENV)/bin/ruff check .
	@$(VENV)/bin/ruff format --check .

graph: $(STAMP)
	@$(PY) -m gamut_onnx.exporters.graph

# onnxruntime-node's postinstall would fetch CUDA libraries from NuGet; the CPU build it needs
# ships in the npm package, so the download is skipped.
%/node_modules/.installed: %/package-lock.json
	@cd $* && ONNXRUNTIME_NODE_INSTALL=skip npm ci --no-audit --no-fund --loglevel=error
	@touch $@

node-setup: $(NODE_STAMPS)

# Node: conformance vectors, blob checks, CLI (against `gamut-onnx decode` when .venv exists),
# npm pack. Browser: the page in headless Chromium (skipped when /usr/bin/chromium is absent).
test-runtimes: $(NODE_STAMPS)
	@cd runtimes/node && node --test test/*.test.js
	@cd runtimes/web && node --test test/*.test.js

# Wheel, sdist and the install paths, each in a fresh virtual environment (.ci/run calls it).
package-check: $(STAMP)
	@$(PY) .ci/package_check.py
