"""D1 routes of the emulator (``/client/v4/accounts/{a}/d1/database/...``), on real SQLite.

Requests are checked by :mod:`workersai.local.rules.d1` (the service's rules, stated by the emulator),
then served by :class:`~workersai.local.d1_store.D1Store` in a worker thread.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .d1_store import D1Store
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .faults import Decision
from .responses import FastJSONResponse, envelope
from .rules import d1 as rules

D1Handler = Callable[[Request, Decision], Awaitable[Response]]


_OPENING = threading.Lock()


def d1_store(emu: Emulator) -> D1Store:
    """The emulator's D1 store, opened on first use (kept on the emulator, where the dashboard reads it)."""
    with _OPENING:
        store: D1Store | None = getattr(emu, "d1", None)
        if store is None:
            store = D1Store(emu.config.data_dir)
            emu.d1 = store  # type: ignore[attr-defined]
        return store


def d1_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The D1 routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""

    def store() -> D1Store:
        return d1_store(emu)

    async def call(fn: Callable[..., Any], *args: Any) -> Any:
        return await run_in_threadpool(fn, *args)

    def account(request: Request) -> str:
        return str(request.path_params["account_id"])

    def database(request: Request) -> tuple[str, str]:
        return account(request), str(request.path_params["database_id"])

    async def databases(request: Request, decision: Decision) -> Response:
        if request.method == "POST":
            body = rules.json_object(await emu.read_body(request, MAX_JSON_BODY_BYTES))
            return envelope(await call(store().create, account(request), rules.database_name(body)))
        q = request.query_params
        page = rules.page(q.get("page"), 1, "page")
        per_page = rules.page(q.get("per_page"), 1000, "per_page", ceiling=10000)
        found, total = await call(store().list_databases, account(request), q.get("name"), page, per_page)
        info = {"page": page, "per_page": per_page, "count": len(found), "total_count": total}
        body = {"result": found, "result_info": info, "success": True, "errors": [], "messages": []}
        return FastJSONResponse(body)

    async def one(request: Request, decision: Decision) -> Response:
        if request.method == "DELETE":
            await call(store().delete, *database(request))
            return envelope(None)
        return envelope(await call(store().get, *database(request)))

    async def run(request: Request, raw: bool) -> Response:
        body = rules.json_object(await emu.read_body(request, MAX_JSON_BODY_BYTES))
        statements = rules.statements(body)
        return envelope(await call(store().run, *database(request), statements, raw))

    async def query(request: Request, decision: Decision) -> Response:
        return await run(request, raw=False)

    async def raw(request: Request, decision: Decision) -> Response:
        return await run(request, raw=True)

    base = prefix + "/d1/database"

    def r(path: str, handler: D1Handler, *methods: str) -> Route:
        return Route(path, emu.guarded("d1", handler), methods=list(methods))

    return [
        r(base, databases, "GET", "POST"),
        r(base + "/{database_id}", one, "GET", "DELETE"),
        r(base + "/{database_id}/query", query, "POST"),
        r(base + "/{database_id}/raw", raw, "POST"),
    ]
