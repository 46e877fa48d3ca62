"""The Vectorize v2 client (``client.vectorize``): indexes, metadata indexes, writes, reads.

Each operation is built once (a :class:`~.flows.Call`, or a flow of several) and run by the sync or the
async runner over the parent :class:`~workersai.WorkersAI` client's pool, retries and typed errors.
Input is checked before any request (:mod:`~.checks`, :mod:`~.filters`). Writes are asynchronous in
Vectorize; ``wait=True`` returns once the index has applied them (:mod:`~.consistency`).

Every public method has an async twin named with an ``a`` in front; the twins share everything but the
runner.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from ..errors import BadInput, NotFound
from ..transport import unwrap_envelope
from . import models, reads, writes
from .batching import Batch, VectorLike, Wait, andjson_batches, check_wait, ndjson_batches
from .checks import (
    MAX_VECTORS_PER_WRITE,
    METADATA_INDEX_TYPES,
    METRICS,
    check_dimensions,
    check_id,
    check_index_name,
    check_namespace,
    check_top_k,
    check_values,
    plain_values,
)
from .consistency import Mutation, MutationLog, Written, confirm, forget, log_for
from .filters import FilterNotIndexed, check_filter
from .flows import Call, Flow, Request, Sendable, aiterate, arun, iterate, run
from .models import IndexDescription, IndexInfo, Metric, QueryResult, ReturnMetadata, Vector

if TYPE_CHECKING:
    from ..client import WorkersAI

T = TypeVar("T")
DELETE_BATCH = 1000


class Vectorize:
    """Vectorize v2 operations for the parent client's account (``client.vectorize``).

    ``poll_interval`` is how often a waited write asks the index how far it has applied mutations.
    """

    def __init__(self, client: WorkersAI, *, poll_interval: float = 0.05) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self._dimensions: dict[str, int] = {}
        self._indexed: dict[str, dict[str, str]] = {}  # metadata indexes by index, read on a filter miss

    # -- running --------------------------------------------------------------------------------
    def _url(self, path: str) -> str:
        return self.client.account_url("vectorize/v2/indexes" + path)

    def _log(self, name: str) -> MutationLog:
        return log_for(self._url(f"/{name}"))

    @staticmethod
    def _options(call: Call[Any]) -> dict[str, Any]:
        headers = {"Content-Type": call.content_type} if call.content_type else None
        return {
            "json": call.json,
            "content": call.content,
            "params": call.params,
            "headers": headers,
        }

    def _do(self, call: Call[T]) -> T:
        response = self.client.transport.request(call.method, self._url(call.path), **self._options(call))
        return call.parse(unwrap_envelope(response))

    async def _ado(self, call: Call[T]) -> T:
        response = await self.client.transport.arequest(
            call.method, self._url(call.path), **self._options(call)
        )
        return call.parse(unwrap_envelope(response))

    def _send(self, item: Sendable) -> Any:
        if isinstance(item, Mutation):
            return item.log.send(item, self._do)
        return self._do(item)

    async def _asend(self, item: Sendable) -> Any:
        if isinstance(item, Mutation):
            return await item.log.asend(item, self._ado)
        return await self._ado(item)

    def _run(self, flow: Flow[T], source: Iterable[Any] = ()) -> T:
        return run(flow, self._send, source=source, concurrency=self.client.max_concurrency)

    async def _arun(self, flow: Flow[T], source: Iterable[Any] | AsyncIterable[Any] = ()) -> T:
        return await arun(flow, self._asend, source=source, concurrency=self.client.max_concurrency)

    # -- index management -----------------------------------------------------------------------
    def _remember(self, name: str, desc: IndexDescription) -> IndexDescription:
        self._dimensions[name] = desc.dimensions
        return desc

    def _create(
        self, name: str, dimensions: int | None, metric: Metric, preset: str | None, description: str | None
    ) -> Call[IndexDescription]:
        check_index_name(name)
        if preset is not None:
            config: dict[str, Any] = {"preset": preset}
        else:
            check_dimensions(dimensions)
            if metric not in METRICS:
                raise BadInput(f"metric must be one of {METRICS}, got {metric!r}")
            config = {"dimensions": dimensions, "metric": metric}
        body: dict[str, Any] = {"name": name, "config": config}
        if description:
            body["description"] = description
        return Call("POST", "", lambda r: self._remember(name, models.description(r)), json=body)

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

    def _get(self, name: str) -> Call[IndexDescription]:
        check_index_name(name)
        return Call("GET", f"/{name}", lambda r: self._remember(name, models.description(r)))

    def get_index(self, name: str) -> IndexDescription:
        return self._do(self._get(name))

    async def aget_index(self, name: str) -> IndexDescription:
        return await self._ado(self._get(name))

    def list_indexes(self) -> list[IndexDescription]:
        return self._do(Call("GET", "", models.descriptions))

    async def alist_indexes(self) -> list[IndexDescription]:
        return await self._ado(Call("GET", "", models.descriptions))

    def _delete(self, name: str) -> Call[None]:
        check_index_name(name)

        def deleted(result: Any) -> None:
            self._dimensions.pop(name, None)
            forget(self._url(f"/{name}"))  # nothing left to wait for

        return Call("DELETE", f"/{name}", deleted)

    def delete_index(self, name: str) -> None:
        self._do(self._delete(name))

    async def adelete_index(self, name: str) -> None:
        await self._ado(self._delete(name))

    def _info(self, name: str) -> Call[IndexInfo]:
        check_index_name(name)
        return Call("GET", f"/{name}/info", models.model(IndexInfo))

    def info(self, name: str) -> IndexInfo:
        """Vector count, dimensions and the last processed mutation."""
        return self._do(self._info(name))

    async def ainfo(self, name: str) -> IndexInfo:
        return await self._ado(self._info(name))

    # -- waiting for writes ---------------------------------------------------------------------
    def _mutate(self, name: str, call: Call[str], wait: bool, timeout: float) -> Flow[str]:
        return writes.mutate(
            self._log(name),
            call,
            wait=wait,
            info=self._info(name),
            index=name,
            timeout=timeout,
            poll_interval=self.poll_interval,
        )

    def _wait_for(self, name: str, mutation_id: str, timeout: float) -> Flow[None]:
        log = self._log(name)
        return confirm(
            log,
            self._info(name),
            [log.target(mutation_id)],
            index=name,
            timeout=timeout,
            poll_interval=self.poll_interval,
        )

    def wait_for_mutation(self, name: str, mutation_id: str, *, timeout: float = 60.0) -> None:
        """Block until the index has applied ``mutation_id`` (a write of this process is known applied
        once any later write of it is); :class:`~workersai.errors.MutationTimeout` after ``timeout``."""
        self._run(self._wait_for(name, mutation_id, timeout))

    async def await_for_mutation(self, name: str, mutation_id: str, *, timeout: float = 60.0) -> None:
        """Async twin of :meth:`wait_for_mutation`."""
        await self._arun(self._wait_for(name, mutation_id, timeout))

    def _confirm_deferred(self, name: str, timeout: float) -> tuple[MutationLog, list[Written], Flow[None]]:
        log = self._log(name)
        taken = log.take_deferred()
        flow = confirm(
            log, self._info(name), taken, index=name, timeout=timeout, poll_interval=self.poll_interval
        )
        return log, taken, flow

    def has_deferred_writes(self, name: str) -> bool:
        """Whether writes to ``name`` sent with ``wait="deferred"`` still await :meth:`confirm_writes`."""
        return self._log(name).has_deferred()

    def confirm_writes(self, name: str, *, timeout: float = 60.0) -> None:
        """Wait until every write to ``name`` sent with ``wait="deferred"`` (by any client of this
        process) is applied; at once when there are none. On
        :class:`~workersai.errors.MutationTimeout` they stay on record."""
        log, taken, flow = self._confirm_deferred(name, timeout)
        try:
            self._run(flow)
        except BaseException:
            log.restore_deferred(taken)
            raise

    async def aconfirm_writes(self, name: str, *, timeout: float = 60.0) -> None:
        """Async twin of :meth:`confirm_writes`."""
        log, taken, flow = self._confirm_deferred(name, timeout)
        try:
            await self._arun(flow)
        except BaseException:
            log.restore_deferred(taken)
            raise

    # -- metadata indexes -----------------------------------------------------------------------
    def _md_create(self, name: str, prop: str, kind: str, wait: bool) -> Flow[str]:
        check_index_name(name)
        if not isinstance(prop, str) or not prop or kind not in METADATA_INDEX_TYPES:
            raise BadInput(f"metadata index needs a property name and a type in {METADATA_INDEX_TYPES}")
        body = {"propertyName": prop, "indexType": kind}
        self._indexed.pop(name, None)
        call = Call("POST", f"/{name}/metadata_index/create", models.mutation_id, json=body)
        return self._mutate(name, call, wait, 60.0)

    def create_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False
    ) -> str:
        """Make ``property_name`` filterable (for vectors written from now on); returns the mutation id."""
        return self._run(self._md_create(name, property_name, index_type, wait))

    async def acreate_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False
    ) -> str:
        return await self._arun(self._md_create(name, property_name, index_type, wait))

    def _md_list(self, name: str) -> Call[dict[str, str]]:
        check_index_name(name)

        def keep(result: Any) -> dict[str, str]:
            self._indexed[name] = models.metadata_indexes(result)
            return self._indexed[name]

        return Call("GET", f"/{name}/metadata_index/list", keep)

    def _filterable(self, name: str, flt: Mapping[str, Any] | None) -> Flow[None]:
        """Refuse a filter on a property without a metadata index (the list is cached, and read again
        when a filter names a property it lacks)."""
        if not flt:
            return
        indexed = self._indexed.get(name)
        if indexed is None or not set(flt) <= set(indexed):
            indexed = yield Request(self._md_list(name))
        missing = sorted(set(flt) - set(indexed))
        if missing:
            raise FilterNotIndexed(name, missing)

    def list_metadata_indexes(self, name: str) -> dict[str, str]:
        """``{property: type}`` of the index's metadata indexes."""
        return self._do(self._md_list(name))

    async def alist_metadata_indexes(self, name: str) -> dict[str, str]:
        return await self._ado(self._md_list(name))

    def _md_delete(self, name: str, prop: str, wait: bool) -> Flow[str]:
        check_index_name(name)
        self._indexed.pop(name, None)
        call = Call("POST", f"/{name}/metadata_index/delete", models.mutation_id, json={"propertyName": prop})
        return self._mutate(name, call, wait, 60.0)

    def delete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        return self._run(self._md_delete(name, property_name, wait))

    async def adelete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        return await self._arun(self._md_delete(name, property_name, wait))

    # -- writes ---------------------------------------------------------------------------------
    def _batched(
        self, name: str, path: str, content_type: str, wait: Wait, timeout: float
    ) -> Flow[list[str]]:
        """The flow that posts each batch of its source to ``path``, waited on as ``wait`` says."""

        def call_for(batch: Batch) -> Call[str]:
            return Call(
                "POST", f"/{name}/{path}", models.mutation_id, content=batch.body, content_type=content_type
            )

        return writes.write(
            self._log(name),
            call_for,
            wait=wait,
            concurrency=self.client.max_concurrency,
            info=self._info(name),
            index=name,
            timeout=timeout,
            poll_interval=self.poll_interval,
        )

    def _write(self, name: str, kind: str, wait: Wait, timeout: float, batch_size: int) -> Flow[list[str]]:
        check_index_name(name)
        check_wait(wait)
        if isinstance(batch_size, bool) or not 1 <= batch_size <= MAX_VECTORS_PER_WRITE:
            raise BadInput(f"batch_size must be between 1 and {MAX_VECTORS_PER_WRITE}, got {batch_size}")
        return self._batched(name, kind, "application/x-ndjson", wait, timeout)

    def _write_all(
        self, name: str, kind: str, vectors: Iterable[VectorLike], wait: Wait, timeout: float, batch_size: int
    ) -> list[str]:
        flow = self._write(name, kind, wait, timeout, batch_size)
        return self._run(flow, ndjson_batches(vectors, self._dimensions.get(name), batch_size))

    async def _awrite_all(
        self,
        name: str,
        kind: str,
        vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
        wait: Wait,
        timeout: float,
        batch_size: int,
    ) -> list[str]:
        flow = self._write(name, kind, wait, timeout, batch_size)
        dims = self._dimensions.get(name)
        if isinstance(vectors, AsyncIterable):
            return await self._arun(flow, andjson_batches(vectors, dims, batch_size))
        return await self._arun(flow, ndjson_batches(vectors, dims, batch_size))

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
        ``wait=True`` returns once the index has applied them; ``"deferred"`` once accepted, leaving
        the wait to :meth:`confirm_writes` (many write calls, one wait). An id given twice in one call
        keeps its first values."""
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
        :meth:`insert`. An id given twice in one call ends with its last values."""
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

    def _id_batches(self, name: str, ids: Sequence[str]) -> list[Batch]:
        """``delete_by_ids`` bodies of at most ``DELETE_BATCH`` ids (no service limit is documented;
        the client keeps requests small)."""
        check_index_name(name)
        if isinstance(ids, str):
            raise BadInput("ids must be a list of ids, not one string")
        checked = [check_id(i) for i in ids]
        parts = [checked[s : s + DELETE_BATCH] for s in range(0, len(checked), DELETE_BATCH)] or [[]]
        return [Batch(orjson.dumps({"ids": part}), part, 0) for part in parts]

    def delete_by_ids(
        self, name: str, ids: Sequence[str], *, wait: bool = False, timeout: float = 60.0
    ) -> str:
        """Delete vectors by id, in requests of at most 1000 ids; returns the last request's mutation
        id (``wait=True``: once the index has applied them all)."""
        batches = self._id_batches(name, ids)
        flow = self._batched(name, "delete_by_ids", "application/json", wait, timeout)
        return self._run(flow, batches)[-1]

    async def adelete_by_ids(
        self, name: str, ids: Sequence[str], *, wait: bool = False, timeout: float = 60.0
    ) -> str:
        batches = self._id_batches(name, ids)
        flow = self._batched(name, "delete_by_ids", "application/json", wait, timeout)
        return (await self._arun(flow, batches))[-1]

    # -- reads ----------------------------------------------------------------------------------
    def _query(
        self,
        name: str,
        top_k: int,
        return_values: bool,
        return_metadata: ReturnMetadata,
        filter: Mapping[str, Any] | None,
        namespace: str | None,
    ) -> Callable[[Any], Call[QueryResult]]:
        """A function from a query vector to the query call (everything but the vector checked now)."""
        check_index_name(name)
        check_top_k(top_k, return_values, return_metadata)
        check_namespace(namespace)
        flt = check_filter(filter)

        def call_for(vector: Any) -> Call[QueryResult]:
            values = plain_values(vector)
            check_values(values, self._dimensions.get(name), "query")
            body: dict[str, Any] = {
                "vector": list(values),
                "topK": top_k,
                "returnValues": return_values,
                "returnMetadata": return_metadata,
            }
            if flt:
                body["filter"] = flt
            if namespace is not None:
                body["namespace"] = namespace
            return Call("POST", f"/{name}/query", models.model(QueryResult), json=body)

        return call_for

    def _query_flow(
        self,
        name: str,
        vector: Any,
        vector_id: str | None,
        top_k: int,
        return_values: bool,
        return_metadata: ReturnMetadata,
        filter: Mapping[str, Any] | None,
        namespace: str | None,
    ) -> Flow[QueryResult]:
        call_for = self._query(name, top_k, return_values, return_metadata, filter, namespace)
        yield from self._filterable(name, filter)
        if vector is not None:
            result: QueryResult = yield from _single(call_for(vector))
            return result
        if vector_id is None:
            raise BadInput("query needs a vector or a vector_id")

        def missing() -> Exception:
            return NotFound(f"no vector {vector_id!r} in {name!r}")

        found: QueryResult = yield from reads.query_by_id(
            vector_id, self._get_ids(name, [vector_id]), call_for, missing
        )
        return found

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
        """Nearest vectors to ``vector`` (a list or an array) or to the stored vector ``vector_id``."""
        return self._run(
            self._query_flow(
                name, vector, vector_id, top_k, return_values, return_metadata, filter, namespace
            )
        )

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
        return await self._arun(
            self._query_flow(
                name, vector, vector_id, top_k, return_values, return_metadata, filter, namespace
            )
        )

    def _get_ids(self, name: str, ids: Sequence[str]) -> Call[list[Vector]]:
        return Call("POST", f"/{name}/get_by_ids", models.vectors, json={"ids": list(ids)})

    def _get_flow(self, name: str, ids: Sequence[str]) -> Flow[list[Vector]]:
        check_index_name(name)
        if isinstance(ids, str):
            raise BadInput("ids must be a list of ids, not one string")
        for i in ids:
            check_id(i)
        return reads.get_by_ids(ids, lambda part: self._get_ids(name, part), self.client.max_concurrency)

    def get_by_ids(self, name: str, ids: Sequence[str]) -> list[Vector]:
        """The stored vectors among ``ids`` (missing ids are left out), 20 ids a request, in parallel."""
        return self._run(self._get_flow(name, ids))

    async def aget_by_ids(self, name: str, ids: Sequence[str]) -> list[Vector]:
        return await self._arun(self._get_flow(name, ids))

    def _list_flow(self, name: str, page_size: int) -> Flow[None]:
        check_index_name(name)

        def page_call(cursor: str | None) -> Call[models.IdPage]:
            params: dict[str, Any] = {"count": page_size}
            if cursor:
                params["cursor"] = cursor
            return Call("GET", f"/{name}/list", models.id_page, params=params)

        return reads.list_ids(page_call)

    def list_ids(self, name: str, *, page_size: int = 1000) -> Iterator[str]:
        """Every vector id in the index, following the cursor page by page."""
        yield from iterate(self._list_flow(name, page_size), self._send)

    async def alist_ids(self, name: str, *, page_size: int = 1000) -> AsyncIterator[str]:
        async for vector_id in aiterate(self._list_flow(name, page_size), self._asend):
            yield vector_id


def _single(call: Call[T]) -> Flow[T]:
    """The flow of one request."""
    result: T = yield Request(call)
    return result
