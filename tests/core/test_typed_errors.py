"""Typed errors, always (issue #25, item 9): a malformed AI Search answer is ``ResponseFormatError``
(pydantic's ``ValidationError`` leaked, and an answer without ``result`` read as an empty list); a huge
int in a vector (``OverflowError``) and NaN or infinity in D1 params or ``run()`` inputs
(``ValueError``) are ``BadInput`` before any request. Each test fails on 9d8d072."""

from __future__ import annotations

import asyncio
import math
import uuid
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from workersai import BadInput, ResponseFormatError, WorkersAI

from .conftest import Wire, envelope

DATABASE = str(uuid.UUID(int=1))
MODEL = "@cf/baai/bge-base-en-v1.5"

MALFORMED: list[tuple[str, Callable[[WorkersAI], Any], httpx.Response]] = [
    ("get_instance", lambda c: c.ai_search.get_instance("docs"), envelope([1, 2, 3])),
    ("aget_instance", lambda c: c.ai_search.aget_instance("docs"), envelope({"chunk_size": 5})),
    ("list_instances", lambda c: c.ai_search.list_instances(), httpx.Response(200, json={"success": True})),
    ("alist_instances", lambda c: c.ai_search.alist_instances(), envelope(None)),
    ("list_items", lambda c: c.ai_search.list_items("docs"), envelope({"items": []})),
    ("alist_items", lambda c: c.ai_search.alist_items("docs"), envelope([{"id": 1}])),
    ("search", lambda c: c.ai_search.search("docs", "q"), envelope({"chunks": [{"id": "c", "score": "x"}]})),
    ("asearch", lambda c: c.ai_search.asearch("docs", "q"), envelope({"chunks": "none"})),
    ("stats", lambda c: c.ai_search.stats("docs"), envelope(["completed"])),
    ("astats", lambda c: c.ai_search.astats("docs"), envelope({"completed": "many"})),
    ("upload", lambda c: c.ai_search.upload("docs", "a.md", "hi"), envelope({"key": "a.md"})),
    (
        "answer",
        lambda c: c.ai_search.answer("docs", "q"),
        httpx.Response(200, json={"choices": [{"message": {"content": "hi"}}], "chunks": [{"id": "c"}]}),
    ),
    (
        "aanswer",
        lambda c: c.ai_search.aanswer("docs", "q"),
        httpx.Response(200, json={"choices": [{"message": "hi"}]}),
    ),
]


def _run(value: Any) -> Any:
    return asyncio.run(value) if asyncio.iscoroutine(value) else value


@pytest.mark.parametrize(("call", "answer"), [m[1:] for m in MALFORMED], ids=[m[0] for m in MALFORMED])
def test_a_malformed_ai_search_answer_is_a_response_format_error(
    call: Callable[[WorkersAI], Any], answer: httpx.Response
) -> None:
    wire = Wire(answer=lambda request: answer)
    with wire.client() as client, pytest.raises(ResponseFormatError):
        _run(call(client))
    assert len(wire.requests) == 1


HUGE = [10**400, -(10**400), 10**5000, 2**128]


@pytest.mark.parametrize("value", HUGE, ids=["1e400", "-1e400", "1e5000", "2**128"])
@pytest.mark.parametrize(
    "call",
    [
        lambda c, v: c.vectorize.upsert("idx", [{"id": "a", "values": [v, 0.5, 0.25]}]),
        lambda c, v: c.vectorize.ainsert("idx", [{"id": "a", "values": [0.5, v, 0.25]}]),
        lambda c, v: c.vectorize.query("idx", [0.5, 0.25, v]),
        lambda c, v: c.vectorize.aquery("idx", [v, v, v]),
    ],
    ids=["upsert", "ainsert", "query", "aquery"],
)
def test_a_huge_int_in_a_vector_is_bad_input_before_any_request(
    call: Callable[[WorkersAI, int], Any], value: int
) -> None:
    wire = Wire()
    with wire.client() as client, pytest.raises(BadInput, match="float32"):
        _run(call(client, value))
    assert wire.requests == []


NOT_JSON = [math.nan, math.inf, -math.inf]


@pytest.mark.parametrize("value", NOT_JSON, ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize(
    "call",
    [
        lambda c, v: c.d1.query(DATABASE, "SELECT ?", [v]),
        lambda c, v: c.d1.aquery(DATABASE, "SELECT ?", ["a", v]),
        lambda c, v: c.d1.batch(DATABASE, ["SELECT 1", ("SELECT ?", [v])]),
        lambda c, v: c.d1.araw(DATABASE, "SELECT ?", [v]),
        lambda c, v: c.run(MODEL, {"text": "a", "x": v}),
        lambda c, v: c.arun(MODEL, {"text": ["a"], "nested": {"list": [1.0, v]}}),
    ],
    ids=["d1.query", "d1.aquery", "d1.batch", "d1.araw", "run", "arun"],
)
def test_nan_or_infinity_in_d1_params_or_run_inputs_is_bad_input_before_any_request(
    call: Callable[[WorkersAI, float], Any], value: float
) -> None:
    wire = Wire()
    with wire.client() as client, pytest.raises(BadInput, match="JSON"):
        _run(call(client, value))
    assert wire.requests == []
