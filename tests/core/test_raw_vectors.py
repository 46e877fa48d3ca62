"""Embedding answers cut into JSON rows without parsing a float (``workersai.raw_vectors``), and written
into NDJSON as they are; no server."""

from __future__ import annotations

import httpx
import orjson
import pytest

from workersai import BadInput, ResponseFormatError, WorkersAI
from workersai.raw_vectors import RawVector, rows_from_body, rows_from_parsed
from workersai.vectorize import ndjson_batches
from workersai.vectorize.batching import record

from .conftest import Wire

MODEL = "@cf/baai/bge-small-en-v1.5"


def envelope(data: bytes, shape: bytes = b"[2,3]", extra: bytes = b"") -> bytes:
    return (
        b'{"result":{"shape":' + shape + b',"data":' + data + b',"pooling":"mean"' + extra + b"},"
        b'"success":true,"errors":[],"messages":[]}'
    )


def test_rows_are_the_answers_bytes() -> None:
    rows = rows_from_body(envelope(b"[[0.1,-2e-3,3],[4,5.5,-6E-2]]"), 2)
    assert [r.json for r in rows] == [b"[0.1,-2e-3,3]", b"[4,5.5,-6E-2]"]
    assert [len(r) for r in rows] == [3, 3]
    assert rows[1].values() == [4.0, 5.5, -0.06]


def test_rows_are_views_of_the_body_not_copies() -> None:
    body = envelope(b"[[0.1,-2e-3,3],[4,5.5,-6E-2]]")
    rows = rows_from_body(body, 2)
    assert all(isinstance(r.json, memoryview) and r.json.obj is body for r in rows)


def test_an_answer_with_whitespace_is_parsed_whole(wire: Wire, core: WorkersAI) -> None:
    body = b'{ "result" : { "data" : [ [ 1 , 2 ,3 ],\n [4,5,6] ] , "shape": [2, 3] }, "success": true }'
    with pytest.raises(ValueError):
        rows_from_body(body, 2)
    wire.answer = lambda request: httpx.Response(200, content=body)
    assert [r.json for r in core.embed_raw(["a", "b"], model=MODEL)] == [b"[1.0,2.0,3.0]", b"[4.0,5.0,6.0]"]
    # "1 2" is two numbers without a comma: not JSON, refused (it was spliced in as "12").
    wire.answer = lambda request: httpx.Response(200, content=envelope(b"[[1 2,3],[4,5,6]]"))
    with pytest.raises(ResponseFormatError):
        core.embed_raw(["a", "b"], model=MODEL)


@pytest.mark.parametrize(
    "data",
    [
        b"[[1,2,NaN],[4,5,6]]",  # not a number
        b'[[1,2,"3"],[4,5,6]]',  # a string
        b"[[1,2,[3]],[4,5,6]]",  # nested deeper
        b"[[1,2,3]]",  # one row for two texts
        b"[[1,2,3],[4,5,6],[7,8,9]]",  # three rows for two texts
        b"[[1,,3],[4,5,6]]",  # an empty element
        b"[[],[4,5,6]]",  # an empty row
        b"[[1,2,3],{}]",  # an object
        b"[[1,2,null],[4,5,6]]",  # null (what JSON.stringify writes for NaN)
        b"[[1,2,true],[4,5,6]]",  # a boolean
        b"[[1,2,3],[4,5,-Infinity]]",  # not JSON, but some encoders write it
        b"[[1,2,3],[4,5,6,]]",  # a trailing comma
    ],
)
def test_a_malformed_data_array_is_refused(data: bytes) -> None:
    with pytest.raises((ValueError, ResponseFormatError)):
        rows_from_body(envelope(data), 2)


def test_ragged_rows_and_a_wrong_shape_are_response_format_errors(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: httpx.Response(200, content=envelope(b"[[1,2,3],[4,5]]"))
    with pytest.raises(ResponseFormatError, match="different lengths"):
        core.embed_raw(["a", "b"], model=MODEL)
    wire.answer = lambda request: httpx.Response(200, content=envelope(b"[[1,2,3],[4,5,6]]", shape=b"[2,4]"))
    with pytest.raises(ResponseFormatError, match="shape"):
        core.embed_raw(["a", "b"], model=MODEL)


def test_a_data_key_elsewhere_or_an_error_envelope_falls_back_to_a_full_parse() -> None:
    # "data" first appears inside a string: the cut would not be result.data, so the caller parses whole.
    tricky = b'{"messages":["\\"data\\":[[9]]", "data"],"result":{"data":[[1]]},"success":true}'
    with pytest.raises(ValueError):
        rows_from_body(tricky, 1)
    nested = b'{"result":{"meta":{"data":[[7,7,7],[7,7,7]]},"data":[[1,2,3],[4,5,6]]},"success":true}'
    with pytest.raises(ValueError, match="another data key"):
        rows_from_body(nested, 2)
    failed = b'{"result":{"data":[[1,2,3],[4,5,6]]},"success":false,"errors":[{"code":5006}]}'
    with pytest.raises(ValueError, match="not a successful envelope"):
        rows_from_body(failed, 2)


def test_raw_rows_are_written_into_ndjson_verbatim() -> None:
    raw = rows_from_body(envelope(b"[[0.10000000149,-2e-3,3],[4,5.5,6]]"), 2)
    batch = next(
        ndjson_batches([{"id": "a", "values": raw[0], "metadata": {"k": 1}}, {"id": "b", "values": raw[1]}])
    )
    # The rest of the record is serialized first and the row's bytes follow, spliced in as they are.
    assert batch.body == (
        b'{"id":"a","metadata":{"k":1},"values":[0.10000000149,-2e-3,3]}\n{"id":"b","values":[4,5.5,6]}\n'
    )
    assert batch.dimensions == 3
    assert orjson.loads(batch.body.splitlines()[0])["values"] == [0.10000000149, -0.002, 3]


def test_raw_rows_are_checked_against_the_index_dimensions() -> None:
    with pytest.raises(BadInput, match=r"vector .a. has 3 dimensions but the index has 4"):
        record({"id": "a", "values": RawVector(b"[1,2,3]", 3)}, 4)
    with pytest.raises(BadInput, match="dimensions"):
        list(
            ndjson_batches(
                [{"id": "a", "values": RawVector(b"[1,2,3]", 3)}, {"id": "b", "values": [1.0, 2.0]}]
            )
        )


def test_parsed_vectors_become_raw_rows() -> None:
    assert rows_from_parsed([[1.5, -2.0]]) == [RawVector(b"[1.5,-2.0]", 2)]


def test_embed_raw_cuts_the_answer_and_falls_back_to_a_full_parse(wire: Wire, core: WorkersAI) -> None:
    body = envelope(b"[[0.25,-1e-3],[3,4]]", shape=b"[2,2]")
    wire.answer = lambda request: httpx.Response(200, content=body)
    assert [r.json for r in core.embed_raw(["a", "b"], model=MODEL)] == [b"[0.25,-1e-3]", b"[3,4]"]
    # An answer laid out otherwise (its result.data not the first "data" key) is parsed whole.
    other = {"result": {"meta": {"data": 1}, "data": [[0.5, 1.0]]}, "success": True, "errors": []}
    wire.answer = lambda request: httpx.Response(200, json=other)
    assert core.embed_raw(["a"], model=MODEL) == [RawVector(b"[0.5,1.0]", 2)]
    wire.answer = lambda request: httpx.Response(200, content=envelope(b"[[1,2],[3,4]]", shape=b"[2,2]"))
    with pytest.raises(ResponseFormatError):
        core.embed_raw(["only one text"], model=MODEL)


async def test_aembed_raw_sends_batches_of_100(wire: Wire, core: WorkersAI) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        count = len(orjson.loads(request.content)["text"])
        rows = b",".join([b"[1,2]"] * count)
        return httpx.Response(200, content=envelope(b"[" + rows + b"]", shape=f"[{count},2]".encode()))

    wire.answer = answer
    rows = await core.aembed_raw([f"t{i}" for i in range(150)], model=MODEL)
    assert len(rows) == 150 and [len(b["text"]) for b in wire.bodies] == [100, 50]
