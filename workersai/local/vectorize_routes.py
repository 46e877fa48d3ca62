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

VectorizeHandler = Callable[[Request, Decision], Awaitable[Response]]


def vectorize_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Vectorize v2 routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""

    async def body_object(request: Request) -> dict[str, Any]:
        return rules.json_object(await emu.read_body(request, MAX_JSON_BODY_BYTES))

    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(fn, *args)

    def where(request: Request) -> tuple[str, str]:
        return str(request.path_params["account_id"]), str(request.path_params["name"])

    async def indexes(request: Request, decision: Decision) -> Response:
        account = str(request.path_params["account_id"])
        if request.method == "GET":
            return envelope(await call(emu.vectorize_store().list_indexes, account))
        body = await body_object(request)
        name = rules.index_name(body.get("name"))
        config = body.get("config")
        preset = None
        if isinstance(config, dict) and "preset" in config:
            info = get_model(str(config["preset"]))
            preset = info.dimensions if info is not None and info.is_embedding else None
        dims, metric = rules.index_config(config, preset)
        description = body.get("description")
        result = await call(emu.vectorize_store().create_index, account, name, dims, metric, description)
        return envelope(result)

    async def one_index(request: Request, decision: Decision) -> Response:
        if request.method == "DELETE":
            await call(emu.vectorize_store().delete_index, *where(request))
            return envelope(None)
        return envelope(await call(emu.vectorize_store().get_index, *where(request)))

    async def info(request: Request, decision: Decision) -> Response:
        return envelope(await call(emu.vectorize_store().info, *where(request)))

    async def write(request: Request, kind: str) -> Response:
        # Read (capped, with the stall timeout) before any parsing; the multipart parser then reads the
        # body starlette keeps.
        discard = rules.unparsable_behavior(request.query_params.get("unparsable-behavior"))
        raw = await emu.read_body(request, rules.MAX_BYTES_PER_WRITE)
        if request.headers.get("content-type", "").startswith("multipart/form-data"):
            form = await request.form(max_part_size=rules.MAX_BYTES_PER_WRITE)
            part = form.get("vectors")
            if part is None:
                raise rules.invalid("multipart body needs a 'vectors' part")
            raw = await part.read() if hasattr(part, "read") else str(part).encode()
        # Parsed off the event loop (a big body in a worker process, see vectorize_batch): a body is
        # megabytes of numbers, and the loop keeps answering other requests meanwhile.
        batch = await call(parse_write, raw, discard)
        mutation = await call(emu.vectorize_store().write, *where(request), kind, batch)
        return envelope({"mutationId": mutation})

    async def insert(request: Request, decision: Decision) -> Response:
        return await write(request, "insert")

    async def upsert(request: Request, decision: Decision) -> Response:
        return await write(request, "upsert")

    async def query(request: Request, decision: Decision) -> Response:
        q = rules.query(await body_object(request))
        result = await call(
            emu.vectorize_store().query,
            *where(request),
            q["vector"],
            q["top_k"],
            q["return_values"],
            q["return_metadata"],
            q["filter"],
            q["namespace"],
        )
        return envelope(result)

    async def get_by_ids(request: Request, decision: Decision) -> Response:
        ids = rules.ids(await body_object(request))
        return envelope(await call(emu.vectorize_store().get_by_ids, *where(request), ids))

    async def delete_by_ids(request: Request, decision: Decision) -> Response:
        ids = rules.delete_ids(await body_object(request))
        mutation = await call(emu.vectorize_store().delete_ids, *where(request), ids)
        return envelope({"mutationId": mutation})

    async def list_vectors(request: Request, decision: Decision) -> Response:
        count = rules.list_count(request.query_params.get("count"))
        cursor = request.query_params.get("cursor")
        return envelope(await call(emu.vectorize_store().list_ids, *where(request), count, cursor))

    async def metadata_create(request: Request, decision: Decision) -> Response:
        prop, kind = rules.metadata_index(await body_object(request), with_type=True)
        mutation = await call(emu.vectorize_store().create_metadata_index, *where(request), prop, kind)
        return envelope({"mutationId": mutation})

    async def metadata_list(request: Request, decision: Decision) -> Response:
        found = await call(emu.vectorize_store().metadata_indexes, *where(request))
        return envelope({"metadataIndexes": [{"propertyName": p, "indexType": t} for p, t in found.items()]})

    async def metadata_delete(request: Request, decision: Decision) -> Response:
        prop, _ = rules.metadata_index(await body_object(request), with_type=False)
        mutation = await call(emu.vectorize_store().delete_metadata_index, *where(request), prop)
        return envelope({"mutationId": mutation})

    base = prefix + "/vectorize/v2/indexes"
    one = base + "/{name}"

    def r(path: str, handler: VectorizeHandler, *methods: str) -> Route:
        return Route(path, emu.guarded("vectorize", handler), methods=list(methods))

    return [
        r(base, indexes, "GET", "POST"),
        r(one, one_index, "GET", "DELETE"),
        r(one + "/info", info, "GET"),
        r(one + "/insert", insert, "POST"),
        r(one + "/upsert", upsert, "POST"),
        r(one + "/query", query, "POST"),
        r(one + "/get_by_ids", get_by_ids, "POST"),
        r(one + "/delete_by_ids", delete_by_ids, "POST"),
        r(one + "/list", list_vectors, "GET"),
        r(one + "/metadata_index/create", metadata_create, "POST"),
        r(one + "/metadata_index/list", metadata_list, "GET"),
        r(one + "/metadata_index/delete", metadata_delete, "POST"),
    ]
