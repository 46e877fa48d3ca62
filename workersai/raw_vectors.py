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

The checks are bit operations, as this runs for every answer of a bulk ingestion: each byte's class
(digit, ``0``, ``-``, ``.``, ``,``, ``e``, and the rows' brackets where the layout puts them) is a
bitset of the array's bytes (one numpy comparison and one packing pass over the bytes per class), and
the grammar is checked on the bitsets, 64 bytes a word: what may precede each byte, no leading zero,
no run of 39 digits (shifts), one ``.`` and one exponent per number at most (an addition: a bit added
at the first digit of a run carries through the run into the byte after it). The numbers themselves
are never converted.
"""

from __future__ import annotations

import math
import sys
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


def _row_ends(body: bytes, start: int) -> list[int]:
    """The indices of the ``]`` closing each row of the array of arrays that opens at ``start``, and
    of the ``]`` closing the array last (``ValueError`` for any other layout): every ``]`` from
    ``start`` on is found (``memchr``) and is followed by ``,`` (a row's) or ``]`` (the last row's)."""
    ends = [body.index(b"]", start)]
    while True:
        nxt = ends[-1] + 1
        if nxt >= len(body):
            raise ValueError("the data array is not closed")
        if body[nxt] == ord("]"):
            ends.append(nxt)
            return ends
        if body[nxt] != ord(","):
            raise ValueError("unexpected text between rows")
        ends.append(body.index(b"]", nxt))


class _Work:
    """The arrays :func:`_rows` computes in, for data arrays of up to ``capacity`` bytes, kept for the
    next answer (:data:`_IDLE`): fresh arrays of an answer's size each time cost more in page faults
    than the checks themselves. ``chars``: one byte per byte of the data; ``bits``: bitsets of the
    data's bytes (bit i: byte i) in uint64 words, one per row; ``carry``, ``counts``: one per word."""

    def __init__(self, np: Any, capacity: int) -> None:
        words = capacity // 64 + 2
        self.capacity = capacity
        self.chars = np.empty(capacity, np.uint8)
        self.bits = np.empty((16, words), np.uint64)
        self.carry = np.empty((2, words), np.bool_)
        self.counts = np.empty(words + 1, np.int64)


_IDLE: list[_Work] = []
"""The :class:`_Work` not in use: one is taken for an answer and put back, so threads cutting answers
at once each have their own."""
_KEPT_CAPACITY = 8 << 20
"""A :class:`_Work` for a larger data array is not kept (100 texts of 4,096 dimensions are ~5 MB)."""


def _rows(data: memoryview, ends: list[int], count: int) -> tuple[list[memoryview], int]:
    """The rows of the data array ``data`` (``[[...],[...]]``; ``ends``: the indices of its rows'
    closing ``]`` and of its own, from :func:`_row_ends`) as views of their own JSON arrays, and their
    length, when ``data`` is surely ``count`` flat rows of one length of JSON numbers that parse to
    finite float32 values; ``ValueError`` otherwise (see the module docstring)."""
    try:
        import numpy as np  # the langchain extra's
    except ImportError:  # pragma: no cover - embed_raw then parses the answer whole
        raise ValueError("numpy is not installed") from None
    if sys.byteorder != "little":  # pragma: no cover - the bitsets are packed into little-endian words
        raise ValueError("a big-endian machine")
    if len(ends) != count + 1:
        raise ValueError(f"the data array does not hold {count} rows")
    # Layout: "[[" row ("],[" row)* "]]". The rows' "]" are ``ends`` (every "]" of the array, each
    # followed by "," or, the last, by "]"); their "[" are checked where they must be (after "[" or
    # ","); any other "[" is a byte of no class below.
    starts = [1] + [end + 2 for end in ends[:-2]]
    if any(data[s] != _OPEN for s in starts):
        raise ValueError("a row does not open where the previous one closed")
    try:
        work = _IDLE.pop()
    except IndexError:
        work = _Work(np, len(data))
    if work.capacity < len(data):
        work = _Work(np, len(data))
    try:
        per_row = _check(np, work, data, starts, ends)
    finally:
        if work.capacity <= _KEPT_CAPACITY:
            _IDLE.append(work)
    return [data[s : e + 1] for s, e in zip(starts, ends[:-1], strict=True)], per_row + 1


def _check(np: Any, work: _Work, data: memoryview, starts: list[int], ends: list[int]) -> int:
    """How many commas each row of ``data`` holds, when ``data`` is surely rows of JSON numbers that
    parse to finite float32 values (:func:`_rows`); ``ValueError`` otherwise. Every array is
    ``work``'s (``out=``): no array of the data's size is made."""
    u8, u64 = np.uint8, np.uint64
    n = len(data)
    size = (n + 63) // 64 + 1  # uint64 words; the last is zero: no byte follows the array
    packed = (n + 7) // 8
    bits = work.bits[:, :size]
    as_bytes = work.bits.view(u8)[:, : size * 8]
    as_bytes[:6, packed:] = 0
    bits[6:8] = 0
    # Each byte's class as a bitset: one comparison and one packing pass each.
    chars = np.frombuffer(data, u8)
    value = work.chars[:n]
    mask = value.view(np.bool_)
    np.subtract(chars, u8(_DIGIT_0), out=value)
    as_bytes[1, :packed] = np.packbits(value, bitorder="little")  # not "0": packbits packs nonzero as 1
    as_bytes[0, :packed] = np.packbits(np.less(value, u8(10), out=mask), bitorder="little")
    for row, char in ((2, _MINUS), (3, _POINT), (4, _COMMA)):
        as_bytes[row, :packed] = np.packbits(np.equal(chars, u8(char), out=mask), bitorder="little")
    np.bitwise_or(chars, u8(32), out=value)
    as_bytes[5, :packed] = np.packbits(np.equal(value, u8(_LOWER_E), out=mask), bitorder="little")
    for row, where in ((6, [0, *starts]), (7, ends)):
        at = np.array(where, u64)
        np.bitwise_or.at(bits[row], at >> u64(6), u64(1) << (at & u64(63)))
    digit, zero, minus, point, comma, exp, start, closes, bad, t, u, spill, after_digit, exponent, run, _ = (
        bits
    )
    np.invert(zero, out=zero)
    np.bitwise_and(zero, digit, out=zero)
    np.bitwise_or(start, comma, out=start)  # "[" or ","

    def prev(source: Any, shift: int, out: Any) -> Any:
        """``out``: bit i is bit i - ``shift`` of ``source`` (``shift`` below 64), what precedes."""
        np.left_shift(source, shift, out=out)
        np.right_shift(source[:-1], 64 - shift, out=spill[1:])
        np.bitwise_or(out[1:], spill[1:], out=out[1:])
        return out

    def refuse(found: Any) -> None:
        np.bitwise_or(bad, found, out=bad)

    # What may precede each byte: a digit, "-", ".", "[" or "," a digit; a digit a "." and an "e";
    # "[", "," or "e" a "-" (an exponent is negative: a positive one may overflow float32 and is left
    # to the parsed path); a digit or "]" a "," and a "]". The rows' "[" are where the layout puts
    # them. Any other byte (a letter, a space, a "[" elsewhere) is of no class: the byte after it
    # (there is one: the array ends with "]") refuses it.
    np.bitwise_or(digit, minus, out=u)
    np.bitwise_or(u, point, out=u)
    np.bitwise_or(u, start, out=u)
    np.invert(prev(u, 1, t), out=t)
    np.bitwise_and(t, digit, out=bad)
    prev(digit, 1, after_digit)
    np.bitwise_or(point, exp, out=u)
    refuse(np.bitwise_and(u, np.invert(after_digit, out=t), out=t))
    np.bitwise_or(start, exp, out=u)
    refuse(np.bitwise_and(minus, np.invert(prev(u, 1, t), out=t), out=t))
    np.bitwise_or(digit, closes, out=u)
    np.invert(prev(u, 1, t), out=t)
    refuse(np.bitwise_and(t, np.bitwise_or(comma, closes, out=u), out=t))
    np.bitwise_and(minus, prev(exp, 1, exponent), out=exponent)  # an exponent's "-"
    # No leading zero: no digit after a "0" that starts an integer part (after "[", "," or a sign;
    # "e-05" is fine).
    np.bitwise_and(minus, np.invert(exponent, out=u), out=u)
    prev(np.bitwise_or(u, start, out=u), 2, t)
    np.bitwise_and(t, prev(zero, 1, u), out=t)
    refuse(np.bitwise_and(t, digit, out=t))
    # A run of 39 digits or more (a number of 1e38 or more) is left to the parsed path. ``run``: bit
    # i is set when bytes i - span + 1 ... i are digits, span doubling (2, 4, ... 32; then 39).
    np.bitwise_and(digit, after_digit, out=run)
    for span in (2, 4, 8, 16):
        np.bitwise_and(run, prev(run, span, t), out=run)
    refuse(np.bitwise_and(run, prev(run, 7, t), out=t))
    # One "." and one exponent per number at most, the "." first: no "." after a "." or an exponent
    # and their digits, no "e" after an exponent and its digits. A bit added at a run's first digit
    # carries through the run, clearing it, into the byte after it.
    not_digit = np.invert(digit, out=run)
    for origins, refused in ((np.bitwise_or(point, exponent, out=u), point), (exponent, exp)):
        if origins is exponent and not exponent.any():
            break
        total = np.add(digit, prev(origins, 1, t), out=t)
        carry, spare = work.carry[:, :size]
        np.less(total, digit, out=carry)
        while carry.any():  # the carries out of a word, into the next, until none is left
            np.add(total[1:], carry[:-1], out=total[1:])
            np.logical_and(np.equal(total[1:], 0, out=spare[1:]), carry[:-1], out=spare[1:])
            spare[0] = False
            carry, spare = spare, carry
        np.bitwise_and(total, not_digit, out=total)
        refuse(np.bitwise_and(total, refused, out=total))
    if bad.any():
        raise ValueError("not an array of arrays of JSON numbers with negative exponents")
    # One length: as many commas in each row.
    commas = _bits_before(np, work, comma, np.array([starts, ends[:-1]], np.int64))
    per_row = commas[1] - commas[0]
    if (per_row != per_row[0]).any():
        raise ValueError("embedding rows of different lengths")
    return int(per_row[0])


def _bits_before(np: Any, work: _Work, bits: Any, positions: Any) -> Any:
    """How many bits of ``bits`` (a bitset in uint64 words) lie before each of ``positions``: whole
    words counted and summed, then the bits below each position in its own word."""
    u64 = np.uint64
    word, below = positions >> 6, (u64(1) << (positions & 63).astype(u64)) - u64(1)
    if hasattr(np, "bitwise_count"):  # numpy 2
        per_word = work.counts[: bits.size + 1]
        per_word[0] = 0
        np.cumsum(np.bitwise_count(bits), out=per_word[1:])
        return per_word[word] + np.bitwise_count(bits[word] & below)
    ones = np.unpackbits(bits.view(np.uint8), bitorder="little")  # numpy 1.26: no popcount
    return np.cumsum(ones, dtype=np.int64)[positions] - ones[positions]


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
    ends = _row_ends(body, start)
    end = ends[-1]
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
    rows, dims = _rows(memoryview(body)[start : end + 1], [e - start for e in ends], count)
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
