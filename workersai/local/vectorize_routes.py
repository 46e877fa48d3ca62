"""Vectorize v2 routes of the emulator (``/client/v4/accounts/{a}/vectorize/v2/indexes/...``).

Requests are checked by :mod:`workersai.local.rules.vectorize` (the service's rules, stated by the
emulator), then served by :class:`~workersai.local.vectorize_store.VectorizeStore` in a worker thread.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..catalog import get_model
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .faults import Decision
from .responses import envelope
from .rules import vectorize as rules
from .vectorize_batch import parse_write
from .vectorize_store import VectorizeStore

VectorizeHandler = Callable[[Request, Decision], Awaitable[Response]]


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker thread: every store call, so the event loop keeps serving."""
    return await run_in_threadpool(fn, *args)


def where(request: Request) -> tuple[str, str]:
    """The account and index name of the path."""
    return str(request.path_params["account_id"]), str(request.path_params["name"])


def preset_dimensions(config: Any) -> int | None:
    """The dimensions of ``config.preset`` (an embedding model of the catalog), or None when there is
    no preset or it is not an embedding model."""
    if not isinstance(config, dict) or "preset" not in config:
        return None
    info = get_model(str(config["preset"]))
    return info.dimensions if info is not None and info.is_embedding else None


async def write_body(emu: Emulator, request: Request) -> bytes:
    """The NDJSON of an insert or upsert: the body, or its ``vectors`` part when it is multipart. Read
    (capped, with the stall timeout) before any parsing; the multipart parser then reads the body
    starlette keeps."""
    raw = await emu.read_body(request, rules.MAX_BYTES_PER_WRITE)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return raw
    form = await request.form(max_part_size=rules.MAX_BYTES_PER_WRITE)
    part = form.get("vectors")
    if part is None:
        raise rules.invalid("multipart body needs a 'vectors' part")
    return await part.read() if hasattr(part, "read") else str(part).encode()


class VectorizeHandlers:
    """One handler per route; each checks the request (:mod:`.rules.vectorize`) and hands the work to
    the store in a worker thread."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def store(self) -> VectorizeStore:
        return self.emu.vectorize_store()

    async def body_object(self, request: Request) -> dict[str, Any]:
        return rules.json_object(await self.emu.read_body(request, MAX_JSON_BODY_BYTES))

    # -- indexes -------------------------------------------------------------------------------
    async def indexes(self, request: Request, decision: Decision) -> Response:
        if request.method == "GET":
            return await self.list_indexes(request)
        return await self.create_index(request)

    async def list_indexes(self, request: Request) -> Response:
        return envelope(await call(self.store().list_indexes, str(request.path_params["account_id"])))

    async def create_index(self, request: Request) -> Response:
        body = await self.body_object(request)
        name = rules.index_name(body.get("name"))
        config = body.get("config")
        dims, metric = rules.index_config(config, preset_dimensions(config))
        account = str(request.path_params["account_id"])
        description = body.get("description")
        return envelope(await call(self.store().create_index, account, name, dims, metric, description))

    async def one_index(self, request: Request, decision: Decision) -> Response:
        if request.method == "DELETE":
            await call(self.store().delete_index, *where(request))
            return envelope(None)
        return envelope(await call(self.store().get_index, *where(request)))

    async def info(self, request: Request, decision: Decision) -> Response:
        return envelope(await call(self.store().info, *where(request)))

    # -- vectors -------------------------------------------------------------------------------
    async def write(self, request: Request, kind: str) -> Response:
        discard = rules.unparsable_behavior(request.query_params.get("unparsable-behavior"))
        raw = await write_body(self.emu, request)
        # Parsed off the event loop (a big body in a worker process, see vectorize_batch): a body is
        # megabytes of numbers, and the loop keeps answering other requests meanwhile.
        batch = await call(parse_write, raw, discard)
        mutation = await call(self.store().write, *where(request), kind, batch)
        return envelope({"mutationId": mutation})

    async def insert(self, request: Request, decision: Decision) -> Response:
        return await self.write(request, "insert")

    async def upsert(self, request: Request, decision: Decision) -> Response:
        return await self.write(request, "upsert")

    async def query(self, request: Request, decision: Decision) -> Response:
        q = rules.query(await self.body_object(request))
        options = (q["top_k"], q["return_values"], q["return_metadata"], q["filter"], q["namespace"])
        return envelope(await call(self.store().query, *where(request), q["vector"], *options))

    async def get_by_ids(self, request: Request, decision: Decision) -> Response:
        ids = rules.ids(await self.body_object(request))
        return envelope(await call(self.store().get_by_ids, *where(request), ids))

    async def delete_by_ids(self, request: Request, decision: Decision) -> Response:
        ids = rules.delete_ids(await self.body_object(request))
        mutation = await call(self.store().delete_ids, *where(request), ids)
        return envelope({"mutationId": mutation})

    async def list_vectors(self, request: Request, decision: Decision) -> Response:
        count = rules.list_count(request.query_params.get("count"))
        cursor = request.query_params.get("cursor")
        return envelope(await call(self.store().list_ids, *where(request), count, cursor))

    # -- metadata indexes ----------------------------------------------------------------------
    async def metadata_create(self, request: Request, decision: Decision) -> Response:
        prop, kind = rules.metadata_index(await self.body_object(request), with_type=True)
        mutation = await call(self.store().create_metadata_index, *where(request), prop, kind)
        return envelope({"mutationId": mutation})

    async def metadata_list(self, request: Request, decision: Decision) -> Response:
        found = await call(self.store().metadata_indexes, *where(request))
        return envelope({"metadataIndexes": [{"propertyName": p, "indexType": t} for p, t in found.items()]})

    async def metadata_delete(self, request: Request, decision: Decision) -> Response:
        prop, _ = rules.metadata_index(await self.body_object(request), with_type=False)
        mutation = await call(self.store().delete_metadata_index, *where(request), prop)
        return envelope({"mutationId": mutation})


def vectorize_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Vectorize v2 routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""
    h = VectorizeHandlers(emu)
    base = prefix + "/vectorize/v2/indexes"
    one = base + "/{name}"

    def r(path: str, handler: VectorizeHandler, *methods: str) -> Route:
        return Route(path, emu.guarded("vectorize", handler), methods=list(methods))

    return [
        r(base, h.indexes, "GET", "POST"),
        r(one, h.one_index, "GET", "DELETE"),
        r(one + "/info", h.info, "GET"),
        r(one + "/insert", h.insert, "POST"),
        r(one + "/upsert", h.upsert, "POST"),
        r(one + "/query", h.query, "POST"),
        r(one + "/get_by_ids", h.get_by_ids, "POST"),
        r(one + "/delete_by_ids", h.delete_by_ids, "POST"),
        r(one + "/list", h.list_vectors, "GET"),
        r(one + "/metadata_index/create", h.metadata_create, "POST"),
        r(one + "/metadata_index/list", h.metadata_list, "GET"),
        r(one + "/metadata_index/delete", h.metadata_delete, "POST"),
    ]
