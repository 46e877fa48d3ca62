"""The language model, loaded once per session into a temporary cache (skipped without its weights)."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("gguf", reason="the emulator LM needs the 'local' extra (gguf)")
pytest.importorskip("llguidance", reason="the emulator LM needs the 'local' extra (llguidance)")

from threadpoolctl import threadpool_limits

from workersai.local.lm import Engine, SmolLM2Generator, WeightsNotInstalled, find_gguf


@pytest.fixture(scope="session")
def lm_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        find_gguf()
    except WeightsNotInstalled as exc:
        pytest.skip(str(exc))
    return tmp_path_factory.mktemp("lm-cache")


@pytest.fixture(scope="session")
def engine(lm_cache: Path) -> Engine:
    # One BLAS thread: the suite shares two cores with other work.
    threadpool_limits(limits=1, user_api="blas")
    return Engine(cache_dir=lm_cache)


@pytest.fixture(scope="session")
def generator(engine: Engine) -> SmolLM2Generator:
    return SmolLM2Generator(engine)
