"""Embedding answers kept as JSON bytes, for vectors that are only passed through to a write.

Bulk ingestion embeds texts and writes the vectors to Vectorize as NDJSON without ever looking at a
number. Parsing every float of the answer into a Python float and printing it again is most of the
client's CPU per document; here the answer's ``result.data`` rows are cut out of the body as views of
its bytes (no copy) and checked instead: the array's shape (``n`` rows of ``dimensions`` numbers, no
deeper nesting), and that only number characters appear (digits, sign, point, exponent). The NDJSON
writer splices each row into its line as it is (:func:`~workersai.vectorize.batching.ndjson_batches`),
so the service receives exactly the numbers it returned, and the row's bytes are copied once, into
the request body. The answer is taken to be JSON, as the service sends it: what is checked is its
layout and that its rows hold numbers only, not the grammar of each number.

The rest of the envelope (``success``, ``result.shape``, ...) is parsed as usual, with the data array
cut out; an answer of any other layout is parsed whole (:func:`rows_from_parsed`), so the fast path
never changes what is accepted.
"""

from __future__ import annotations

from collections.abc import Mapping

from . import jsonlib
from .errors import ResponseFormatError

_WHITESPACE = b" \t\r\n"
_WHITESPACE_CHARS = (b" ", b"\t", b"\r", b"\n")
# One of these is in every JSON value that is not a number (and in NaN and Infinity); none in a number.
_NOT_IN_NUMBERS = (b'"', b"{", b"t", b"f", b"n", b"N", b"I")
_NUMBER_CHARS = b"0123456789+-.eE"
_DATA_KEY = b'"data"'
_COMMA = ord(",")


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
    """The index of the ``]`` closing the array of arrays that opens at ``start``."""
    pos = body.index(b"]", start)
    while True:
        nxt = pos + 1
        while nxt < len(body) and body[nxt] in _WHITESPACE:
            nxt += 1
        if nxt >= len(body):
            raise ValueError("the data array is not closed")
        if body[nxt] == ord("]"):
            return nxt
        if body[nxt] != ord(","):
            raise ValueError("unexpected text between rows")
        pos = body.index(b"]", nxt)


def _rows(body: bytes, start: int, end: int, count: int) -> tuple[list[memoryview], int]:
    """The rows of the data array ``body[start:end]`` (``[[...],[...]]``) as views of their own JSON
    arrays, and their length, checked: ``count`` flat rows of one length holding numbers only, no
    empty element. Each check is one pass at memory speed, as this runs for every answer of a bulk
    ingestion: rows are found by their brackets (``memchr``); a value that is not a number is found
    by a character every other JSON value must contain (``"``, ``{``, ``[``, and the letters of
    ``true``, ``false``, ``null``, and of ``NaN`` and ``Infinity``, which some encoders write);
    empty elements and each row's count by numpy over the commas. The numbers are never read."""
    try:
        import numpy as np  # the langchain extra's
    except ImportError:  # pragma: no cover - embed_raw then parses the answer whole
        raise ValueError("numpy is not installed") from None

    data, lo, hi = body, start, end
    if any(body.find(c, start, end) >= 0 for c in _WHITESPACE_CHARS):
        data = body[start:end].translate(None, _WHITESPACE)
        lo, hi = 0, len(data)
    if count == 0:
        if data[lo:hi] != b"[]":
            raise ValueError("rows for no texts")
        return [], 0
    if data[lo : lo + 2] != b"[[" or data[hi - 2 : hi] != b"]]":
        raise ValueError("the data array is not an array of arrays")
    if any(data.find(c, lo + 1, hi) >= 0 for c in _NOT_IN_NUMBERS):
        raise ValueError("the data array holds values that are not numbers")
    spans: list[tuple[int, int]] = []
    pos = lo + 1
    while True:
        close = data.index(b"]", pos)
        spans.append((pos, close + 1))
        if close == hi - 2:
            break
        if data[close + 1 : close + 3] != b",[":
            raise ValueError("the data array does not hold one flat row per text")
        pos = close + 2
    if len(spans) != count:
        raise ValueError(f"{len(spans)} rows for {count} texts")
    if any(data.find(b"[", s + 1, e) >= 0 for s, e in spans):
        raise ValueError("the data array does not hold one flat row per text")
    whole = memoryview(data)
    rows = [whole[s:e] for s, e in spans]
    # Each row starts and ends with a number, and no two commas are side by side: no empty element.
    if any(row[1] not in _NUMBER_CHARS or row[-2] not in _NUMBER_CHARS for row in rows):
        raise ValueError("a row is empty or has an empty element")
    is_comma = np.frombuffer(data, np.uint8, hi - lo, lo) == _COMMA
    if (is_comma[1:] & is_comma[:-1]).any():
        raise ValueError("a row has an empty element")
    per_row = {int(np.count_nonzero(is_comma[s - lo : e - lo])) for s, e in spans}
    if len(per_row) != 1:
        raise ResponseFormatError("embedding rows of different lengths")
    return rows, per_row.pop() + 1


def rows_from_body(body: bytes, count: int) -> list[RawVector]:
    """The ``count`` embeddings of a successful ``/ai/run`` answer ``body``, cut out as views of its
    JSON bytes and checked (see the module docstring). ``ValueError`` when the body is not laid out as
    expected (the caller then parses it whole); :class:`ResponseFormatError` when it is, but its data
    is wrong."""
    key = body.find(_DATA_KEY)
    if key < 0:
        raise ValueError("no data key")
    colon = key + len(_DATA_KEY)
    while colon < len(body) and body[colon] in _WHITESPACE:
        colon += 1
    if body[colon : colon + 1] != b":":
        raise ValueError("no data key")
    start = colon + 1
    while start < len(body) and body[start] in _WHITESPACE:
        start += 1
    if body[start : start + 1] != b"[":
        raise ValueError("data is not an array")
    end = _array_end(body, start) if count else body.index(b"]", start)
    # The rest of the envelope, parsed: it proves the key found is result.data and gives the shape.
    rest = jsonlib.loads(body[:key] + b'"data":null' + body[end + 1 :])
    result = rest.get("result") if isinstance(rest, Mapping) else None
    if rest.get("success") is False:
        raise ValueError("an error envelope")
    if not isinstance(result, Mapping) or "data" not in result or result["data"] is not None:
        raise ValueError("the data key found is not the result's")
    rows, dims = _rows(body, start, end + 1, count)
    shape = result.get("shape")
    if shape is not None and shape != [count, dims]:
        raise ResponseFormatError(f"embedding shape {shape!r} for {count} rows of {dims}")
    return [RawVector(row, dims) for row in rows]


def rows_from_parsed(vectors: list[list[float]]) -> list[RawVector]:
    """Parsed vectors as :class:`RawVector` (the path for an answer laid out otherwise)."""
    return [RawVector(jsonlib.dumps(v), len(v)) for v in vectors]
