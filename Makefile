# The README's two commands are `make demo` and `make test`; both set up the machine first.
SHELL := /bin/bash
VENV := .venv/bin
export HF_HUB_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup demo test test-fast bench clean lint lint-workflow

setup:
	@bash envs/setup.sh

demo: setup
	$(VENV)/snakemake --cores all

test: setup
	$(VENV)/python -m pytest -q

test-fast: setup
	$(VENV)/python -m pytest -q -m "not slow"

# `snakemake --lint` on the default, test and paper configs: fails on any warning but the two explained
# in workflow/rules/common.smk (no conda/container per rule; the VLPEFT interpreter variable).
LINT_EXPLAINED := -e 'Specify a conda environment or container' -e 'uses variable VLPEFT from outside of the rule'
lint-workflow: setup
	@for cfg in config/config.yaml config/test.yaml config/paper/image_bart.yaml config/paper/video_bart.yaml; do \
	  out=$$($(VENV)/snakemake --lint --configfile $$cfg 2>&1 || true); \
	  echo "$$out" | grep -q "^Lints for" || { echo "$$out"; echo "snakemake --lint did not run ($$cfg)"; exit 1; }; \
	  left=$$(echo "$$out" | grep -E '^\s+\* ' | grep -v $(LINT_EXPLAINED) || true); \
	  if [ -n "$$left" ]; then echo "$$out"; echo "unexplained snakemake --lint warnings ($$cfg):"; echo "$$left"; exit 1; fi; \
	done; echo "snakemake --lint: only the two explained warnings"

# ruff (lint + format check) and mypy over the Python; settings in pyproject.toml.
lint: setup
	$(VENV)/ruff check src tests benchmarks
	$(VENV)/ruff format --check src tests benchmarks
	$(VENV)/mypy

bench: setup
	$(VENV)/python benchmarks/run.py

clean:
	rm -rf data/*/ frames features models runs results logs .snakemake
