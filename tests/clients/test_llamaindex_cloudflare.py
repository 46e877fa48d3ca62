"""LlamaIndex's ``CloudflareEmbedding`` (llama-index-embeddings-cloudflare-workersai 0.6.0), unmodified,
against the emulator. The client has no base-URL option (its ``API_URL_TEMPLATE`` names
Cloudflare's API host), so the test points that module constant at the emulator; the calls are its own."""

from __future__ import annotations

from typing import Any

import pytest

from workersai.local import LocalEmulator

from .conftest import need


@pytest.fixture
def embedding(emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    base = need("llama_index.embeddings.cloudflare_workersai.base")
    monkeypatch.setattr(
        base, "API_URL_TEMPLATE", f"{emulator.base_url}/accounts/{{}}/ai/run/{{}}", raising=True
    )
    return base.CloudflareEmbedding(
        account_id=emulator.account_id, auth_token=emulator.token, model="@cf/baai/bge-small-en-v1.5"
    )


def test_embeddings(embedding: Any) -> None:
    vectors = embedding.get_text_embedding_batch(["one", "two", "three"])
    assert [len(v) for v in vectors] == [384, 384, 384]
    assert len(embedding.get_query_embedding("four")) == 384


async def test_async_embeddings(embedding: Any) -> None:
    vectors = await embedding.aget_text_embedding_batch(["one", "two"])
    assert [len(v) for v in vectors] == [384, 384]
    assert len(await embedding.aget_query_embedding("three")) == 384
