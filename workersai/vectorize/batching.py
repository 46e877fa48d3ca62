"""Vectors to write, checked and cut into NDJSON request bodies within Vectorize's per-request limits."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ..errors import BadInput
from ..raw_vectors import RawVector
from .checks import (
    MAX_BYTES_PER_WRITE,
    MAX_VECTORS_PER_WRITE,
    check_values,
    check_vector,
    compact,
    plain_values,
)
from .results import Vector

VectorLike = Vector | Mapping[str, Any]
# How a write call waits: False returns once the writes are accepted; True once they are searchable;
# "deferred" returns once accepted and records them, for `confirm_writes` to wait on later.
Wait = bool | Literal["deferred"]


def check_wait(wait: Any) -> Wait:
    """``wait`` of a write: True, False or "deferred"."""
    if not (isinstance(wait, bool) or wait == "deferred"):
        raise BadInput(f'wait must be True, False or "deferred", got {wait!r}')
    return wait  # type: ignore[no-any-return]


class CheckedRecord(dict[str, Any]):
    """A wire record (``id``, ``values``, and ``metadata`` / ``namespace`` when set) whose id, metadata
    and namespace its maker has already checked, as the vector stores check every document before
    embedding any: :func:`record` then checks only its values, and sends it as it is."""


def record(item: VectorLike, dimensions: int | None) -> dict[str, Any]:
    """The checked wire record of one vector (plain dicts are not copied into models: it is the hot
    path of every ingestion). It is a :class:`CheckedRecord`: a record checked once, e.g. by
    ``skip_stored`` before it is batched, has only its values checked again."""
    if type(item) is CheckedRecord:
        if type(item["values"]) is not RawVector:  # a raw row is checked already, and stays as it is
            item["values"] = plain_values(item["values"])
        check_values(item["values"], dimensions, item["id"])
        return item
    vid: Any
    values: Any
    if isinstance(item, Vector):
        vid, values, metadata, namespace = item.id, item.values, item.metadata, item.namespace
    elif isinstance(item, Mapping):
        vid, values = item.get("id"), item.get("values")
        metadata, namespace = item.get("metadata"), item.get("namespace")
    else:
        raise BadInput(f"a vector must be a Vector or a mapping, got {type(item).__name__}")
    values = plain_values(values)
    check_vector(vid, values, metadata, namespace, dimensions)
    out = CheckedRecord(id=vid, values=values)
    if metadata is not None:
        out["metadata"] = metadata
    if namespace is not None:
        out["namespace"] = namespace
    return out


def _checked(vectors: Iterable[VectorLike], dimensions: int | None) -> Iterator[dict[str, Any]]:
    """The checked wire records of ``vectors``, all of one length (``dimensions`` if given)."""
    for item in vectors:
        out = record(item, dimensions)
        dimensions = len(out["values"])
        yield out


def checked_records(vectors: Iterable[VectorLike], dimensions: int | None = None) -> Iterable[dict[str, Any]]:
    """The checked wire records of ``vectors``: a list (any sequence) checked whole at once, so one bad
    vector stops a call before any request; an iterator checked as it is read, never held whole."""
    records: Iterable[dict[str, Any]] = _checked(vectors, dimensions)
    return list(records) if isinstance(vectors, Sequence) else records


@dataclass
class Batch:
    """One NDJSON request body, the ids it writes (in order) and the vectors' dimensions."""

    body: bytes
    ids: list[str]
    dimensions: int


def ndjson_batches(
    vectors: Iterable[VectorLike],
    dimensions: int | None = None,
    max_vectors: int = MAX_VECTORS_PER_WRITE,
    max_bytes: int = MAX_BYTES_PER_WRITE,
) -> Iterator[Batch]:
    """NDJSON bodies of at most ``max_vectors`` vectors and ``max_bytes`` bytes; the vectors of one
    call must all have the same dimensions. A list (any sequence) is checked whole before the first
    body is built, so one bad vector stops the call before any request; an iterator is checked as it
    is read and streamed batch by batch, so one of any length is never held whole."""
    records = checked_records(vectors, dimensions)
    parts: list[bytes | memoryview] = []
    ids: list[str] = []
    size = 0
    for rec in records:
        line = ndjson_line(rec)
        length = sum(map(len, line))
        if length > max_bytes:
            raise BadInput(f"vector {rec['id']!r} alone is over the request size limit")
        if ids and (len(ids) >= max_vectors or size + length > max_bytes):
            yield Batch(b"".join(parts), ids, len(rec["values"]))
            parts, ids, size = [], [], 0
        parts += line
        ids.append(rec["id"])
        size += length
        dimensions = len(rec["values"])
    if ids:
        assert dimensions is not None
        yield Batch(b"".join(parts), ids, dimensions)


_VALUES_KEY = b',"values":'
_LINE_END = b"}\n"


def ndjson_line(rec: Mapping[str, Any]) -> list[bytes | memoryview]:
    """The NDJSON line of a checked wire record, in pieces that are joined into the request body. A
    :class:`~workersai.raw_vectors.RawVector` is spliced in as it is: the rest of the record is
    serialized without it and the row's bytes follow, so they are copied once, into the body."""
    values = rec["values"]
    if not isinstance(values, RawVector):
        return [compact(rec, line=True)]
    rest = compact({k: v for k, v in rec.items() if k != "values"})
    return [rest[:-1], _VALUES_KEY, values.json, _LINE_END]


async def andjson_batches(
    vectors: AsyncIterable[VectorLike],
    dimensions: int | None = None,
    max_vectors: int = MAX_VECTORS_PER_WRITE,
    max_bytes: int = MAX_BYTES_PER_WRITE,
) -> AsyncIterator[Batch]:
    """:func:`ndjson_batches` over an async iterable (an async generator can embed the next texts
    while earlier batches are being sent)."""
    pending: list[VectorLike] = []
    async for item in vectors:
        pending.append(item)
        if len(pending) >= max_vectors:
            # Several batches may come of it (the byte limit); all but the last are complete.
            for batch in ndjson_batches(pending, dimensions, max_vectors, max_bytes):
                dimensions = batch.dimensions
                yield batch
            pending = []
    if pending:
        for batch in ndjson_batches(pending, dimensions, max_vectors, max_bytes):
            yield batch
