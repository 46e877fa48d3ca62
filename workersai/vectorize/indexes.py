"""Index management, metadata indexes and waiting for writes: the index-level half of ``Vectorize``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..errors import BadInput, Conflict, IndexAlreadyExists
from ..flows import Call, Flow, Request
from ..paths import path
from . import results
from .base import VectorizeBase
from .checks import METADATA_INDEX_TYPES, METRICS, check_dimensions, check_index_name
from .consistency import MutationLog, Written, confirm, forget
from .filters import FilterNotIndexed
from .results import IndexDescription, IndexInfo, Metric


class IndexOperations(VectorizeBase):
    """Indexes and their metadata indexes; waiting until writes are applied."""

    # -- index management -----------------------------------------------------------------------
    def _remember(self, name: str, desc: IndexDescription) -> IndexDescription:
        self._dimensions[name] = desc.dimensions
        return desc

    def _create(
        self,
        name: str,
        dimensions: int | None,
        metric: Metric,
        preset: str | None,
        description: str | None,
        exist_ok: bool,
        metadata_indexes: Mapping[str, str] | None,
    ) -> Flow[IndexDescription]:
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
        wanted = dict(metadata_indexes or {})
        for prop, kind in wanted.items():
            self._md_check(prop, kind)
        try:
            created: IndexDescription = yield Request(
                Call("POST", "", lambda r: self._remember(name, results.description(r)), json=body)
            )
        except IndexAlreadyExists as exc:
            if not (exist_ok or exc.after_lost_answer):
                raise
            found: IndexDescription = yield Request(self._get(name))
            # After an attempt whose answer was lost, the index may be that attempt's: it is taken as
            # ours (and given its metadata indexes) when it is as asked for.
            as_asked = preset is not None or (found.dimensions, found.metric) == (dimensions, metric)
            if not (exc.after_lost_answer and as_asked):
                if exist_ok:
                    return found
                raise exc
            created = found
        for prop, kind in wanted.items():
            yield from self._md_create(name, prop, kind, True)
        return created

    def create_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        preset: str | None = None,
        description: str | None = None,
        exist_ok: bool = False,
        metadata_indexes: Mapping[str, str] | None = None,
    ) -> IndexDescription:
        """Create an index from ``dimensions`` and ``metric``, or from an embedding model ``preset``.
        ``exist_ok=True`` returns the existing index of that name instead of raising
        :class:`~workersai.errors.IndexAlreadyExists` (its configuration is not compared).
        ``metadata_indexes`` (``{property: "string" | "number" | "boolean"}``) are created with a new
        index, before any vector is written, and waited for.

        When an attempt's answer was lost (the service may have created the index) and the retry finds
        the name taken, the index is read back and, if it has the dimensions and metric asked for,
        returned as created; a name taken at the first attempt raises as before."""
        flow = self._create(name, dimensions, metric, preset, description, exist_ok, metadata_indexes)
        return self._run(flow)

    async def acreate_index(
        self,
        name: str,
        *,
        dimensions: int | None = None,
        metric: Metric = "cosine",
        preset: str | None = None,
        description: str | None = None,
        exist_ok: bool = False,
        metadata_indexes: Mapping[str, str] | None = None,
    ) -> IndexDescription:
        flow = self._create(name, dimensions, metric, preset, description, exist_ok, metadata_indexes)
        return await self._arun(flow)

    def _get(self, name: str) -> Call[IndexDescription]:
        check_index_name(name)
        return Call(
            "GET", path("/{index}", index=name), lambda r: self._remember(name, results.description(r))
        )

    def get_index(self, name: str) -> IndexDescription:
        return self._do(self._get(name))

    async def aget_index(self, name: str) -> IndexDescription:
        return await self._ado(self._get(name))

    def list_indexes(self) -> list[IndexDescription]:
        return self._do(Call("GET", "", results.descriptions))

    async def alist_indexes(self) -> list[IndexDescription]:
        return await self._ado(Call("GET", "", results.descriptions))

    def _delete(self, name: str) -> Call[None]:
        check_index_name(name)

        def deleted(result: Any) -> None:
            self._dimensions.pop(name, None)
            forget(self._url(path("/{index}", index=name)))  # nothing left to wait for

        return Call("DELETE", path("/{index}", index=name), deleted)

    def delete_index(self, name: str) -> None:
        self._do(self._delete(name))

    async def adelete_index(self, name: str) -> None:
        await self._ado(self._delete(name))

    def info(self, name: str) -> IndexInfo:
        """Vector count, dimensions and the last processed mutation."""
        return self._do(self._info(name))

    async def ainfo(self, name: str) -> IndexInfo:
        return await self._ado(self._info(name))

    # -- waiting for writes ---------------------------------------------------------------------
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
    @staticmethod
    def _md_check(prop: Any, kind: Any) -> None:
        if not isinstance(prop, str) or not prop or kind not in METADATA_INDEX_TYPES:
            raise BadInput(f"metadata index needs a property name and a type in {METADATA_INDEX_TYPES}")

    def _md_create(self, name: str, prop: str, kind: str, wait: bool) -> Flow[str]:
        check_index_name(name)
        self._md_check(prop, kind)
        body = {"propertyName": prop, "indexType": kind}
        self._indexed.pop(name, None)
        call = Call(
            "POST", path("/{index}/metadata_index/create", index=name), results.mutation_id, json=body
        )
        return self._mutate(name, call, wait, 60.0)

    def _md_ensure(self, name: str, prop: str, kind: str, wait: bool, exist_ok: bool) -> Flow[str | None]:
        """Create the metadata index; with ``exist_ok``, a 409 for a property that already has a
        metadata index of that type is success (``None``: no mutation). The emulator answers 409 for an
        existing metadata index, as Cloudflare does (workersai/errors.py, :class:`Conflict`)."""
        try:
            created: str = yield from self._md_create(name, prop, kind, wait)
            return created
        except Conflict as exc:
            if not exist_ok:
                raise
            if self.client.bindings is not None:  # a binding cannot list metadata indexes
                return None
            indexed = yield Request(self._md_list(name))
            if indexed.get(prop) != kind:  # a 409 for another reason, or the property has another type
                raise exc from None
            return None

    def create_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False, exist_ok: bool = False
    ) -> str | None:
        """Make ``property_name`` filterable (for vectors written from now on); returns the mutation id.
        ``exist_ok=True`` returns ``None`` instead of raising :class:`~workersai.errors.Conflict` when
        the property already has a metadata index of ``index_type`` (so a setup script can run twice);
        one of another type still raises."""
        return self._run(self._md_ensure(name, property_name, index_type, wait, exist_ok))

    async def acreate_metadata_index(
        self, name: str, property_name: str, index_type: str, *, wait: bool = False, exist_ok: bool = False
    ) -> str | None:
        return await self._arun(self._md_ensure(name, property_name, index_type, wait, exist_ok))

    def _md_list(self, name: str) -> Call[dict[str, str]]:
        check_index_name(name)

        def keep(result: Any) -> dict[str, str]:
            self._indexed[name] = results.metadata_indexes(result)
            return self._indexed[name]

        return Call("GET", path("/{index}/metadata_index/list", index=name), keep)

    def _filterable(self, name: str, flt: Mapping[str, Any] | None) -> Flow[None]:
        """Refuse a filter on a property without a metadata index (the list is cached, and read again
        when a filter names a property it lacks)."""
        if not flt or self.client.bindings is not None:
            # A Workers binding cannot list metadata indexes (developers.cloudflare.com/vectorize/reference/
            # client-api/): the service checks the filter itself.
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
        call = Call(
            "POST",
            path("/{index}/metadata_index/delete", index=name),
            results.mutation_id,
            json={"propertyName": prop},
        )
        return self._mutate(name, call, wait, 60.0)

    def delete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        return self._run(self._md_delete(name, property_name, wait))

    async def adelete_metadata_index(self, name: str, property_name: str, *, wait: bool = False) -> str:
        return await self._arun(self._md_delete(name, property_name, wait))
