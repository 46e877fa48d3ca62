"""The raw embedding path accepts exactly what the parsed path accepts (issue #25, item 4).

A differential property test over generated answer bodies, hostile ones included: every number form
JSON allows (exponents of both signs and cases, negative zero, huge and tiny, long digit runs, leading
zeros in exponents) and tokens JSON does not (``0x1F``, ``1.2.3``, ``1 2``, ``NaN``, ``01``, ...), in
rows of the right and wrong counts and lengths, with shapes right and wrong, in envelopes with the
data key elsewhere, escaped, duplicated. The raw path (the fast cut, falling back to a full parse) and
the parsed path must take the same decision (accept, or raise the same error type) and, when they
accept, write the same float32 values to Vectorize. Each parser is tried: orjson, and the standard
library's (Pyodide has no orjson)."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from workersai import ResponseFormatError, WorkersAI, WorkersAIError, jsonlib
from workersai.raw_vectors import (
    FLOAT32_OVERFLOW,
    RawVector,
    rows_from_body,
    rows_from_parsed,
    vectors_from_result,
)
from workersai.transport import unwrap_envelope
from workersai.vectorize import ndjson_batches

from .conftest import Wire

MODEL = "@cf/baai/bge-small-en-v1.5"

# -- numbers -------------------------------------------------------------------------------------------
_digits = st.text("0123456789", min_size=1, max_size=45)
_grammar = st.builds(
    lambda sign, whole, frac, exp: sign + whole + frac + exp,
    st.sampled_from(["", "-"]),
    st.one_of(
        st.just("0"),
        st.builds(lambda a, b: a + b, st.sampled_from("123456789"), st.text("0123456789", max_size=44)),
    ),
    st.one_of(st.just(""), _digits.map(lambda d: "." + d)),
    st.one_of(
        st.just(""),
        st.builds(lambda e, s, d: e + s + d, st.sampled_from("eE"), st.sampled_from(["", "+", "-"]), _digits),
    ),
)
_EDGES = [
    "0",
    "-0",
    "-0.0",
    "0.0",
    "0e0",
    "0E-0",
    "1E+5",
    "1e-400",
    "-1e-400",
    "1e39",
    "-1e39",
    "1e38",
    "3.4028234e38",
    "3.4028235e38",
    "3.40282356e38",
    "3.4028236e38",
    "-3.4028236e38",
    "340282356779733661637539395458142568448",
    "340282356779733661637539395458142568447",
    "99999999999999999999999999999999999999",
    "1e999",
    "-1e999",
    "4e-45",
    "1.0E-38",
    "1e-05",
    "18446744073709551616",
    "123456789012345678901234567890123456789012",
]
VALID_NUMBERS = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32).map(repr),
    st.floats(allow_nan=False, allow_infinity=False).map(repr),
    st.builds(
        lambda x, p: f"{x:.{p}e}", st.floats(allow_nan=False, allow_infinity=False), st.integers(0, 12)
    ),
    st.integers(-(10**45), 10**45).map(str),
    _grammar,
    st.sampled_from(_EDGES),
)
INVALID_TOKENS = st.sampled_from(
    [
        "0x1F",
        "abc",
        "1.2.3",
        "1 2",
        "01",
        "-01",
        "00",
        "1.",
        ".5",
        "-.5",
        "+1",
        "1e",
        "-",
        "--1",
        "1e+",
        "1e-",
        "NaN",
        "Infinity",
        "-Infinity",
        "nan",
        "inf",
        "null",
        "true",
        '"1"',
        "[1]",
        "{}",
        "",
        " 1",
        "1 ",
        "1\n",
        "\u0661",
        "1_0",
        "0.5e-3.2",
        "1e-5e-3",
        "1.e5",
        "e5",
        "1E-0.5",
        "0-1",
        "1,",
        ",1",
        "1e5.5",
        "1..2",
        "0.1.",
        "1-",
        "2]",
        "[3",
        "1e-5-",
        "--",
        "-e-5",
    ]
)


@st.composite
def rows_text(draw: st.DrawFn, count: int) -> tuple[str, int]:
    """A data array (as text) meant for ``count`` texts, and the dimensions it was drawn with."""
    dims = draw(st.integers(1, 5))
    clean = draw(st.booleans())
    tokens = VALID_NUMBERS if clean else st.one_of(VALID_NUMBERS, INVALID_TOKENS)
    n_rows = count if draw(st.integers(0, 4)) else draw(st.integers(0, count + 1))
    sep = "," if draw(st.integers(0, 5)) else draw(st.sampled_from([", ", " ,", ",\n", "\t,"]))
    rows = []
    for _ in range(n_rows):
        length = dims if draw(st.integers(0, 6)) else draw(st.integers(0, dims + 1))
        rows.append("[" + sep.join(draw(tokens) for _ in range(length)) + "]")
    return "[" + sep.join(rows) + "]", dims


# Numbers as the service prints them (float32, shortest; exponents negative) and others the fast path
# takes (integers, long fractions, exponent digits with leading zeros).
SERVICE_NUMBERS = st.one_of(
    st.floats(-1e15, 1e15).map(lambda x: repr(float(np.float32(x)))),
    st.floats(-2, 2, width=32).map(repr).map(lambda t: t.replace("e-0", "e-")),
    st.builds(
        lambda sign, whole, frac, exp: sign + whole + frac + exp,
        st.sampled_from(["", "-"]),
        st.sampled_from(["0", "1", "7", "42", "1234567"]),
        st.one_of(st.just(""), _digits.map(lambda d: "." + d[:20])),
        st.one_of(st.just(""), st.builds(lambda e, d: e + "-" + d[:5], st.sampled_from("eE"), _digits)),
    ),
    st.sampled_from(
        ["0", "-0", "-0.0", "1e-400", "4e-45", "1.0E-38", "1e-05", "99999999999999999999999999999999999999"]
    ),
)
HOSTILE = st.one_of(
    INVALID_TOKENS, st.sampled_from(["1e39", "1e999", "3.4028236e38", "1E+5", "1e5", "1e+00", "0e0"])
)


@st.composite
def service_body(draw: st.DrawFn) -> tuple[list[list[str]], int, int]:
    count = draw(st.integers(1, 4))
    dims = draw(st.integers(1, 6))
    return [[draw(SERVICE_NUMBERS) for _ in range(dims)] for _ in range(count)], count, dims


def _compact(rows: list[list[str]], count: int, dims: int, shape: str | None = None) -> bytes:
    data = "[" + ",".join("[" + ",".join(r) + "]" for r in rows) + "]"
    shape = f"[{count},{dims}]" if shape is None else shape
    return (
        f'{{"result":{{"shape":{shape},"data":{data},"pooling":"mean"}},"success":true,"errors":[],"messages":[]}}'
    ).encode()


@st.composite
def near_service_bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """A body as the service sends it, or one with a single hostile change."""
    rows, count, dims = draw(service_body())
    change = draw(st.sampled_from(["none", "none", "token", "token", "token", "row", "shape", "space"]))
    shape = None
    if change == "token":
        r, c = draw(st.integers(0, count - 1)), draw(st.integers(0, dims - 1))
        rows[r][c] = draw(HOSTILE)
    elif change == "row":
        r = draw(st.integers(0, count - 1))
        rows[r] = rows[r][:-1] if draw(st.booleans()) or dims == 1 else rows[r] + ["0.5"]
        if not rows[r]:
            rows.pop(r)
    elif change == "shape":
        shape = draw(
            st.sampled_from(["[1,1]", f"[{count},{dims + 1}]", f"[{count + 1},{dims}]", "null", '"x"'])
        )
    body = _compact(rows, count, dims, shape)
    if change == "space":
        at = draw(st.integers(0, len(body) - 1))
        body = body[:at] + draw(st.sampled_from([b" ", b"\n", b"\t"])) + body[at:]
    return body, count


@st.composite
def wild_bodies(draw: st.DrawFn) -> tuple[bytes, int]:
    """An embedding answer body for ``count`` texts, and ``count``: any layout."""
    count = draw(st.integers(1, 4))
    data, dims = draw(rows_text(count))
    data = draw(st.sampled_from([data, data, data, data, "null", "[]", "[1,2]", '"[[1]]"', "{}"]))
    shape = draw(
        st.sampled_from([None, f"[{count},{dims}]", f"[{count}, {dims}]", "[1,1]", "null", '"x"', "[]"])
    )
    key = draw(st.sampled_from(['"data"', '"data"', '"data"', '"d\\u0061ta"', '"data" ']))
    members = [f"{key}:{data}"]
    if shape is not None:
        members.append(f'"shape":{shape}')
    members += draw(
        st.lists(
            st.sampled_from(
                ['"pooling":"mean"', '"data":[[9]]', '"meta":{"data":[[7]]}', '"note":"data"', '"p":1.5']
            ),
            max_size=2,
        )
    )
    members = draw(st.permutations(members))
    result = "{" + ",".join(members) + "}"
    envelope = [f'"result":{result}']
    envelope += draw(
        st.lists(
            st.sampled_from(
                [
                    '"success":true',
                    '"success":false',
                    '"errors":[]',
                    '"messages":["data"]',
                    '"result":{"data":[[5]]}',
                ]
            ),
            max_size=2,
        )
    )
    envelope = draw(st.permutations(envelope))
    body = "{" + ",".join(envelope) + "}"
    body = draw(st.sampled_from([body, body, body, body, "[" + body + "]", body.replace(":", " : ")]))
    return body.encode(), count


bodies = st.one_of(near_service_bodies(), near_service_bodies(), wild_bodies())


# -- the two paths -------------------------------------------------------------------------------------
def _outcome(fn: Any) -> tuple[str, Any]:
    try:
        return "ok", fn()
    except WorkersAIError as exc:  # only the library's typed errors: anything else fails the test
        return "error", type(exc)


def raw_path(body: bytes, count: int) -> tuple[str, Any]:
    response = httpx.Response(200, content=body)
    return _outcome(lambda: WorkersAI._raw_vectors(MODEL, ["t"] * count, response))


def parsed_path(body: bytes, count: int) -> tuple[str, Any]:
    def parse() -> list[RawVector]:
        result = unwrap_envelope(httpx.Response(200, content=body))
        vectors = vectors_from_result(result, count)
        assert isinstance(result, Mapping)
        return rows_from_parsed(vectors, result.get("shape"))

    return _outcome(parse)


def _written(rows: list[RawVector]) -> list[np.ndarray]:
    """The float32 values Vectorize stores from the NDJSON these rows are written as."""
    batch = next(ndjson_batches([{"id": f"v{i}", "values": row} for i, row in enumerate(rows)]))
    lines = [orjson.loads(line) for line in batch.body.splitlines()]
    assert [line["id"] for line in lines] == [f"v{i}" for i in range(len(rows))]
    return [np.array(line["values"], dtype=np.float64).astype(np.float32) for line in lines]


@contextlib.contextmanager
def parser(name: str) -> Iterator[None]:
    saved = jsonlib.HAVE_ORJSON
    jsonlib.HAVE_ORJSON = name == "orjson"
    try:
        yield
    finally:
        jsonlib.HAVE_ORJSON = saved


@pytest.mark.parametrize("json_parser", ["orjson", "json"])
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=bodies)
def test_the_raw_path_decides_as_the_parsed_path(json_parser: str, case: tuple[bytes, int]) -> None:
    body, count = case
    with parser(json_parser):
        fast: list[RawVector] | None
        try:
            fast = rows_from_body(body, count)
        except ValueError:
            fast = None
        event("fast path" if fast is not None else "parsed whole")
        raw, parsed = raw_path(body, count), parsed_path(body, count)
        assert raw[0] == parsed[0], (body, raw, parsed)
        if raw[0] == "error":
            assert raw[1] is parsed[1], (body, raw, parsed)
            return
        if fast is not None:
            assert [bytes(r.json) for r in fast] == [bytes(r.json) for r in raw[1]]
        assert [len(r) for r in raw[1]] == [len(r) for r in parsed[1]]
        written_raw, written_parsed = _written(raw[1]), _written(parsed[1])
        for a, b in zip(written_raw, written_parsed, strict=True):
            assert np.isfinite(a).all() and np.array_equal(a, b), (body, a, b)


@given(number=VALID_NUMBERS)
@settings(max_examples=400, deadline=None)
def test_every_json_number_is_taken_or_refused_as_the_parsed_path_does(number: str) -> None:
    """One number in a one-text answer: accepted iff it is a finite float32, with the same value."""
    body = b'{"result":{"shape":[1,2],"data":[[' + number.encode() + b',0.5]]},"success":true}'
    raw, parsed = raw_path(body, 1), parsed_path(body, 1)
    value = float(number)
    if math.isfinite(value) and abs(value) < FLOAT32_OVERFLOW:
        assert raw[0] == parsed[0] == "ok", number
        assert np.array_equal(
            _written(raw[1])[0], np.array([value, 0.5], dtype=np.float64).astype(np.float32)
        )
    else:
        assert raw == parsed == ("error", ResponseFormatError), number


@given(count=st.integers(1, 5), dims=st.integers(1, 8), data=st.data())
@settings(max_examples=200, deadline=None)
def test_compact_answers_of_float32_numbers_take_the_fast_path(
    count: int, dims: int, data: st.DataObject
) -> None:
    """What the service sends (float32 numbers printed shortest, negative exponents) is cut, never
    parsed: the property above is not vacuous."""
    floats = st.floats(-2.0, 2.0, width=32, allow_subnormal=True).map(lambda x: repr(x).replace("e-0", "e-"))
    rows = [[data.draw(floats) for _ in range(dims)] for _ in range(count)]
    text = "[" + ",".join("[" + ",".join(r) + "]" for r in rows) + "]"
    body = f'{{"result":{{"shape":[{count},{dims}],"data":{text},"pooling":"mean"}},"success":true}}'.encode()
    cut = rows_from_body(body, count)
    assert [bytes(r.json).decode() for r in cut] == ["[" + ",".join(r) + "]" for r in rows]


@pytest.mark.parametrize(
    "bad", ["1e999", "1e39", "-1e39", "0x1F", "abc", "1.2.3", "1 2", "01", "NaN", "1e", "3.5e38"]
)
def test_numbers_the_service_cannot_mean_are_refused_before_any_write(
    bad: str, wire: Wire, core: WorkersAI
) -> None:
    """The raw rows fast path wrote ``1e999``, ``1e39``, ``0x1F``, ``abc``, ``1.2.3`` to Vectorize and
    turned ``1 2`` into ``12``."""
    body = b'{"result":{"shape":[2,3],"data":[[0.5,' + bad.encode() + b',0.25],[1,2,3]]},"success":true}'
    wire.answer = lambda request: httpx.Response(200, content=body)
    with pytest.raises(ResponseFormatError):
        core.embed_raw(["a", "b"], model=MODEL)
