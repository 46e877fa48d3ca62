"""The catalog routes of the emulator: ``GET /ai/models/search`` (filters and pages as the official SDK
sends them), ``GET /ai/models/schema`` (each model's ``{input, output}`` JSON schemas),
``GET /ai/tasks/search`` and ``GET /ai/authors/search``, all over the bundled catalog snapshot it serves
on ``/ai/run``.

Tasks and authors: the API reference ("Workers AI > Tasks > Task Search", "Authors > Author Search",
developers.cloudflare.com/api/resources/ai/subresources/authors/) documents ``result`` as an array of
``unknown`` and the SDK reads it as a ``SinglePage[object]`` (cloudflare-python ``resources/ai/tasks.py``,
``authors.py``). The emulator lists each task as the ``task`` object its model entries carry
(``{id, name, description}``) and each author as ``{id, name, description}``: a shape chosen here, not
documented."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..catalog import ModelInfo, models
from .emulator import Emulator
from .faults import Decision
from .model_schemas import author, model_schema, search_entry, task_entry
from .responses import envelope
from .rules import catalog as rules
from .rules import paging


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
        return JSONResponse(paging.listing(*paging.Page(q.page, q.per_page).of(found)))

    async def models_schema(request: Request, decision: Decision) -> Response:
        return envelope(model_schema(rules.schema_model(request.query_params)))

    async def tasks_search(request: Request, decision: Decision) -> Response:
        tasks = sorted({info.task for info in models().values()})
        return envelope([task_entry(task) for task in tasks])

    async def authors_search(request: Request, decision: Decision) -> Response:
        names = sorted({author(info) for info in models().values()})
        return envelope(
            [
                {
                    "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"workersai-local/author/{name}")),
                    "name": name,
                    "description": f"Models by {name} in the catalog snapshot",
                }
                for name in names
            ]
        )

    return [
        Route(prefix + "/ai/tasks/search", emu.guarded("ai", tasks_search), methods=["GET"]),
        Route(prefix + "/ai/authors/search", emu.guarded("ai", authors_search), methods=["GET"]),
        Route(prefix + "/ai/models/search", emu.guarded("ai", models_search), methods=["GET"]),
        Route(prefix + "/ai/models/schema", emu.guarded("ai", models_schema), methods=["GET"]),
    ]
