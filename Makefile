# Two entry points: `make run` (the main job) and `make test`.  Both create .venv themselves.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test bench docs clean validate validate-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check --no-compile -e '.[test,browser]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/swaplab compare

test: $(STAMP)
	$(BIN)/python -m pytest

# Hold the model against real 6.1 kernels under qemu (docs/validation.md).  The system packages
# come from apt when run as root; otherwise the command to run is printed.
validate-packages: $(STAMP)
	@pkgs="$$($(BIN)/python -c 'from swaplab.transplant.machine import PACKAGES; print(*PACKAGES)')"; \
	if dpkg -s $$pkgs >/dev/null 2>&1; then :; \
	elif [ "$$(id -u)" = 0 ]; then \
		apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$pkgs >/dev/null; \
	else echo "make validate needs system packages; as root run: apt-get install -y $$pkgs"; exit 1; fi

validate: validate-packages
	$(BIN)/python -m swaplab.transplant.validate

bench: $(STAMP)
	$(BIN)/python benchmarks/engine_bench.py

# Rerun every command quoted in README.md and docs/*.md and rewrite its marked block (and the
# plots the bench block writes): about 2.5 minutes, the full compare matrix included.
docs: $(STAMP)
	$(BIN)/python -m swaplab.report.docblocks --write README.md docs/*.md

clean:
	rm -rf $(VENV) build src/*.egg-info
