"""Embedding answers kept as JSON bytes, for vectors that are only passed through to a write.

Bulk ingestion embeds texts and writes the vectors to Vectorize as NDJSON without ever looking at a
number. Parsing every float of the answer into a Python float and printing it again is most of the
client's CPU per document; here the answer's ``result.data`` rows are cut out of the body as views of
its bytes (no copy) and checked instead, and the NDJSON writer splices each row into its line as it is
(:func:`~workersai.vectorize.batching.ndjson_line`): the service receives exactly the numbers it
returned, and the row's bytes are copied once, into the request body.

The fast path accepts exactly what the parsed path accepts, and no more. The parsed path
(:func:`vectors_from_result`, then :func:`rows_from_parsed`) takes ``count`` rows of one length of
finite float32 numbers. The fast path (:func:`rows_from_body`) takes an answer only when it is sure
the parsed path takes it with the same numbers, and raises ``ValueError`` otherwise: the caller then
parses it whole, and the parsed path decides (and names what is wrong). It is sure of a compact data
array (no whitespace) of ``count`` flat rows of one length holding numbers of JSON's grammar with a
negative exponent if any (``-?(0|[1-9][0-9]*)(\\.[0-9]+)?([eE]-[0-9]+)?``) and no run of 39
digits (so below 1e38, within float32), in an envelope without escapes and with one ``"data"`` key.
Anything else (a positive exponent, which may overflow float32; ``1 2``, ``0x1F``, ``1.2.3``,
``NaN``, ``01``, ...) goes to the parsed path.

The checks are numpy passes over the array's bytes, as this runs for every answer of a bulk
ingestion: digits are told from every other byte (the markers: ``-`` ``.`` ``e`` ``,`` ``[`` ``]`` or
a byte no number holds), and the grammar is checked on the sequence of markers and the digit counts
between them; the numbers themselves are never converted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from . import jsonlib
from .errors import ResponseFormatError

MAX_FLOAT32 = 3.4028234663852886e38
FLOAT32_OVERFLOW = 3.4028235677973366e38
"""Halfway from the largest float32 to 2**128: a value this large or larger rounds to infinity."""

_DATA_KEY = b'"data"'
_DIGIT_0, _MINUS, _POINT, _COMMA, _OPEN, _CLOSE, _LOWER_E = map(ord, "0-.,[]e")


class RawVector:
    """One embedding as the bytes of its JSON array (``[0.1,-0.2,...]``) and its length. ``json`` is
    a read-only view into the embedding answer's body (cutting a row out copies nothing; the body
    lives as long as one of its rows does). The NDJSON writer splices it into its line as it is
    (:func:`~workersai.vectorize.batching.ndjson_line`). Not a dataclass: orjson would write a
    dataclass's fields as an object instead of refusing it."""

    __slots__ = ("dimensions", "json")

    def __init__(self, json: bytes | memoryview, dimensions: int) -> None:
        self.json = json
        self.dimensions = dimensions

    def __repr__(self) -> str:
        return f"RawVector({bytes(self.json[:40])!r}..., dimensions={self.dimensions})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RawVector) and (self.json, self.dimensions) == (other.json, other.dimensions)

    __hash__ = None  # type: ignore[assignment]

    def __len__(self) -> int:
        return self.dimensions

    def values(self) -> list[float]:
        """The numbers, parsed (for a caller that needs them after all)."""
        parsed: list[float] = jsonlib.loads(self.json)
        return parsed


def _array_end(body: bytes, start: int) -> int:
    """The index of the ``]`` closing the array of arrays that opens at ``start`` (``ValueError`` for
    any other layout)."""
    pos = body.index(b"]", start)
    while True:
        nxt = pos + 1
        if nxt >= len(body):
            raise ValueError("the data array is not closed")
        if body[nxt] == ord("]"):
            return nxt
        if body[nxt] != ord(","):
            raise ValueError("unexpected text between rows")
        pos = body.index(b"]", nxt)


def _rows(data: memoryview, count: int) -> tuple[list[memoryview], int]:
    """The rows of the data array ``data`` (``[[...],[...]]``) as views of their own JSON arrays, and
    their length, when ``data`` is surely ``count`` flat rows of one length of JSON numbers that parse
    to finite float32 values; ``ValueError`` otherwise (see the module docstring)."""
    try:
        import numpy as np  # the langchain extra's
    except ImportError:  # pragma: no cover - embed_raw then parses the answer whole
        raise ValueError("numpy is not installed") from None

    u8 = np.uint8
    chars = np.frombuffer(data, u8)
    # Markers: every byte but digits ("-" "." "e" "," "[" "]", and anything that is not part of a
    # number), in order, with their positions; between two of them only digits.
    where = np.flatnonzero((chars - u8(_DIGIT_0)) >= u8(10))
    marks = chars[where]
    point, comma, minus = marks == u8(_POINT), marks == u8(_COMMA), marks == u8(_MINUS)
    opens, closes = marks == u8(_OPEN), marks == u8(_CLOSE)
    exp = (marks | u8(32)) == u8(_LOWER_E)
    kinds = sum(np.count_nonzero(k) for k in (point, comma, minus, opens, closes, exp))
    if kinds != marks.size:
        raise ValueError("a character that is not part of a JSON number")
    # Neighbouring markers and the ``gap`` of digits between them. A number's parts hold one digit or
    # more: its integer part (after "[", "," or its "-"), fraction (after "."), exponent (after "e-");
    # a "." or "e" cannot follow a "." or "e" of the same number. Touching: a "-" after "[", "," (a
    # sign) or "e" (an exponent's: "e" is always followed by "-", as a positive exponent may overflow
    # float32 and is left to the parsed path), brackets, and the comma between rows. A gap of 39
    # digits or more (a number of 1e38 or more) is left to the parsed path too.
    gap = np.diff(where) - 1
    if int(gap.max(initial=0)) > 38:
        raise ValueError("a number of 38 digits or more")
    start, end = comma | opens, comma | closes
    a_start, a_point, a_exp, a_close, a_minus = start[:-1], point[:-1], exp[:-1], closes[:-1], minus[:-1]
    b_end, b_point, b_exp, b_minus = end[1:], point[1:], exp[1:], minus[1:]
    exponent = np.zeros_like(minus)  # the "-" of an exponent
    exponent[1:] = minus[1:] & exp[:-1]
    a_exponent = exponent[:-1]
    a_sign = a_minus & ~a_exponent
    int_part = a_start | a_sign
    number = (int_part & (b_end | b_point | b_exp)) | (a_point & (b_end | b_exp)) | (a_exponent & b_end)
    touching = (b_minus & (a_start | a_exp)) | (opens[1:] & a_start) | (a_close & b_end)
    if not ((number & (gap > 0)) | (touching & (gap == 0))).all():
        raise ValueError("not an array of arrays of JSON numbers with negative exponents")
    # No leading zero: an integer part of two digits or more does not start with "0" ("e-05" is fine).
    long_int = np.flatnonzero(int_part & (gap > 1))
    if long_int.size and (chars[where[long_int] + 1] == u8(_DIGIT_0)).any():
        raise ValueError("a number with a leading zero")
    # Layout: "[[" row ("],[" row)* "]]", each row's brackets only there, one count of commas per row.
    at_open, at_close = np.flatnonzero(opens), np.flatnonzero(closes)
    last = marks.size - 1
    if (
        at_open.size != count + 1
        or at_close.size != count + 1
        or at_open[1] != 1
        or at_close[-2] != last - 1
        or not (at_open[2:] == at_close[:-2] + 2).all()
    ):
        raise ValueError(f"the data array does not hold {count} flat rows")
    commas = np.cumsum(comma, dtype=np.int32)
    per_row = commas[at_close[:-1]] - commas[at_open[1:]]
    if (per_row != per_row[0]).any():
        raise ValueError("embedding rows of different lengths")
    starts, ends = where[at_open[1:]].tolist(), (where[at_close[:-1]] + 1).tolist()
    return [data[s:e] for s, e in zip(starts, ends, strict=True)], int(per_row[0]) + 1


def rows_from_body(body: bytes, count: int) -> list[RawVector]:
    """The ``count`` embeddings of a successful ``/ai/run`` answer ``body``, cut out as views of its
    JSON bytes, when the parsed path surely accepts them with the same numbers (see the module
    docstring); ``ValueError`` otherwise: the caller then parses the answer whole
    (:func:`vectors_from_result`), which accepts it or names what is wrong."""
    if count < 1:
        raise ValueError("no rows to cut")
    key = body.find(_DATA_KEY)
    if key < 0:
        raise ValueError("no data key")
    colon = key + len(_DATA_KEY)
    if body[colon : colon + 2] != b":[":
        raise ValueError("data is not an array right after its key")
    start = colon + 1
    end = _array_end(body, start)
    # The rest of the envelope, parsed: it proves the key found is result.data and gives the shape.
    # Without escapes and with one "data" in it, the key cut is the only key spelled "data".
    rest = body[:key] + b'"data":null' + body[end + 1 :]
    if b"\\" in rest or rest.count(_DATA_KEY) != 1:
        raise ValueError("an envelope with escapes or another data key")
    envelope = jsonlib.loads(rest)
    if not isinstance(envelope, Mapping) or envelope.get("success") is False:
        raise ValueError("not a successful envelope")
    result = envelope.get("result")
    if not isinstance(result, Mapping) or "data" not in result or result["data"] is not None:
        raise ValueError("the data key found is not the result's")
    rows, dims = _rows(memoryview(body)[start : end + 1], count)
    shape = result.get("shape")
    if shape is not None and shape != [count, dims]:
        raise ValueError("the shape does not match the rows")
    return [RawVector(row, dims) for row in rows]


_FLOAT = {float}
_NUMBER = {float, int}


def vectors_from_result(result: Any, count: int) -> list[list[float]]:
    """The ``count`` vectors of a parsed embedding result, checked (:class:`ResponseFormatError`): a
    ``data`` list of ``count`` non-empty lists of numbers, as floats (checked at C speed, a set of the
    element types per row: this runs for every vector)."""
    data = result.get("data") if isinstance(result, Mapping) else None
    if not isinstance(data, list) or len(data) != count:
        got = len(data) if isinstance(data, list) else type(data).__name__
        raise ResponseFormatError(f"embedding result for {count} texts has data of {got}")
    rows: list[list[float]] = data
    for i, row in enumerate(rows):
        kinds = set(map(type, row)) if isinstance(row, list) else None
        if kinds == _FLOAT:
            continue
        if not row or kinds is None or not kinds <= _NUMBER:
            raise ResponseFormatError("embedding data is not numeric")
        try:
            rows[i] = [float(x) for x in row]
        except OverflowError:  # an integer beyond float64 (the standard library's parser keeps it)
            raise ResponseFormatError("embedding data holds a number beyond float32") from None
    return rows


def rows_from_parsed(vectors: list[list[float]], shape: Any = None) -> list[RawVector]:
    """Parsed vectors (:func:`vectors_from_result`) as :class:`RawVector`, checked as the fast path is
    (:class:`ResponseFormatError`): rows of one length, finite numbers within float32, and the answer's
    ``shape`` (if any) ``[rows, dimensions]``."""
    dims = len(vectors[0]) if vectors else 0
    if any(len(v) != dims for v in vectors):
        raise ResponseFormatError("embedding rows of different lengths")
    for v in vectors:
        if not (math.isfinite(sum(v)) and min(v) > -FLOAT32_OVERFLOW and max(v) < FLOAT32_OVERFLOW):
            raise ResponseFormatError("embedding data holds a number that is not a finite float32")
    if shape is not None and shape != [len(vectors), dims]:
        raise ResponseFormatError(f"embedding shape {shape!r} for {len(vectors)} rows of {dims}")
    return [RawVector(jsonlib.dumps(v), len(v)) for v in vectors]
