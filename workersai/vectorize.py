"""The Vectorize v2 client: indexes, NDJSON writes in bounded batches, queries, and read-your-writes.

Every operation is described once (:class:`_Call`: method, path, body, how to read the result) and run
by the sync or the async path, which share the parent :class:`~workersai.WorkersAI` client's pool,
retries and typed errors. Input is checked before any request (:mod:`workersai.vectorize_limits`).

Writes are asynchronous in Vectorize: each returns a mutation id, and the change is visible once the
index's ``processedUpToMutation`` reaches it. ``wait=True`` (or :meth:`Vectorize.wait_for_mutation`)
polls ``info`` until then. Because another writer's later mutation can be processed before a poll sees
ours, waiting on a write also confirms it by reading back the last vector of each batch.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Literal, TypeVar

from pydantic import BaseModel, Field

from .errors import BadInput, MutationTimeout, ResponseFormatError
from .transport import unwrap_envelope
from .vectorize_limits import (
    MAX_BYTES_PER_WRITE,
    MAX_VECTORS_PER_WRITE,
    METADATA_INDEX_TYPES,
    METRICS,
    check_filter,
    check_id,
    check_index_name,
    check_namespace,
    check_top_k,
    check_values,
    check_vector,
    compact,
)

if TYPE_CHECKING:
    from .client import WorkersAI

T = TypeVar("T")
Metric = Literal["cosine", "euclidean", "dot-product"]
ReturnMetadata = Literal["none", "indexed", "all"]
GET_BY_IDS_BATCH = 20


class Vector(BaseModel):
    """One vector to write, or one read back."""

    id: str
    values: list[float]
    metadata: dict[str, Any] | None = None
    namespace: str | None = None


class Match(BaseModel):
    """One query result."""

    id: str
    score: float
    values: list[float] | None = None
    metadata: dict[str, Any] | None = None
    namespace: str | None = None


class QueryResult(BaseModel):
    count: int
    matches: list[Match] = Field(default_factory=list)


class IndexInfo(BaseModel):
    """``/info``: size and how far mutations have been applied."""

    dimensions: int
    vector_count: int = Field(alias="vectorCount")
    processed_up_to_mutation: str | None = Field(default=None, alias="processedUpToMutation")
    processed_up_to_datetime: str | None = Field(default=None, alias="processedUpToDatetime")


class IndexDescription(BaseModel):
    name: str
    description: str = ""
    dimensions: int
    metric: str
    created_on: str | None = None
    modified_on: str | None = None


VectorLike = Vector | Mapping[str, Any]
# How a write call waits: False returns once the writes are accepted; True once they are searchable;
# "deferred" returns once accepted and records them, for `confirm_writes` to wait on later.
Wait = bool | Literal["deferred"]


def _record(item: VectorLike, dimensions: int | None) -> dict[str, Any]:
    """The checked wire record of one vector (plain dicts are not copied into models: it is the hot
    path of every ingestion)."""
    vid: Any
    values: Any
    if isinstance(item, Vector):
        vid, values, metadata, namespace = item.id, item.values, item.metadata, item.namespace
    elif isinstance(item, Mapping):
        vid, values = item.get("id"), item.get("values")
        metadata, namespace = item.get("metadata"), item.get("namespace")
    else:
        raise BadInput(f"a vector must be a Vector or a mapping, got {type(item).__name__}")
    if values is not None and not isinstance(values, (list, tuple)):
        values = values.tolist() if hasattr(values, "tolist") else list(values)  # e.g. a numpy array
    check_vector(vid, values, metadata, namespace, dimensions)
    record: dict[str, Any] = {"id": vid, "values": values}
    if metadata is not None:
        record["metadata"] = metadata
    if namespace is not None:
        record["namespace"] = namespace
    return record


def check_wait(wait: Any) -> Wait:
    """``wait`` of a write: True, False or "deferred"."""
    if not (isinstance(wait, bool) or wait == "deferred"):
        raise BadInput(f'wait must be True, False or "deferred", got {wait!r}')
    return wait  # type: ignore[no-any-return]


def _checked(vectors: Iterable[VectorLike], dimensions: int | None) -> Iterator[dict[str, Any]]:
    """The checked wire records of ``vectors``, all of one length (``dimensions`` if given)."""
    for item in vectors:
        record = _record(item, dimensions)
        dimensions = len(record["values"])
        yield record


@dataclass
class Batch:
    """One NDJSON request body and what it holds (``last`` is its last vector, for read-back)."""

    body: bytes
    ids: list[str]
    last: Vector


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
    records: Iterable[dict[str, Any]] = _checked(vectors, dimensions)
    if isinstance(vectors, Sequence):
        records = list(records)
    lines: list[bytes] = []
    ids: list[str] = []
    size = 0
    last: dict[str, Any] | None = None
    for record in records:
        line = compact(record) + b"\n"
        if len(line) > max_bytes:
            raise BadInput(f"vector {record['id']!r} alone is over the request size limit")
        if lines and (len(lines) >= max_vectors or size + len(line) > max_bytes):
            assert last is not None
            yield Batch(b"".join(lines), ids, Vector.model_validate(last))
            lines, ids, size = [], [], 0
        lines.append(line)
        ids.append(record["id"])
        size += len(line)
        last = record
    if lines:
        assert last is not None
        yield Batch(b"".join(lines), ids, Vector.model_validate(last))


async def andjson_batches(
    vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
    dimensions: int | None = None,
    max_vectors: int = MAX_VECTORS_PER_WRITE,
    max_bytes: int = MAX_BYTES_PER_WRITE,
) -> AsyncIterator[Batch]:
    """:func:`ndjson_batches` over a sync or async iterable (an async generator can embed the next
    texts while earlier batches are being sent)."""
    if not isinstance(vectors, AsyncIterable):
        for batch in ndjson_batches(vectors, dimensions, max_vectors, max_bytes):
            yield batch
        return
    pending: list[VectorLike] = []
    async for item in vectors:
        pending.append(item)
        if len(pending) >= max_vectors:
            # Several batches may come of it (the byte limit); all but the last are complete.
            batches = list(ndjson_batches(pending, dimensions, max_vectors, max_bytes))
            for batch in batches:
                yield batch
            dimensions = len(batches[-1].last.values)
            pending = []
    if pending:
        for batch in ndjson_batches(pending, dimensions, max_vectors, max_bytes):
            yield batch


@dataclass
class _Call(Generic[T]):
    method: str
    path: str
    parse: Callable[[Any], T]
    json: Any = None
    content: bytes | None = None
    params: Mapping[str, Any] | None = None
    content_type: str | None = None


def _mutation_id(result: Any) -> str:
    if not isinstance(result, Mapping) or not isinstance(result.get("mutationId"), str):
        raise ResponseFormatError(f"write result has no mutationId: {result!r}")
    return str(result["mutationId"])


def _parse_description(result: Any) -> IndexDescription:
    if not isinstance(result, Mapping) or not isinstance(result.get("config"), Mapping):
        raise ResponseFormatError(f"index description without config: {result!r}")
    config = result["config"]
    return IndexDescription(
        name=result.get("name", ""),
        description=result.get("description") or "",
        dimensions=config.get("dimensions", 0),
        metric=config.get("metric", ""),
        created_on=result.get("created_on"),
        modified_on=result.get("modified_on"),
    )


def _model(cls: type[BaseModel]) -> Callable[[Any], Any]:
    def parse(result: Any) -> Any:
        try:
            return cls.model_validate(result)
        except ValueError as exc:
            raise ResponseFormatError(f"unexpected {cls.__name__} shape: {exc}") from exc

    return parse


def _vectors(result: Any) -> list[Vector]:
    if not isinstance(result, list):
        raise ResponseFormatError("get_by_ids result is not a list")
    parse = _model(Vector)
    return [parse(item) for item in result]


class Vectorize:
    """Vectorize v2 operations for the parent client's account (``client.vectorize``)."""

    def __init__(self, client: WorkersAI, *, poll_interval: float = 0.05) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self._dimensions: dict[str, int] = {}
        # Writes sent with wait="deferred", by index and kind: (mutation id, last vector of the request).
        self._deferred: dict[str, dict[str, list[tuple[str, Vector]]]] = {}
        self._deferred_lock = threading.Lock()

    # -- execution ------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.client.account_url("vectorize/v2/indexes" + path)

    def _do(self, call: _Call[T]) -> T:
        headers = {"Content-Type": call.content_type} if call.content_type else None
        response = self.client.transport.request(
            call.method,
            self._url(call.path),
            json=call.json,
            content=call.content,
            params=call.params,
            headers=headers,
        )
        return call.parse(unwrap_envelope(response))

    async def _ado(self, call: _Call[T]) -> T:
        headers = {"Content-Type": call.content_type} if call.content_type else None
        response = await self.client.transport.arequest(
            call.method,
            self._url(call.path),
            json=call.json,
            content=call.content,
            params=call.params,
            headers=headers,
        )
        return call.parse(unwrap_envelope(response))

    def _remember(self, name: str) -> Callable[[IndexDescription], IndexDescription]:
        def keep(desc: IndexDescription) -> IndexDescription:
            self._dimensions[name] = desc.dimensions
            return desc

        return keep

    # -- index management -----------------------------------------------------------------------
    def _create(
        self, name: str, dimensions: int | None, metric: Metric, preset: str | None, description: str | None
    ) -> _Call[IndexDescription]:
        check_index_name(name)
        if preset is not None:
            config: dict[str, Any] = {"preset": preset}
        else:
            if dimensions is None or isinstance(dimensions, bool) or not 1 <= dimensions <= 1536:
                raise BadInput(
                    f"dimensions must be between 1 and 1536 (or give a preset), got {dimensions!r}"
                )
            if metric not in METRICS:
                raise BadInput(f"metric must be one of {METRICS}, got {metric!r}")
            config = {"dimensions": dimensions, "metric": metric}
        body: dict[str, Any] = {"name": name, "config": config}
        if description:
            body["description"] = description
        keep = self._remember(name)
        return _Call("POST", "", lambda r: keep(_parse_description(r)), json=body)

    def create_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        preset: str | None = None,
        description: str | None = None,
    ) -> IndexDescription:
        """Create an index from ``dimensions`` and ``metric``, or from an embedding model ``preset``."""
        return self._do(self._create(name, dimensions, metric, preset, description))

    async def acreate_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        preset: str | None = None,
        description: str | None = None,
    ) -> IndexDescription:
        return await self._ado(self._create(name, dimensions, metric, preset, description))

    def _get(self, name: str) -> _Call[IndexDescription]:
        keep = self._remember(check_index_name(name))
        return _Call("GET", f"/{name}", lambda r: keep(_parse_description(r)))

    def get_index(self, name: str) -> IndexDescription:
        return self._do(self._get(name))

    async def aget_index(self, name: str) -> IndexDescription:
        return await self._ado(self._get(name))

    def _list(self) -> _Call[list[IndexDescription]]:
        def parse(r: Any) -> list[IndexDescription]:
            if not isinstance(r, list):
                raise ResponseFormatError(f"index list is not a list: {type(r).__name__}")
            return [_parse_description(i) for i in r]

        return _Call("GET", "", parse)

    def list_indexes(self) -> list[IndexDescription]:
        return self._do(self._list())

    async def alist_indexes(self) -> list[IndexDescription]:
        return await self._ado(self._list())

    def _delete(self, name: str) -> _Call[None]:
        check_index_name(name)
        self._dimensions.pop(name, None)
        return _Call("DELETE", f"/{name}", lambda r: None)

    def delete_index(self, name: str) -> None:
        self._do(self._delete(name))
        self._take_deferred(name)  # nothing left to wait for

    async def adelete_index(self, name: str) -> None:
        await self._ado(self._delete(name))
        self._take_deferred(name)

    def _info(self, name: str) -> _Call[IndexInfo]:
        check_index_name(name)
        return _Call("GET", f"/{name}/info", _model(IndexInfo))

    def info(self, name: str) -> IndexInfo:
        """Vector count, dimensions and the last processed mutation."""
        return self._do(self._info(name))

    async def ainfo(self, name: str) -> IndexInfo:
        return await self._ado(self._info(name))

    # -- metadata indexes -----------------------------------------------------------------------
    def _md_create(self, name: str, prop: str, kind: str) -> _Call[str]:
        check_index_name(name)
        if not prop or kind not in METADATA_INDEX_TYPES:
            raise BadInput(f"metadata index needs a property name and a type in {METADATA_INDEX_TYPES}")
        return _Call(
            "POST",
            f"/{name}/metadata_index/create",
            _mutation_id,
            json={"propertyName": prop, "indexType": kind},
        )

    def create_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False
    ) -> str:
        """Make ``property_name`` filterable (for vectors written from now on); returns the mutation id."""
        mutation = self._do(self._md_create(name, property_name, index_type))
        if wait:
            self.wait_for_mutation(name, mutation)
        return mutation

    async def acreate_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False
    ) -> str:
        mutation = await self._ado(self._md_create(name, property_name, index_type))
        if wait:
            await self.await_for_mutation(name, mutation)
        return mutation

    def _md_list(self, name: str) -> _Call[dict[str, str]]:
        check_index_name(name)

        def parse(r: Any) -> dict[str, str]:
            items = r.get("metadataIndexes") if isinstance(r, Mapping) else None
            if not isinstance(items, list):
                raise ResponseFormatError("metadata index list without metadataIndexes")
            return {i["propertyName"]: i["indexType"] for i in items}

        return _Call("GET", f"/{name}/metadata_index/list", parse)

    def list_metadata_indexes(self, name: str) -> dict[str, str]:
        """``{property: type}`` of the index's metadata indexes."""
        return self._do(self._md_list(name))

    async def alist_metadata_indexes(self, name: str) -> dict[str, str]:
        return await self._ado(self._md_list(name))

    def _md_delete(self, name: str, prop: str) -> _Call[str]:
        check_index_name(name)
        return _Call("POST", f"/{name}/metadata_index/delete", _mutation_id, json={"propertyName": prop})

    def delete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        mutation = self._do(self._md_delete(name, property_name))
        if wait:
            self.wait_for_mutation(name, mutation)
        return mutation

    async def adelete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        mutation = await self._ado(self._md_delete(name, property_name))
        if wait:
            await self.await_for_mutation(name, mutation)
        return mutation

    # -- writes ---------------------------------------------------------------------------------
    def _write(self, name: str, kind: str, batch: Batch) -> _Call[str]:
        return _Call(
            "POST", f"/{name}/{kind}", _mutation_id, content=batch.body, content_type="application/x-ndjson"
        )

    @staticmethod
    def _check_batch_size(name: str, batch_size: int) -> None:
        check_index_name(name)
        if not 1 <= batch_size <= MAX_VECTORS_PER_WRITE:
            raise BadInput(f"batch_size must be between 1 and {MAX_VECTORS_PER_WRITE}, got {batch_size}")

    def _batches(self, name: str, vectors: Iterable[VectorLike], batch_size: int) -> Iterator[Batch]:
        self._check_batch_size(name, batch_size)
        return ndjson_batches(vectors, self._dimensions.get(name), batch_size)

    def insert(
        self,
        name: str,
        vectors: Iterable[VectorLike],
        *,
        wait: Wait = False,
        timeout: float = 60.0,
        batch_size: int = MAX_VECTORS_PER_WRITE,
    ) -> list[str]:
        """Insert vectors (ids that exist are left as they are); returns one mutation id per request.
        ``wait=True`` returns once they are searchable; ``"deferred"`` once accepted, leaving the wait
        to :meth:`confirm_writes` (many write calls, one wait)."""
        return self._write_all(name, "insert", vectors, wait, timeout, batch_size)

    def upsert(
        self,
        name: str,
        vectors: Iterable[VectorLike],
        *,
        wait: Wait = False,
        timeout: float = 60.0,
        batch_size: int = MAX_VECTORS_PER_WRITE,
    ) -> list[str]:
        """Insert or wholly replace vectors; returns one mutation id per request. ``wait`` as for
        :meth:`insert`."""
        return self._write_all(name, "upsert", vectors, wait, timeout, batch_size)

    async def ainsert(
        self,
        name: str,
        vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
        *,
        wait: Wait = False,
        timeout: float = 60.0,
        batch_size: int = MAX_VECTORS_PER_WRITE,
    ) -> list[str]:
        return await self._awrite_all(name, "insert", vectors, wait, timeout, batch_size)

    async def aupsert(
        self,
        name: str,
        vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
        *,
        wait: Wait = False,
        timeout: float = 60.0,
        batch_size: int = MAX_VECTORS_PER_WRITE,
    ) -> list[str]:
        """Async twin of :meth:`upsert`; ``vectors`` may also be an async iterable (e.g. a generator
        that embeds the next texts while earlier batches are sent)."""
        return await self._awrite_all(name, "upsert", vectors, wait, timeout, batch_size)

    def _write_all(
        self,
        name: str,
        kind: str,
        vectors: Iterable[VectorLike],
        wait_: Wait,
        timeout: float,
        batch_size: int,
    ) -> list[str]:
        check_wait(wait_)
        # Batches are built lazily and at most `max_concurrency` are in flight, so memory stays bounded:
        # of a sent batch only its last vector is kept, for the read-back.
        results: list[tuple[int, str, Vector]] = []
        limit = self.client.max_concurrency
        with ThreadPoolExecutor(limit) as pool:
            pending: dict[Future[str], tuple[int, Vector]] = {}
            for number, batch in enumerate(self._batches(name, vectors, batch_size)):
                if len(pending) >= limit:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for f in done:
                        n, last = pending.pop(f)
                        results.append((n, f.result(), last))
                pending[pool.submit(self._do, self._write(name, kind, batch))] = (number, batch.last)
                del batch
            for f, (n, last) in pending.items():
                results.append((n, f.result(), last))
        results.sort(key=lambda r: r[0])
        writes = [(m, last) for _, m, last in results]
        if wait_ == "deferred":
            self._defer(name, kind, writes)
        elif wait_ and writes:
            self._confirm(name, kind, writes, timeout)
        return [m for m, _ in writes]

    async def _awrite_all(
        self,
        name: str,
        kind: str,
        vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
        wait_: Wait,
        timeout: float,
        batch_size: int,
    ) -> list[str]:
        self._check_batch_size(name, batch_size)
        check_wait(wait_)
        limit = asyncio.Semaphore(self.client.max_concurrency)
        tasks: list[asyncio.Task[str]] = []
        lasts: list[Vector] = []

        async def send(batch: Batch) -> str:
            try:
                return await self._ado(self._write(name, kind, batch))
            finally:
                limit.release()

        try:
            async for batch in andjson_batches(vectors, self._dimensions.get(name), batch_size):
                await limit.acquire()
                lasts.append(batch.last)
                tasks.append(asyncio.ensure_future(send(batch)))
            mutations = list(await asyncio.gather(*tasks))
        except BaseException:
            for t in tasks:
                t.cancel()
            raise
        writes = list(zip(mutations, lasts, strict=True))
        if wait_ == "deferred":
            self._defer(name, kind, writes)
        elif wait_ and writes:
            await self._aconfirm(name, kind, writes, timeout)
        return mutations

    def _delete_ids(self, name: str, ids: Sequence[str]) -> _Call[str]:
        check_index_name(name)
        items = [check_id(i) for i in ids]
        return _Call("POST", f"/{name}/delete_by_ids", _mutation_id, json={"ids": items})

    def delete_by_ids(
        self, name: str, ids: Sequence[str], *, wait: bool = False, timeout: float = 60.0
    ) -> str:
        """Delete vectors by id; returns the mutation id."""
        mutation = self._do(self._delete_ids(name, ids))
        if wait:
            self.wait_for_mutation(
                name, mutation, timeout=timeout, confirm=lambda: not self.get_by_ids(name, ids[-1:])
            )
        return mutation

    async def adelete_by_ids(
        self, name: str, ids: Sequence[str], *, wait: bool = False, timeout: float = 60.0
    ) -> str:
        mutation = await self._ado(self._delete_ids(name, ids))
        if wait:

            async def gone() -> bool:
                return not await self.aget_by_ids(name, ids[-1:])

            await self.await_for_mutation(name, mutation, timeout=timeout, confirm=gone)
        return mutation

    # -- read-your-writes -----------------------------------------------------------------------
    @staticmethod
    def _landed(kind: str, sent: Vector, found: list[Vector]) -> bool:
        if not found:
            return False
        if kind == "insert":
            return True
        got = found[0]
        return got.metadata == (sent.metadata or {}) and all(
            abs(a - b) <= 1e-5 * max(1.0, abs(b)) for a, b in zip(got.values, sent.values, strict=False)
        )

    def _missing(self, kind: str, sent: dict[str, Vector], found: list[Vector]) -> dict[str, Vector]:
        """Of ``sent`` (id -> vector), those not yet visible as written."""
        got = {v.id: v for v in found}
        return {i: v for i, v in sent.items() if not self._landed(kind, v, [got[i]] if i in got else [])}

    def _confirm(self, name: str, kind: str, writes: list[tuple[str, Vector]], timeout: float) -> None:
        """Block until every write is visible. One write: until ``info`` reports its mutation (or its
        last vector reads back as sent). Several, sent concurrently and so applied in any order: until
        each write's last vector reads back as sent, all checked in one ``get_by_ids`` per poll."""
        if len(writes) == 1:
            mutation, last = writes[0]
            self.wait_for_mutation(
                name,
                mutation,
                timeout=timeout,
                confirm=lambda: not self._missing(kind, {last.id: last}, self.get_by_ids(name, [last.id])),
            )
            return
        deadline = time.monotonic() + timeout
        waiting = {last.id: last for _, last in writes}
        while waiting := self._missing(kind, waiting, self.get_by_ids(name, list(waiting))):
            if time.monotonic() >= deadline:
                raise MutationTimeout(f"{len(waiting)} writes not applied to {name!r} within {timeout:g}s")
            time.sleep(self.poll_interval)

    async def _aconfirm(self, name: str, kind: str, writes: list[tuple[str, Vector]], timeout: float) -> None:
        if len(writes) == 1:
            mutation, last = writes[0]

            async def check() -> bool:
                return not self._missing(kind, {last.id: last}, await self.aget_by_ids(name, [last.id]))

            await self.await_for_mutation(name, mutation, timeout=timeout, confirm=check)
            return
        deadline = time.monotonic() + timeout
        waiting = {last.id: last for _, last in writes}
        while waiting := self._missing(kind, waiting, await self.aget_by_ids(name, list(waiting))):
            if time.monotonic() >= deadline:
                raise MutationTimeout(f"{len(waiting)} writes not applied to {name!r} within {timeout:g}s")
            await asyncio.sleep(self.poll_interval)

    def _defer(self, name: str, kind: str, writes: list[tuple[str, Vector]]) -> None:
        with self._deferred_lock:
            self._deferred.setdefault(name, {}).setdefault(kind, []).extend(writes)

    def _take_deferred(self, name: str) -> dict[str, list[tuple[str, Vector]]]:
        """The deferred writes to ``name`` by kind, taken off the record (put back if a wait fails)."""
        with self._deferred_lock:
            return self._deferred.pop(name, {})

    def _restore_deferred(self, name: str, by_kind: dict[str, list[tuple[str, Vector]]]) -> None:
        with self._deferred_lock:
            current = self._deferred.setdefault(name, {})
            for kind, writes in by_kind.items():
                current[kind] = writes + current.get(kind, [])

    def has_deferred_writes(self, name: str) -> bool:
        """Whether writes to ``name`` sent with ``wait="deferred"`` still await :meth:`confirm_writes`."""
        return bool(self._deferred.get(name))

    def confirm_writes(self, name: str, *, timeout: float = 60.0) -> None:
        """Wait until every write to ``name`` sent with ``wait="deferred"`` is searchable (at once when
        there are none): each request's last vector must read back as sent, all checked in one
        ``get_by_ids`` per poll. On :class:`~workersai.errors.MutationTimeout` they stay on record."""
        by_kind = self._take_deferred(name)
        try:
            for kind, writes in by_kind.items():
                self._confirm(name, kind, writes, timeout)
        except BaseException:
            self._restore_deferred(name, by_kind)
            raise

    async def aconfirm_writes(self, name: str, *, timeout: float = 60.0) -> None:
        """Async twin of :meth:`confirm_writes`."""
        by_kind = self._take_deferred(name)
        try:
            for kind, writes in by_kind.items():
                await self._aconfirm(name, kind, writes, timeout)
        except BaseException:
            self._restore_deferred(name, by_kind)
            raise

    def wait_for_mutation(
        self, name: str, mutation_id: str, *, timeout: float = 60.0, confirm: Callable[[], bool] | None = None
    ) -> None:
        """Block until ``info().processedUpToMutation`` is ``mutation_id`` (or ``confirm()`` says the
        write is visible, once the index has processed some later mutation); raises
        :class:`~workersai.errors.MutationTimeout` after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            processed = self.info(name).processed_up_to_mutation
            if processed == mutation_id or (processed is not None and confirm is not None and confirm()):
                return
            if time.monotonic() >= deadline:
                raise MutationTimeout(f"mutation {mutation_id} not applied to {name!r} within {timeout:g}s")
            time.sleep(self.poll_interval)

    async def await_for_mutation(
        self,
        name: str,
        mutation_id: str,
        *,
        timeout: float = 60.0,
        confirm: Callable[[], Any] | None = None,
    ) -> None:
        """Async twin of :meth:`wait_for_mutation` (``confirm`` may be a coroutine function)."""
        deadline = time.monotonic() + timeout
        while True:
            processed = (await self.ainfo(name)).processed_up_to_mutation
            if processed == mutation_id:
                return
            if processed is not None and confirm is not None:
                ok = confirm()
                if asyncio.iscoroutine(ok):
                    ok = await ok
                if ok:
                    return
            if time.monotonic() >= deadline:
                raise MutationTimeout(f"mutation {mutation_id} not applied to {name!r} within {timeout:g}s")
            await asyncio.sleep(self.poll_interval)

    # -- reads ----------------------------------------------------------------------------------
    def _query(
        self,
        name: str,
        vector: Sequence[float],
        top_k: int,
        return_values: bool,
        return_metadata: ReturnMetadata,
        filter: Mapping[str, Any] | None,
        namespace: str | None,
    ) -> _Call[QueryResult]:
        check_index_name(name)
        check_values(list(vector), self._dimensions.get(name), "query")
        check_top_k(top_k, return_values, return_metadata)
        check_namespace(namespace)
        body: dict[str, Any] = {
            "vector": list(vector),
            "topK": top_k,
            "returnValues": return_values,
            "returnMetadata": return_metadata,
        }
        flt = check_filter(filter)
        if flt:
            body["filter"] = flt
        if namespace is not None:
            body["namespace"] = namespace
        return _Call("POST", f"/{name}/query", _model(QueryResult), json=body)

    def query(
        self,
        name: str,
        vector: Sequence[float] | None = None,
        *,
        vector_id: str | None = None,
        top_k: int = 5,
        return_values: bool = False,
        return_metadata: ReturnMetadata = "none",
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> QueryResult:
        """Nearest vectors to ``vector`` (or to the stored vector ``vector_id``)."""
        if vector is None:
            vector = self._by_id(name, vector_id, self.get_by_ids(name, [vector_id]) if vector_id else [])
        return self._do(self._query(name, vector, top_k, return_values, return_metadata, filter, namespace))

    async def aquery(
        self,
        name: str,
        vector: Sequence[float] | None = None,
        *,
        vector_id: str | None = None,
        top_k: int = 5,
        return_values: bool = False,
        return_metadata: ReturnMetadata = "none",
        filter: Mapping[str, Any] | None = None,
        namespace: str | None = None,
    ) -> QueryResult:
        if vector is None:
            found = await self.aget_by_ids(name, [vector_id]) if vector_id else []
            vector = self._by_id(name, vector_id, found)
        return await self._ado(
            self._query(name, vector, top_k, return_values, return_metadata, filter, namespace)
        )

    @staticmethod
    def _by_id(name: str, vector_id: str | None, found: list[Vector]) -> list[float]:
        from .errors import NotFound

        if vector_id is None:
            raise BadInput("query needs a vector or a vector_id")
        if not found:
            raise NotFound(f"no vector {vector_id!r} in {name!r}")
        return found[0].values

    def _get_ids(self, name: str, ids: Sequence[str]) -> _Call[list[Vector]]:
        check_index_name(name)
        return _Call("POST", f"/{name}/get_by_ids", _vectors, json={"ids": [check_id(i) for i in ids]})

    def get_by_ids(self, name: str, ids: Sequence[str]) -> list[Vector]:
        """The stored vectors among ``ids`` (missing ids are left out), fetched 20 ids a request."""
        out: list[Vector] = []
        for start in range(0, len(ids), GET_BY_IDS_BATCH):
            part: list[Vector] = self._do(self._get_ids(name, ids[start : start + GET_BY_IDS_BATCH]))
            out.extend(part)
        return out

    async def aget_by_ids(self, name: str, ids: Sequence[str]) -> list[Vector]:
        parts = await asyncio.gather(
            *(
                self._ado(self._get_ids(name, ids[s : s + GET_BY_IDS_BATCH]))
                for s in range(0, len(ids), GET_BY_IDS_BATCH)
            )
        )
        return [v for part in parts for v in part]

    def _list_page(self, name: str, count: int, cursor: str | None) -> _Call[dict[str, Any]]:
        check_index_name(name)
        params: dict[str, Any] = {"count": count}
        if cursor:
            params["cursor"] = cursor

        def parse(r: Any) -> dict[str, Any]:
            if not isinstance(r, Mapping) or not isinstance(r.get("vectors"), list):
                raise ResponseFormatError("list result without vectors")
            return dict(r)

        return _Call("GET", f"/{name}/list", parse, params=params)

    def list_ids(self, name: str, *, page_size: int = 1000) -> Iterator[str]:
        """Every vector id in the index, following the cursor page by page."""
        cursor: str | None = None
        while True:
            page = self._do(self._list_page(name, page_size, cursor))
            for item in page["vectors"]:
                yield str(item["id"])
            cursor = page.get("nextCursor")
            if not page.get("isTruncated") or not cursor:
                return

    async def alist_ids(self, name: str, *, page_size: int = 1000) -> AsyncIterator[str]:
        cursor: str | None = None
        while True:
            page = await self._ado(self._list_page(name, page_size, cursor))
            for item in page["vectors"]:
                yield str(item["id"])
            cursor = page.get("nextCursor")
            if not page.get("isTruncated") or not cursor:
                return
