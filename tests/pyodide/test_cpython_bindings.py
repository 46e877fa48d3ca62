"""The LlamaIndex adapters on the binding path, in plain CPython: a client built from Python stand-ins
for `env.AI` / `env.VECTORIZE` (pybindings.py, forwarding to the emulator, held to workerd's bindings by
test_workerd_contract.py).

LlamaIndex does not load under Pyodide here: llama-index-core imports numpy at import
(llama_index/core/base/embeddings/base.py) and Pillow (llama_index/core/schema.py), and neither has a
pyemscripten_2026_0_wasm32 wheel on PyPI (numpy 2.4.6 and Pillow 13.0.0 checked with build_site.py's pip
command); Pyodide's own builds of both are served from its CDN, which this machine cannot reach. So the
LlamaIndex adapters' binding path is proven here, with everything but the JS conversion (which
tests/pyodide/test_pyodide.py proves with LangChain).
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.schema import TextNode
from llama_index.core.vector_stores.types import (
    MetadataFilter,
    MetadataFilters,
    VectorStoreQuery,
)

from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding
from tests.pyodide import pybindings
from workersai import WorkersAI as Core
from workersai.errors import BindingUnsupported, ModelNotFound
from workersai.local import LocalEmulator

EMBED = "@cf/baai/bge-small-en-v1.5"
TEXTS = ["Paris is the capital of France.", "The Seine flows through Paris.", "Photosynthesis makes sugar."]


@pytest.fixture
async def core(emulator: LocalEmulator, _admin: Core) -> AsyncIterator[tuple[Core, str]]:
    index = f"li-bind-{uuid.uuid4().hex[:8]}"
    _admin.vectorize.create_index(index, dimensions=384, metric="cosine")
    _admin.vectorize.create_metadata_index(index, "topic", "string", wait=True)
    args = (emulator.base_url, emulator.account_id, emulator.token)
    client = Core(
        binding=pybindings.Ai(*args), vectorize_binding={index: pybindings.VectorizeIndex(*args, index)}
    )
    yield client, index


async def test_llm_chat_stream_and_typed_errors(core: tuple[Core, str]) -> None:
    client, _ = core
    llm = WorkersAI(client=client, max_tokens=60)
    context = "Context: Paris is the capital of France. Question: what is the capital of France?"
    answer = await llm.achat([ChatMessage(role="user", content=context)])
    assert "Paris" in (answer.message.content or "")
    parts = [r.delta async for r in await llm.astream_chat([ChatMessage(role="user", content="The Seine?")])]
    assert len([p for p in parts if p]) > 1
    with pytest.raises(BindingUnsupported, match="async only"):
        llm.chat([ChatMessage(role="user", content="hi")])
    with pytest.raises(ModelNotFound):
        await WorkersAI(client=client, model="@cf/nobody/none").achat([ChatMessage(role="user", content="x")])


async def test_vector_store_add_query_with_filter_delete(core: tuple[Core, str], _admin: Core) -> None:
    client, index = core
    embed = WorkersAIEmbedding(client=client, model_name=EMBED)
    vectors = await embed.aget_text_embedding_batch(TEXTS)
    assert [len(v) for v in vectors] == [384] * 3
    assert vectors[0] == pytest.approx(_admin.embed([TEXTS[0]], model=EMBED)[0], abs=1e-6)
    nodes = [
        TextNode(id_=f"n{i}", text=t, embedding=v, metadata={"topic": "geo" if i < 2 else "bio"})
        for i, (t, v) in enumerate(zip(TEXTS, vectors, strict=True))
    ]
    store = VectorizeVectorStore(index, client=client)
    assert await store.async_add(nodes) == ["n0", "n1", "n2"]
    query_vector = await embed.aget_query_embedding("capital of France")
    found = await store.aquery(VectorStoreQuery(query_embedding=query_vector, similarity_top_k=3))
    assert found.ids is not None and found.ids[0] == "n0"
    bio = MetadataFilters(filters=[MetadataFilter(key="topic", value="bio")])
    only_bio = await store.aquery(
        VectorStoreQuery(query_embedding=query_vector, similarity_top_k=3, filters=bio)
    )
    assert only_bio.ids == ["n2"]
    await store.adelete_nodes(["n0"])
    after = await store.aquery(VectorStoreQuery(query_embedding=query_vector, similarity_top_k=3))
    assert after.ids is not None and "n0" not in after.ids and "n1" in after.ids
