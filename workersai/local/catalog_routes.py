"""The catalog routes of the emulator: ``GET /ai/models/search`` (filters and pages as the official SDK
sends them) and ``GET /ai/models/schema`` (each model's ``{input, output}`` JSON schemas), both over the
bundled catalog snapshot it serves on ``/ai/run``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..catalog import ModelInfo, models
from .emulator import Emulator
from .faults import Decision
from .model_schemas import author, model_schema, search_entry, task_entry
from .responses import envelope
from .rules import catalog as rules


def _matches(info: ModelInfo, entry: dict[str, object], q: rules.Search) -> bool:
    task = task_entry(info.task)
    if q.task and q.task not in (task["name"].lower(), task["id"]):
        return False
    if q.author and author(info).lower() != q.author:
        return False
    if q.search and q.search not in info.name.lower() and q.search not in str(entry["description"]).lower():
        return False
    # Every model here has source 1 and none is experimental: those filters keep or drop all of them.
    return q.source is None or q.source == entry["source"]


def catalog_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The catalog routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""

    async def models_search(request: Request, decision: Decision) -> Response:
        q = rules.search(request.query_params)
        entries = [(info, search_entry(info)) for info in models().values()]
        found = [entry for info, entry in entries if _matches(info, entry, q)]
        start = (q.page - 1) * q.per_page
        page = found[start : start + q.per_page]
        info = {"page": q.page, "per_page": q.per_page, "count": len(page), "total_count": len(found)}
        return JSONResponse(
            {"result": page, "success": True, "errors": [], "messages": [], "result_info": info}
        )

    async def models_schema(request: Request, decision: Decision) -> Response:
        return envelope(model_schema(rules.schema_model(request.query_params)))

    return [
        Route(prefix + "/ai/models/search", emu.guarded("ai", models_search), methods=["GET"]),
        Route(prefix + "/ai/models/schema", emu.guarded("ai", models_schema), methods=["GET"]),
    ]
