"""The LlamaIndex adapters against the emulator: the vector-store checklist, the LLM, embeddings."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from llama_index.core.base.llms.types import ChatMessage
from llama_index.core.tools import FunctionTool
from pydantic import BaseModel

from llamaindex_workersai import VectorizeRetriever, VectorizeVectorStore, WorkersAI, WorkersAIEmbedding
from workersai import BadInput, RetryPolicy
from workersai.local import LocalEmulator

from ..conftest import RequestLog
from ..timing import HTTP_TIMEOUT_S
from .checklist import VectorStoreChecklist, nodes, unit

FAST_LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


class TestVectorizeChecklist(VectorStoreChecklist):
    dims = 384

    @pytest.fixture(params=[True, "deferred"], ids=["wait", "deferred"])
    def store(self, conn: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[VectorizeVectorStore]:
        # Every check runs with writes that wait and with deferred ones (confirmed before each read).
        store = VectorizeVectorStore(f"li-{uuid.uuid4().hex[:10]}", wait=request.param, **conn)
        store.create_index(self.dims)
        vz = store.client.vectorize
        vz.create_metadata_index(store.index_name, "n", "number")
        vz.create_metadata_index(store.index_name, "s", "string", wait=True)
        yield store
        vz.delete_index(store.index_name)

    @pytest.fixture
    def embed_model(self, conn: dict[str, Any]) -> WorkersAIEmbedding:
        return WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **conn)

    @pytest.fixture
    def llm(self, conn: dict[str, Any]) -> WorkersAI:
        return WorkersAI(max_tokens=60, **conn)


# -- LLM -----------------------------------------------------------------------------------------


def magic(input: int) -> int:
    """Applies a magic function to an input."""
    return input + 2


def test_llm_metadata(conn: dict[str, Any]) -> None:
    meta = WorkersAI(max_tokens=100, **conn).metadata
    assert (meta.is_chat_model, meta.is_function_calling_model, meta.num_output) == (True, True, 100)
    assert meta.context_window == 24000 and meta.model_name == "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
    assert (
        WorkersAI(model="@cf/meta/llama-3.2-1b-instruct", **conn).metadata.is_function_calling_model is False
    )


def test_chat_complete_stream(conn: dict[str, Any]) -> None:
    llm = WorkersAI(max_tokens=12, temperature=0, **conn)
    messages = [
        ChatMessage(role="system", content="Paris is in France. Rome is in Italy."),
        ChatMessage(role="user", content="Where is Rome?"),
    ]
    chat = llm.chat(messages)
    assert str(chat.message.content).startswith("Rome is in Italy.")
    assert chat.raw and chat.raw["usage"]["completion_tokens"] <= 12
    assert chat.additional_kwargs["usage"]["prompt_tokens"] > 0
    streamed = list(llm.stream_chat(messages))
    assert streamed[-1].message.content == chat.message.content
    assert "".join(r.delta or "" for r in streamed) == chat.message.content
    assert llm.complete("hello").text
    assert "".join(r.delta or "" for r in llm.stream_complete("hello"))


async def test_async_llm(conn: dict[str, Any]) -> None:
    llm = WorkersAI(max_tokens=8, **conn)
    assert (await llm.achat([ChatMessage(role="user", content="hi")])).message.content
    assert (await llm.acomplete("hi")).text
    chunks = [r async for r in await llm.astream_chat([ChatMessage(role="user", content="hi")])]
    assert len(chunks) > 1
    assert [r async for r in await llm.astream_complete("hi")]


def test_tool_calling(conn: dict[str, Any]) -> None:
    llm = WorkersAI(**conn)
    tool = FunctionTool.from_defaults(fn=magic)
    response = llm.chat_with_tools([tool], user_msg="What is magic(5)? Use the tool.")
    [call] = llm.get_tool_calls_from_response(response)
    assert (call.tool_name, call.tool_kwargs) == ("magic", {"input": 5})
    output = llm.predict_and_call([tool], user_msg="What is magic(5)? Use the tool.")
    assert str(output) == "7"
    with pytest.raises(ValueError, match="expected a tool call"):
        llm.get_tool_calls_from_response(llm.chat([ChatMessage(role="user", content="hi")]))


def test_streamed_tool_calls(conn: dict[str, Any]) -> None:
    llm = WorkersAI(**conn)
    tool = FunctionTool.from_defaults(fn=magic)
    last = list(llm.stream_chat_with_tools([tool], user_msg="Use magic on 9, call the tool."))[-1]
    [call] = llm.get_tool_calls_from_response(last)
    assert call.tool_kwargs == {"input": 9}


class Person(BaseModel):
    name: str
    age: int


def test_structured_predict(conn: dict[str, Any]) -> None:
    from llama_index.core.prompts import PromptTemplate

    llm = WorkersAI(**conn)
    person = llm.structured_predict(Person, PromptTemplate("Extract: {text}"), text="name: Ada, age: 36")
    assert person == Person(name="Ada", age=36)


def test_fallback_models(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    llm = WorkersAI(
        model="@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        fallback_models=["@cf/meta/llama-3.1-8b-instruct-fast"],
        max_retries=0,
        **conn,
    )
    emulator.set_faults(error="3040", fail_next=1)
    assert llm.chat([ChatMessage(role="user", content="hi")]).raw["model"] == FAST_LLAMA
    emulator.set_faults(error="3040", fail_next=1)
    streamed = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))
    assert streamed[-1].message.additional_kwargs["model"] == FAST_LLAMA
    with pytest.raises(BadInput):  # bad input never falls back
        WorkersAI(temperature=9, fallback_models=[FAST_LLAMA], **conn).complete("x")


def test_secret_not_in_repr(conn: dict[str, Any]) -> None:
    assert conn["api_key"] not in repr(WorkersAI(**conn)) and conn["api_key"] not in repr(
        WorkersAIEmbedding(**conn)
    )


# -- embeddings ----------------------------------------------------------------------------------


def test_embed_batch_size_is_respected(emulator: LocalEmulator, request_log: RequestLog) -> None:
    http = httpx.Client(timeout=HTTP_TIMEOUT_S, event_hooks={"request": [request_log]})
    client = emulator.client(http_client=http, retry_policy=RetryPolicy(max_retries=0))
    model = WorkersAIEmbedding(embed_batch_size=7, model_name="@cf/baai/bge-small-en-v1.5", client=client)
    vectors = model.get_text_embedding_batch([f"text {i}" for i in range(30)])
    assert len(vectors) == 30 and len(request_log.requests) == 5  # 7+7+7+7+2
    assert len(model.get_query_embedding("q")) == 384
    with pytest.raises(ValueError):
        WorkersAIEmbedding(embed_batch_size=101)


async def test_async_embeddings(conn: dict[str, Any]) -> None:
    model = WorkersAIEmbedding(embed_batch_size=10, model_name="@cf/baai/bge-small-en-v1.5", **conn)
    vectors = await model.aget_text_embedding_batch([f"text {i}" for i in range(25)])
    assert len(vectors) == 25
    assert vectors[3] == pytest.approx(model.get_text_embedding("text 3"), abs=1e-6)
    assert len(await model.aget_query_embedding("q")) == 384


# -- retriever -----------------------------------------------------------------------------------


def test_retriever_directly(conn: dict[str, Any]) -> None:
    store = VectorizeVectorStore(f"ret-{uuid.uuid4().hex[:10]}", **conn)
    store.create_index(384)
    embed = WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **conn)
    texts = ["cats purr", "dogs bark", "stocks fell"]
    items = nodes(3, 384)
    for node, text, vector in zip(items, texts, embed.get_text_embedding_batch(texts), strict=True):
        node.text, node.embedding = text, vector
    store.add(items)
    hits = VectorizeRetriever(store, embed, similarity_top_k=1).retrieve("kittens purring")
    assert hits[0].node.get_content() == "cats purr" and hits[0].score is not None
    store.client.vectorize.delete_index(store.index_name)
    assert unit(1, 4) != unit(2, 4)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_a_bad_node_stops_add_before_any_request(
    logged_client: Any, request_log: RequestLog, use_async: bool
) -> None:
    store = VectorizeVectorStore(f"li-bad-{uuid.uuid4().hex[:8]}", client=logged_client)
    store.create_index(8)
    batch = nodes(30, 8)
    batch[21].text = "x" * 11_000  # over the 10 KiB metadata limit once stored
    request_log.requests.clear()
    with pytest.raises(BadInput, match=f"document {batch[21].node_id!r} \\(number 21 in this call"):
        if use_async:
            await store.async_add(batch)
        else:
            store.add(batch)
    assert request_log.requests == []
    assert list(logged_client.vectorize.list_ids(store.index_name)) == []
    logged_client.vectorize.delete_index(store.index_name)


def test_a_filter_on_a_property_without_metadata_index_says_so(conn: dict[str, Any]) -> None:
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

    from workersai.vectorize.filters import FilterNotIndexed

    store = VectorizeVectorStore(f"li-{uuid.uuid4().hex[:10]}", **conn)
    store.create_index(3)
    try:
        from llama_index.core.schema import TextNode

        store.add([TextNode(id_="n1", text="cats", metadata={"tags": "pets"}, embedding=[1.0, 0.0, 0.0])])
        query = VectorStoreQuery(
            query_embedding=[1.0, 0.0, 0.0],
            similarity_top_k=2,
            filters=MetadataFilters(filters=[MetadataFilter(key="tags", value="pets")]),
        )
        with pytest.raises(FilterNotIndexed, match=r"'tags'.*create_metadata_index"):
            store.query(query)
    finally:
        store.client.vectorize.delete_index(store.index_name)


async def test_indexes_made_from_the_embedding_model_and_metadata_indexes(conn: dict[str, Any]) -> None:
    from llama_index.core.schema import TextNode
    from llama_index.core.vector_stores.types import MetadataFilter, MetadataFilters, VectorStoreQuery

    embed = WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", **conn)
    store = VectorizeVectorStore(f"li-{uuid.uuid4().hex[:10]}", **conn)
    await store.acreate_index(embed_model=embed)  # dimensions from the model: 384
    try:
        assert store.client.vectorize.get_index(store.index_name).dimensions == 384
        await store.acreate_metadata_index("tags", "string")
        vector = embed.get_text_embedding("cats")
        await store.async_add([TextNode(id_="n1", text="cats", metadata={"tags": "pets"}, embedding=vector)])
        query = VectorStoreQuery(
            query_embedding=vector,
            similarity_top_k=2,
            filters=MetadataFilters(filters=[MetadataFilter(key="tags", value="pets")]),
        )
        assert [n.node_id for n in (await store.aquery(query)).nodes or []] == ["n1"]
    finally:
        store.client.vectorize.delete_index(store.index_name)


def test_from_documents_shows_the_embedding_progress(
    conn: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    from llama_index.core import Document, StorageContext, VectorStoreIndex

    embed = WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", embed_batch_size=10, **conn)
    store = VectorizeVectorStore(f"li-{uuid.uuid4().hex[:10]}", **conn)
    store.create_index(embed_model=embed)
    try:
        docs = [Document(text=f"document number {i}") for i in range(130)]
        VectorStoreIndex.from_documents(
            docs,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed,
            show_progress=True,
        )
        err = capsys.readouterr().err
        assert "Embedding with Workers AI" in err and "130/130" in err
    finally:
        store.client.vectorize.delete_index(store.index_name)


def test_a_function_agent_tool_message_keeps_the_tool_name() -> None:
    """FunctionAgent's tool results carry only the call id: the name comes from the assistant's call."""
    from llama_index.core.base.llms.types import ChatMessage

    from llamaindex_workersai.llms import convert_messages

    call = {"id": "call_1", "name": "multiply", "arguments": {"a": 6, "b": 7}}
    wire = convert_messages(
        [
            ChatMessage(role="user", content="6 times 7?"),
            ChatMessage(role="assistant", content="", additional_kwargs={"tool_calls": [call]}),
            ChatMessage(role="tool", content="42", additional_kwargs={"tool_call_id": "call_1"}),
        ]
    )
    assert wire[-1] == {"role": "tool", "content": "42", "tool_call_id": "call_1", "name": "multiply"}


async def test_clear_deletes_only_the_stores_namespace(conn: dict[str, Any]) -> None:
    name = f"li-ns-{uuid.uuid4().hex[:8]}"
    first = VectorizeVectorStore(name, namespace="first", **conn)
    first.create_index(4)
    second = VectorizeVectorStore(name, namespace="second", **conn)
    first.add(nodes(3, 4, doc="a"))
    second.add(nodes(5, 4, doc="b")[3:])  # node-3 and node-4, in the other namespace
    first.clear()
    vz = first.client.vectorize
    assert sorted(vz.list_ids(name)) == ["node-3", "node-4"]  # the other namespace is untouched
    second.add(nodes(2, 4, doc="c"))  # node-0, node-1 again, now in "second"
    await second.aclear()
    assert list(vz.list_ids(name)) == []
    vz.delete_index(name)
