"""The binding path's mapping in plain CPython: which binding method each request becomes, with which
arguments; raw results read by the REST parsers; what bindings throw mapped to the typed errors.

The bindings here are Python stand-ins that record their calls and answer in the shapes workerd's
bindings answer (src/cloudflare/internal/ai-api.ts, vectorize-api.ts). The real proof, with JavaScript
bindings in Pyodide forwarding to the emulator, is tests/pyodide.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from workersai import WorkersAI
from workersai.binding import binding_error
from workersai.errors import (
    BadInput,
    BindingError,
    BindingUnsupported,
    CapacityExceeded,
    ConfigurationError,
    DimensionMismatch,
    IndexNotFound,
    ModelNotFound,
    NotFound,
    RateLimited,
    StreamInterrupted,
)


class InferenceUpstreamError(Exception):
    """Named as the JS error ``env.AI.run`` throws."""


class Error(Exception):
    """A JS ``Error``."""


class FakeAI:
    def __init__(self, answers: list[Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    async def run(self, model: str, inputs: Any) -> Any:
        self.calls.append((model, inputs))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


class FakeIndex:
    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, tuple[Any, ...]]] = []

    def _answer(self, name: str, *args: Any) -> Any:
        self.calls.append((name, args))
        answer = self.answers[name]
        if isinstance(answer, Exception):
            raise answer
        return answer

    async def query(self, vector: Any, options: Any) -> Any:
        return self._answer("query", vector, options)

    async def upsert(self, vectors: Any) -> Any:
        return self._answer("upsert", vectors)

    async def insert(self, vectors: Any) -> Any:
        return self._answer("insert", vectors)

    async def getByIds(self, ids: Any) -> Any:
        return self._answer("getByIds", ids)

    async def deleteByIds(self, ids: Any) -> Any:
        return self._answer("deleteByIds", ids)

    async def describe(self) -> Any:
        return self._answer("describe")


async def sse(*frames: str) -> AsyncIterator[bytes]:
    for frame in frames:
        yield f"data: {frame}\n\n".encode()


@pytest.mark.parametrize(
    ("name", "message", "kind", "code", "status"),
    [
        ("InferenceUpstreamError", "3040: Capacity temporarily exceeded", CapacityExceeded, 3040, None),
        ("InferenceUpstreamError", "5007: No such model @cf/x/y", ModelNotFound, 5007, None),
        ("AiError", "3021: Rate limited", RateLimited, 3021, None),
        ("Error", "VECTOR_QUERY_ERROR (code = 40006): dimension mismatch", DimensionMismatch, 40006, None),
        ("Error", "INDEX_GET_ERROR (code = 3000): no such index", IndexNotFound, 3000, None),
        ("Error", "VECTOR_GET_ERROR: Status + 404", NotFound, None, 404),
        ("InferenceUpstreamError", "<html>bad gateway</html>", BindingError, None, None),
    ],
)
def test_thrown_errors_map_to_the_rest_classes(
    name: str, message: str, kind: type[Exception], code: int | None, status: int | None
) -> None:
    err = binding_error(name, message)
    assert type(err) is kind
    assert err.code == code and err.status == status


def test_status_read_from_the_binding_types_an_error_without_a_known_code() -> None:
    assert isinstance(binding_error("InferenceUpstreamError", "9999: odd", status=400), BadInput)


async def test_chat_sends_the_payload_to_run_and_reads_the_raw_result() -> None:
    ai = FakeAI([{"response": "Paris.", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}])
    client = WorkersAI(binding=ai)
    result = await client.achat("Capital of France?", model="@cf/meta/llama-3.1-8b-instruct-fast")
    assert result.text == "Paris."
    model, inputs = ai.calls[0]
    assert model == "@cf/meta/llama-3.1-8b-instruct-fast"
    assert inputs["messages"][-1] == {"role": "user", "content": "Capital of France?"}


async def test_a_stream_is_read_from_the_binding_and_parsed_as_sse() -> None:
    ai = FakeAI([sse('{"response": "Hel"}', '{"response": "lo"}', "[DONE]")])
    client = WorkersAI(binding=ai)
    chunks = [c async for c in client.astream_chat("hi", model="@cf/meta/llama-3.1-8b-instruct-fast")]
    assert "".join(c.text for c in chunks) == "Hello"
    assert ai.calls[0][1]["stream"] is True


async def test_a_stream_cut_short_is_interrupted() -> None:
    ai = FakeAI([sse('{"response": "Hel"}')])
    client = WorkersAI(binding=ai)
    with pytest.raises(StreamInterrupted):
        _ = [c async for c in client.astream_chat("hi", model="@cf/meta/llama-3.1-8b-instruct-fast")]


async def test_capacity_errors_are_retried_like_rest(fast_retry: Any) -> None:
    ai = FakeAI(
        [InferenceUpstreamError("3040: Capacity temporarily exceeded"), {"shape": [1, 2], "data": [[1, 0]]}]
    )
    client = WorkersAI(binding=ai, retry_policy=fast_retry)
    assert await client.aembed(["a"], model="@cf/baai/bge-small-en-v1.5") == [[1.0, 0.0]]
    assert len(ai.calls) == 2


async def test_vectorize_requests_become_binding_methods() -> None:
    index = FakeIndex(
        {
            "upsert": {"mutationId": "m1"},
            "query": {"count": 1, "matches": [{"id": "a", "score": 0.5, "metadata": {"k": "v"}}]},
            "getByIds": [{"id": "a", "values": [1.0, 0.0]}],
            "deleteByIds": {"mutationId": "m2"},
            "describe": {"dimensions": 2, "vectorCount": 1, "processedUpToMutation": "m2"},
        }
    )
    vz = WorkersAI(vectorize_binding={"docs": index}).vectorize
    assert await vz.aupsert("docs", [{"id": "a", "values": [1.0, 0.0], "metadata": {"k": "v"}}]) == ["m1"]
    found = await vz.aquery("docs", [1.0, 0.0], top_k=3, return_metadata="all", filter={"k": "v"})
    assert [m.id for m in found.matches] == ["a"] and found.matches[0].metadata == {"k": "v"}
    assert [v.id for v in await vz.aget_by_ids("docs", ["a"])] == ["a"]
    assert await vz.adelete_by_ids("docs", ["a"], wait=True) == "m2"
    assert (await vz.ainfo("docs")).vector_count == 1
    names = [c[0] for c in index.calls]
    assert names == ["upsert", "query", "getByIds", "deleteByIds", "describe", "describe"]
    assert index.calls[0][1] == ([{"id": "a", "values": [1.0, 0.0], "metadata": {"k": "v"}}],)
    assert index.calls[1][1] == (
        [1.0, 0.0],
        {"topK": 3, "returnValues": False, "returnMetadata": "all", "filter": {"k": "v"}},
    )
    with pytest.raises(BindingUnsupported, match="no Vectorize binding for index 'other'"):
        await vz.aquery("other", [1.0, 0.0])


async def test_sync_calls_and_operations_without_a_binding_method_are_refused() -> None:
    client = WorkersAI(binding=FakeAI([]), vectorize_binding=FakeIndex({}))
    with pytest.raises(BindingUnsupported, match="async only"):
        client.chat("hi")
    with pytest.raises(BindingUnsupported, match="async only"):
        client.vectorize.query("docs", [1.0])
    with pytest.raises(BindingUnsupported, match="has no Workers binding method"):
        await client.vectorize.acreate_index("docs", dimensions=2, metric="cosine")
    with pytest.raises(BindingUnsupported, match="has no Workers binding method"):
        client.vectorize.get_index("docs")  # no binding method, sync or not: said first
    with pytest.raises(BindingUnsupported, match="has no Workers binding method"):
        _ = [i async for i in client.vectorize.alist_ids("docs")]
    with pytest.raises(ConfigurationError):
        WorkersAI(binding=FakeAI([]), gateway_id="gw")


async def test_describe_with_numbers_as_workerds_types_have_them() -> None:
    """workerd's VectorizeIndexInfo types processedUpTo* as numbers (REST: strings): read either way."""
    index = FakeIndex(
        {
            "describe": {
                "dimensions": 2,
                "vectorCount": 1,
                "processedUpToMutation": 7,
                "processedUpToDatetime": 1.5e12,
            }
        }
    )
    info = await WorkersAI(vectorize_binding={"docs": index}).vectorize.ainfo("docs")
    assert (info.processed_up_to_mutation, info.processed_up_to_datetime) == ("7", "1500000000000.0")


async def test_the_binding_path_is_an_httpx_transport_under_the_usual_one() -> None:
    """As httpx's MockTransport: any httpx client sends through it, and the client's own transport is the
    REST one (its retries, pacing and deadline), with no binding subclass or second request path."""
    import httpx

    from workersai.binding import BindingTransport
    from workersai.transport import Transport

    ai = FakeAI([{"shape": [1, 2], "data": [[0.5, 0.25]]}])
    bindings = BindingTransport(ai)
    assert isinstance(bindings, httpx.AsyncBaseTransport) and isinstance(bindings, httpx.BaseTransport)
    async with httpx.AsyncClient(transport=bindings) as http:
        answer = await http.post(
            "https://any.invalid/accounts/a/ai/run/@cf/baai/bge-small-en-v1.5", json={"text": ["x"]}
        )
    assert answer.json() == {
        "success": True,
        "errors": [],
        "result": {"shape": [1, 2], "data": [[0.5, 0.25]]},
    }
    assert ai.calls == [("@cf/baai/bge-small-en-v1.5", {"text": ["x"]})]
    client = WorkersAI(binding=FakeAI([]))
    assert type(client.transport) is Transport and isinstance(client.bindings, BindingTransport)
    assert repr(client) == "WorkersAI(binding=...)"
