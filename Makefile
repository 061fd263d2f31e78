# The README's two commands are `make demo` and `make test`; both set up the machine first.
SHELL := /bin/bash
VENV := .venv/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-fast bench clean

setup:
	@bash envs/setup.sh

demo: setup
	$(VENV)/snakemake --cores all

test: setup
	$(VENV)/python -m pytest -q

test-fast: setup
	$(VENV)/python -m pytest -q -m "not slow"

bench: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf data/*/ frames features models runs results logs .snakemake
