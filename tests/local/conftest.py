"""The language model, loaded once per session into a temporary cache (skipped without its weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gguf", reason="the emulator LM needs the 'local' extra (gguf)")
pytest.importorskip("llguidance", reason="the emulator LM needs the 'local' extra (llguidance)")

from threadpoolctl import threadpool_limits

from workersai.local.lm import Engine, SmolLM2Generator, WeightsNotInstalled, default_cache_dir, find_gguf


@pytest.fixture(scope="session")
def lm_cache() -> Path:
    """The user's cache, as the emulator uses it: `make install` converted the model into it once. (A
    temporary cache converted it again in every xdist worker: 7 CPU-seconds and 540 MB each; the
    conversion into an empty cache is tests/test_install_path.py's.)"""
    try:
        find_gguf()
    except WeightsNotInstalled as exc:
        pytest.skip(str(exc))
    return default_cache_dir()


@pytest.fixture(scope="session")
def engine(lm_cache: Path) -> Engine:
    # One BLAS thread: the suite shares two cores with other work.
    threadpool_limits(limits=1, user_api="blas")
    return Engine(cache_dir=lm_cache)


@pytest.fixture(scope="session")
def generator(engine: Engine) -> SmolLM2Generator:
    return SmolLM2Generator(engine)
