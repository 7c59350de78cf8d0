# Two entry points for a fresh clone: `make demo` and `make test` (both set up .venv first).
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: setup demo test lint graph

$(STAMP): pyproject.toml constraints.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip 2>&1 | grep -v "is ignored" || true
	$(PY) -m pip install -q -c constraints.txt -e ".[fit,dev]" 2>&1 | grep -v "is ignored" || true
	$(PY) -c "import gamut_onnx, torch, onnxruntime"
	touch $(STAMP)

setup: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/gamut-onnx demo demo

test: $(STAMP)
	$(PY) -m pytest -q

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

graph: $(STAMP)
	$(PY) -m gamut_onnx.exporters.graph
