# make demo  — install into .venv, then evaluate the embedded demo project
# make test  — install, then run every check (lint, types, tests)
# make bench — the scoring benchmark (1,000,000 predictions; 20,000 texts)
# make bench-endpoint — heldout, lm-evaluation-harness and inspect-ai against one local server
# make bench-local — heldout and lm-evaluation-harness on one local 23M-parameter GPT-2 (CPU)
# make bench-analysis — every analysis (slices … drift, evaluate) on 1,000,000 examples
# make bench-dashboard — the dashboard's run and examples pages on a run of 1,000,000 examples
# make bench-leakage — streamed leakage check, 1,000,000 training × 50,000 eval documents

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-dev
HF_STAMP := $(VENV)/.installed-hf

.PHONY: install demo test lint typecheck unit bench bench-endpoint bench-local bench-analysis bench-dashboard bench-leakage clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

# the local-model tests need torch, transformers and peft; torch is pinned to the CPU
# build here (a bare "torch" pulls a multi-GB CUDA build)
$(HF_STAMP): $(STAMP)
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -e ".[dev,hf,mlflow]"
	touch $(HF_STAMP)

# the dashboard's browser tests drive Debian's chromium through playwright
CHROMIUM := /usr/bin/chromium
$(CHROMIUM):
	apt-get install -y --no-install-recommends chromium || \
	  (apt-get update && apt-get install -y --no-install-recommends chromium)

install: $(STAMP)

demo: install
	$(BIN)/heldout quickstart demo

lint: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

typecheck: install $(HF_STAMP)
	$(BIN)/mypy

unit: install $(HF_STAMP) $(CHROMIUM)
	$(BIN)/pytest -n 2 -q

test: lint typecheck unit

bench: install
	$(BIN)/python benchmarks/bench_scoring.py

bench-endpoint: install
	$(BIN)/python -m pip install --quiet -e ".[dev,bench]"
	$(BIN)/python benchmarks/bench_endpoint.py

bench-local: install
	$(BIN)/python -m pip install --quiet "torch==2.13.0" -e ".[dev,hf,bench]"
	$(BIN)/python benchmarks/bench_local.py

bench-analysis: install
	$(BIN)/python benchmarks/bench_analysis.py --json benchmarks/results/bench_analysis.json

bench-dashboard: install
	$(BIN)/python benchmarks/bench_dashboard.py

bench-leakage: install
	$(BIN)/python benchmarks/bench_leakage.py --json benchmarks/results/bench_leakage.json

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache demo
