# Two entry points: `make run` (the main job) and `make test`.  Both create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench docs clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -e '.[test,browser]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/swaplab compare

test: $(STAMP)
	$(BIN)/python -m pytest

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_bench.py

# Rerun every command quoted in README.md and docs/*.md and rewrite its marked block (and the
# plots the bench block writes): about 2.5 minutes, the full compare matrix included.
docs: $(STAMP)
	$(BIN)/python -m swaplab.report.docblocks --write README.md docs/*.md

clean:
	rm -rf $(VENV) build src/*.egg-info
