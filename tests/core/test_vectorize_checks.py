"""Vectorize input checks and answer parsing without a server (httpx.MockTransport): bad input is
BadInput before any request, a malformed answer is ResponseFormatError (issue #12, item 7)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from workersai import BadInput, ResponseFormatError, WorkersAI
from workersai.vectorize.checks import check_index_name

Handler = Callable[[httpx.Request], httpx.Response]


def ok(result: Any) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "errors": [], "messages": [], "result": result})


class Recorder:
    def __init__(self, answer: Handler | None = None) -> None:
        self.requests: list[httpx.Request] = []
        self.answer = answer or (lambda r: ok({"mutationId": "m"}))

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def client(recorder: Recorder) -> Iterator[WorkersAI]:
    transport = httpx.MockTransport(recorder)
    with WorkersAI(
        "acct",
        "token",
        base_url="http://mock/client/v4",
        max_retries=0,
        http_client=httpx.Client(transport=transport),
        async_http_client=httpx.AsyncClient(transport=transport),
    ) as c:
        yield c


LONE = "\udc80"
DEEP: dict[str, Any] = {}
_node = DEEP
for _ in range(3000):
    _node["k"] = {}
    _node = _node["k"]


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ({"id": "a", "values": [1e39, 0.0, 0.0]}, "float32"),
        ({"id": "a", "values": [-1e39, 0.0, 0.0]}, "float32"),
        ({"id": "a", "values": [float("nan"), 0.0, 0.0]}, "finite"),
        ({"id": "a" + LONE, "values": [1.0, 0.0, 0.0]}, "surrogate"),
        ({"id": "a", "values": [1.0, 0.0, 0.0], "metadata": {"k": LONE}}, "JSON"),
        ({"id": "a", "values": [1.0, 0.0, 0.0], "metadata": {LONE: 1}}, "JSON"),
        ({"id": "a", "values": [1.0, 0.0, 0.0], "metadata": DEEP}, "JSON"),
        ({"id": "a", "values": [1.0, 0.0, 0.0], "namespace": LONE}, "surrogate"),
    ],
)
def test_bad_vectors_are_bad_input_before_any_request(
    client: WorkersAI, recorder: Recorder, vector: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        client.vectorize.upsert("docs", [{"id": "ok", "values": [1.0, 0.0, 0.0]}, vector])
    assert recorder.requests == []


@pytest.mark.parametrize("name", ["docs\n", "docs\r", "a", "do" + LONE + "cs", "docs\x00"])
def test_index_names_are_matched_whole(client: WorkersAI, recorder: Recorder, name: str) -> None:
    with pytest.raises(BadInput, match="index name"):
        client.vectorize.create_index(name, dimensions=3)
    assert recorder.requests == []


def test_filters_that_cannot_be_json_are_bad_input(client: WorkersAI, recorder: Recorder) -> None:
    with pytest.raises(BadInput, match="filter"):
        client.vectorize.query("docs", [1.0, 0.0, 0.0], filter={"k": LONE})
    assert recorder.requests == []


def test_numpy_vectors_query_as_they_upsert(client: WorkersAI, recorder: Recorder) -> None:
    recorder.answer = lambda r: ok({"count": 0, "matches": []})
    vector = np.array([0.5, 0.25, 0.0], dtype=np.float32)
    client.vectorize.query("docs", vector)
    body = recorder.requests[0].read()
    assert b'"vector":[0.5,0.25,0.0]' in body


MALFORMED: list[tuple[str, Any]] = [
    ("list_ids", {"vectors": [{"no-id": 1}], "isTruncated": False}),
    ("list_ids", {"vectors": "nope"}),
    ("list_metadata_indexes", {"metadataIndexes": [{"propertyName": 1}]}),
    ("list_metadata_indexes", {"metadataIndexes": ["x"]}),
    ("get_index", {"name": "docs", "config": {"dimensions": "many", "metric": "cosine"}}),
    ("get_index", {"name": "docs", "config": []}),
    ("info", {"dimensions": 3}),
    ("list_indexes", [{"name": "docs"}]),
]


@pytest.mark.parametrize(("method", "result"), MALFORMED)
def test_malformed_answers_are_response_format_errors(
    client: WorkersAI, recorder: Recorder, method: str, result: Any
) -> None:
    recorder.answer = lambda r: ok(result)
    call = getattr(client.vectorize, method)
    with pytest.raises(ResponseFormatError):
        out = call() if method == "list_indexes" else call("docs")
        list(out) if method == "list_ids" else out


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("a", "it is 1 character long"),
        ("Docs", "it starts with 'D'"),
        ("docs-", "it ends with '-'"),
        ("my docs", "it contains ' '"),
        ("x" * 65, "it is 65 characters long"),
    ],
)
def test_an_invalid_index_name_says_which_rule_it_breaks(name: str, why: str) -> None:
    with pytest.raises(BadInput) as info:
        check_index_name(name)
    assert f"({why})" in str(info.value)
