"""The sample project's fixtures, all built on the workersai plugin's (registered by installing
``workersai[local]``): ``workersai_emulator`` starts the emulator once per session, points the
CLOUDFLARE_* variables at it for each test and resets it after (scripts, faults, request log, the
indexes the test created); ``workersai_client`` is a client for it; ``workersai_faults`` injects faults."""

from __future__ import annotations

import uuid

import pytest

PASSAGES = [
    "Vectorize writes are asynchronous: a write returns a mutation id, and queries see it once applied.",
    "When Workers AI is out of capacity it answers 429 with code 3040: retry with backoff.",
    "AI Gateway caches answers and logs every request.",
    "D1 is SQLite at the edge.",
]


@pytest.fixture(scope="session", autouse=True)
def _llamaindex_offline() -> None:
    """LlamaIndex's default tokenizer (tiktoken) downloads its vocabulary: count words instead."""
    from llama_index.core import Settings

    Settings.tokenizer = str.split


@pytest.fixture
def passages() -> list[str]:
    return list(PASSAGES)


@pytest.fixture
def index_name() -> str:
    """A fresh Vectorize index name (the plugin deletes the index after the test)."""
    return f"test-{uuid.uuid4().hex[:8]}"
