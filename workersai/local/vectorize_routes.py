"""Vectorize v2 routes of the emulator (``/client/v4/accounts/{a}/vectorize/v2/indexes/...``)."""

from __future__ import annotations

import json
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..catalog import get_model
from ..vectorize_limits import (
    MAX_BYTES_PER_WRITE,
    MAX_DIMENSIONS,
    MAX_VECTORS_PER_WRITE,
    METADATA_INDEX_TYPES,
    METRICS,
    check_filter,
    check_index_name,
    check_namespace,
)
from .emulator import Emulator
from .faults import Decision
from .responses import ApiError, envelope
from .vectorize_store import VectorizeError, VectorizeStore, parse_ndjson


def vectorize_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Vectorize v2 routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""

    def store() -> VectorizeStore:
        return emu.vectorize_store()

    def fail(exc: VectorizeError) -> ApiError:
        return ApiError(exc.status, exc.code, exc.message)

    async def body_object(request: Request) -> dict[str, Any]:
        raw = await request.body()
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise ApiError(400, 40026, "vectorize.invalid_body: the body is not valid JSON") from exc
        if not isinstance(body, dict):
            raise ApiError(400, 40026, "vectorize.invalid_body: the body must be an object")
        return body

    async def call(fn: Any, *args: Any) -> Any:
        try:
            return await run_in_threadpool(fn, *args)
        except VectorizeError as exc:
            raise fail(exc) from exc

    def account(request: Request) -> str:
        return str(request.path_params["account_id"])

    def index_name(request: Request) -> str:
        return str(request.path_params["name"])

    async def indexes(request: Request, decision: Decision) -> Response:
        if request.method == "GET":
            return envelope(await call(store().list_indexes, account(request)))
        body = await body_object(request)
        try:
            name = check_index_name(body.get("name"))
        except ValueError as exc:
            raise ApiError(400, 40026, f"vectorize.invalid_name: {exc}") from exc
        config = body.get("config")
        if not isinstance(config, dict):
            raise ApiError(400, 40026, "vectorize.invalid_config: 'config' is required")
        if "preset" in config:
            info = get_model(str(config["preset"]))
            if info is None or not info.is_embedding or info.dimensions is None:
                raise ApiError(400, 40026, f"vectorize.invalid_config: unknown preset {config['preset']!r}")
            dims: Any = info.dimensions
            metric: Any = "cosine"
        else:
            dims, metric = config.get("dimensions"), config.get("metric")
            if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= MAX_DIMENSIONS:
                raise ApiError(
                    400, 40026, f"vectorize.invalid_config: dimensions must be 1..{MAX_DIMENSIONS}"
                )
            if metric not in METRICS:
                raise ApiError(400, 40026, f"vectorize.invalid_config: metric must be one of {METRICS}")
        result = await call(
            store().create_index, account(request), name, dims, metric, body.get("description")
        )
        return envelope(result)

    async def one_index(request: Request, decision: Decision) -> Response:
        if request.method == "DELETE":
            await call(store().delete_index, account(request), index_name(request))
            return envelope(None)
        return envelope(await call(store().get_index, account(request), index_name(request)))

    async def info(request: Request, decision: Decision) -> Response:
        return envelope(await call(store().info, account(request), index_name(request)))

    async def write(request: Request, kind: str) -> Response:
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await request.form(max_part_size=MAX_BYTES_PER_WRITE)
            part = form.get("vectors")
            if part is None:
                raise ApiError(400, 40026, "vectorize.invalid_body: multipart body needs a 'vectors' part")
            raw = await part.read() if hasattr(part, "read") else str(part).encode()
        else:
            raw = await request.body()
        if len(raw) > MAX_BYTES_PER_WRITE:
            raise ApiError(413, 3006, "Request is too large")
        # Parsed in a worker thread, like the store's own work: a body is megabytes of numbers, and the
        # event loop keeps answering other requests meanwhile.
        vectors = await call(parse_ndjson, raw)
        if not vectors:
            raise ApiError(400, 40026, "vectorize.invalid_body: no vectors in the body")
        if len(vectors) > MAX_VECTORS_PER_WRITE:
            raise ApiError(
                400, 40026, f"vectorize.too_many_vectors: at most {MAX_VECTORS_PER_WRITE} a request"
            )
        mutation = await call(store().write, account(request), index_name(request), kind, vectors)
        return envelope({"mutationId": mutation})

    async def insert(request: Request, decision: Decision) -> Response:
        return await write(request, "insert")

    async def upsert(request: Request, decision: Decision) -> Response:
        return await write(request, "upsert")

    async def query(request: Request, decision: Decision) -> Response:
        body = await body_object(request)
        vector = body.get("vector")
        if not isinstance(vector, list) or not all(isinstance(x, (int, float)) for x in vector):
            raise ApiError(400, 40026, "vectorize.invalid_body: 'vector' must be a list of numbers")
        top_k = body.get("topK", 5)
        if isinstance(top_k, bool) or not isinstance(top_k, int):
            raise ApiError(400, 40026, "vectorize.invalid_body: 'topK' must be an integer")
        return_metadata = body.get("returnMetadata", "none")
        if return_metadata is True:
            return_metadata = "all"
        elif return_metadata is False:
            return_metadata = "none"
        if return_metadata not in ("none", "indexed", "all"):
            raise ApiError(
                400, 40026, "vectorize.invalid_body: 'returnMetadata' must be none, indexed or all"
            )
        try:
            flt = check_filter(body.get("filter"))
            check_namespace(body.get("namespace"))
        except ValueError as exc:
            raise ApiError(400, 40026, f"vectorize.invalid_body: {exc}") from exc
        result = await call(
            store().query,
            account(request),
            index_name(request),
            vector,
            top_k,
            bool(body.get("returnValues", False)),
            return_metadata,
            flt,
            body.get("namespace"),
        )
        return envelope(result)

    def ids_of(body: dict[str, Any]) -> list[str]:
        ids = body.get("ids")
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ApiError(400, 40026, "vectorize.invalid_body: 'ids' must be a list of strings")
        return ids

    async def get_by_ids(request: Request, decision: Decision) -> Response:
        ids = ids_of(await body_object(request))
        return envelope(await call(store().get_by_ids, account(request), index_name(request), ids))

    async def delete_by_ids(request: Request, decision: Decision) -> Response:
        ids = ids_of(await body_object(request))
        mutation = await call(store().delete_ids, account(request), index_name(request), ids)
        return envelope({"mutationId": mutation})

    async def list_vectors(request: Request, decision: Decision) -> Response:
        try:
            count = int(request.query_params.get("count", "100"))
        except ValueError as exc:
            raise ApiError(400, 40026, "count must be an integer") from exc
        if not 1 <= count <= 1000:
            raise ApiError(400, 40026, "count must be between 1 and 1000")
        cursor = request.query_params.get("cursor")
        return envelope(await call(store().list_ids, account(request), index_name(request), count, cursor))

    async def metadata_create(request: Request, decision: Decision) -> Response:
        body = await body_object(request)
        prop, kind = body.get("propertyName"), body.get("indexType")
        if not isinstance(prop, str) or not prop or kind not in METADATA_INDEX_TYPES:
            raise ApiError(
                400, 40026, "vectorize.invalid_body: propertyName and indexType (string|number|boolean)"
            )
        mutation = await call(
            store().create_metadata_index, account(request), index_name(request), prop, kind
        )
        return envelope({"mutationId": mutation})

    async def metadata_list(request: Request, decision: Decision) -> Response:
        found = await call(store().metadata_indexes, account(request), index_name(request))
        return envelope({"metadataIndexes": [{"propertyName": p, "indexType": t} for p, t in found.items()]})

    async def metadata_delete(request: Request, decision: Decision) -> Response:
        body = await body_object(request)
        prop = body.get("propertyName")
        if not isinstance(prop, str) or not prop:
            raise ApiError(400, 40026, "vectorize.invalid_body: propertyName is required")
        mutation = await call(store().delete_metadata_index, account(request), index_name(request), prop)
        return envelope({"mutationId": mutation})

    base = prefix + "/vectorize/v2/indexes"
    one = base + "/{name}"

    def r(path: str, handler: Any, *methods: str) -> Route:
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
