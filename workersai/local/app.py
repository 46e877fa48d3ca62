"""The emulator's ASGI app (starlette): the Workers AI and Vectorize REST APIs on the same paths, envelope,
status codes and error codes as Cloudflare's, backed by the local embedding model and generator.

Routes (``{a}`` is the account id; any id is accepted):

- ``POST /client/v4/accounts/{a}/ai/run/{model}``: embeddings and text generation (JSON or SSE)
- ``POST /client/v4/accounts/{a}/ai/v1/chat/completions`` and ``/ai/v1/embeddings``: OpenAI-compatible
- ``POST /v1/{a}/{gateway}/workers-ai/{model}``: the same through an AI Gateway, with its cache
  (all in :mod:`workersai.local.ai_routes`); on the standard paths, a ``cf-aig-gateway-id`` header does
  the same; ``GET /client/v4/accounts/{a}/ai-gateway/gateways/{gateway}/logs/{id}`` reads a gateway's
  log entry (:mod:`workersai.local.gateway`)
- ``GET  /client/v4/accounts/{a}/ai/models/search`` and ``/ai/models/schema``: the catalog
  (:mod:`workersai.local.catalog_routes`); ``/ai/tomarkdown`` and ``/ai/tomarkdown/supported``
  (:mod:`workersai.local.markdown_routes`)
- ``/client/v4/accounts/{a}/vectorize/v2/...``: Vectorize (see :mod:`workersai.local.vectorize_routes`)
- ``/client/v4/accounts/{a}/d1/database/...``: D1 on SQLite (see :mod:`workersai.local.d1_routes`)
- ``/client/v4/accounts/{a}/ai-search/...``: AI Search (see :mod:`workersai.local.ai_search_routes`)
- ``/client/v4/accounts/{a}/browser-rendering/...`` (and ``browser-run/``): Browser Run on a real
  headless Chromium (see :mod:`workersai.local.browser_routes`)
- ``/__local__/faults`` (GET, POST, DELETE), ``/__local__/stats`` and ``/__local__/health``: control
- ``/__local__/rate-limits`` (GET, POST ``{"window_s", "scale"}``, DELETE): the rate limits of
  ``--rate-limits`` turned on, changed or off while the emulator runs
- ``/__local__/batches``: hold Batch API batches at a stage (:mod:`workersai.local.batch_queue`)
- ``/__local__/reset`` (POST): no scripts, no faults, an empty request log (a test's set-up undone)
- ``/__local__/``: the dashboard (:mod:`workersai.local.dashboard`), HTML
- ``/__local__/scripts`` (GET, POST, DELETE): scripted answers (:mod:`workersai.local.scripts`)
- ``/__local__/requests`` (GET with ``model``, ``path``, ``method``, ``limit``; DELETE): the requests
  served (:mod:`workersai.local.request_log`, also ``app.state.request_log``)

With ``--record DIR`` or ``--replay DIR`` every ``/client/v4/...`` path is instead forwarded to the real
API and recorded, or answered from a recording (:mod:`workersai.local.record_routes`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .ai_routes import ai_routes
from .ai_search_routes import ai_search_routes
from .batch_queue import batch_control_routes
from .browser_engine import BrowserEngine
from .browser_routes import browser_routes
from .catalog_routes import catalog_routes
from .d1_routes import d1_routes
from .dashboard import dashboard_routes
from .embeddings import Embedder
from .emulator import Emulator, EmulatorConfig
from .faults import FaultPlan
from .gateway import gateway_routes
from .markdown_routes import markdown_routes
from .request_log import RecordRequests
from .responses import ApiError, envelope, error_response
from .rules.rate_limits import RateLimits
from .scripts import Script
from .vectorize_routes import vectorize_routes

__all__ = ["EmulatorConfig", "create_app"]


def control_routes(emu: Emulator) -> list[Route]:
    """``/__local__/*``: the fault plan, request counters, the request log and a health check."""

    async def faults(request: Request) -> Response:
        try:
            emu.check_auth(request)
            if request.method == "POST":
                emu.faults.set(FaultPlan.from_json(await emu.json_body(request)))
            elif request.method == "DELETE":
                emu.faults.set(FaultPlan())
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except (ValueError, TypeError) as exc:
            return error_response(400, 5006, f"bad fault plan: {exc}")
        return envelope(
            {
                **emu.faults.plan.to_json(),
                "injected": emu.faults.injected,
                "lost_answers": emu.faults.lost_answers,
            }
        )

    async def health(request: Request) -> Response:
        return envelope({"status": "ok"})

    async def stats(request: Request) -> Response:
        """Request counters and the language model's (tokens generated, generations running);
        ``DELETE`` resets the high-water mark."""
        try:
            emu.check_auth(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if request.method == "DELETE":
            emu.stats["max_in_flight"] = emu.stats["in_flight"]
        return envelope({**emu.stats, **emu.lm_stats()})

    async def rate_limits(request: Request) -> Response:
        """The rate limits: ``POST {"window_s": 60, "scale": 1}`` (new, empty windows), ``DELETE`` off."""
        try:
            emu.check_auth(request)
            if request.method == "POST":
                body = await emu.json_body(request)
                if not isinstance(body, dict) or set(body) - {"window_s", "scale"}:
                    raise ValueError('the body is {"window_s": seconds, "scale": factor}')
                emu.rate_limits = RateLimits(
                    window_s=float(body.get("window_s", 60.0)),
                    scale=float(body.get("scale", 1.0)),
                    clock=emu.config.clock,
                )
            elif request.method == "DELETE":
                emu.rate_limits = None
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except (ValueError, TypeError) as exc:
            return error_response(400, 5006, f"bad rate limits: {exc}")
        limits = emu.rate_limits
        return envelope(None if limits is None else {"window_s": limits.window_s, "scale": limits.scale})

    async def requests(request: Request) -> Response:
        """The requests served, oldest first (``?model=``, ``?path=``, ``?method=``: only those;
        ``?limit=n``: the n most recent); ``DELETE`` empties the log."""
        try:
            emu.check_auth(request)
            query = request.query_params
            limit = int(query["limit"]) if "limit" in query else None
            if limit is not None and limit < 0:
                raise ValueError("limit must be >= 0")
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except ValueError as exc:
            return error_response(400, 5006, f"bad query: {exc}")
        if request.method == "DELETE":
            emu.request_log.clear()
            return envelope([])
        found = emu.request_log.filter(query.get("model"), query.get("path"), query.get("method"))
        if limit is not None:
            found = found[len(found) - limit :] if limit else []
        return envelope([entry.to_json() for entry in found])

    async def scripts(request: Request) -> Response:
        """Scripted answers (:mod:`workersai.local.scripts`): ``POST`` one script or a list (added after
        those in force), ``GET`` those in force, ``DELETE`` them all."""
        try:
            emu.check_auth(request)
            if request.method == "POST":
                body = await emu.json_body(request)
                added = [Script.from_json(s) for s in (body if isinstance(body, list) else [body])]
                for script in added:
                    emu.scripts.add(script)
                return envelope([s.to_json() for s in added])
            if request.method == "DELETE":
                emu.scripts.clear()
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        except (ValueError, TypeError) as exc:
            return error_response(400, 5006, f"bad script: {exc}")
        return envelope([s.to_json() for s in emu.scripts.all()])

    async def reset(request: Request) -> Response:
        """What a test set up, gone in one request: the scripts, the fault plan, the request log."""
        try:
            emu.check_auth(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        emu.scripts.clear()
        emu.faults.set(FaultPlan())
        emu.request_log.clear()
        return envelope({"injected": emu.faults.injected})

    return [
        Route("/__local__/reset", reset, methods=["POST"]),
        Route("/__local__/scripts", scripts, methods=["GET", "POST", "DELETE"]),
        Route("/__local__/requests", requests, methods=["GET", "DELETE"]),
        Route("/__local__/rate-limits", rate_limits, methods=["GET", "POST", "DELETE"]),
        Route("/__local__/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/__local__/health", health, methods=["GET"]),
        Route("/__local__/stats", stats, methods=["GET", "DELETE"]),
    ]


def full_routes(emu: Emulator, prefix: str, browser: BrowserEngine) -> list[Route]:
    """Every emulated service's routes, and the control routes."""
    return (
        ai_routes(emu, prefix)
        + catalog_routes(emu, prefix)
        + markdown_routes(emu, prefix)
        + control_routes(emu)
        + batch_control_routes(emu)
        + vectorize_routes(emu, prefix)
        + d1_routes(emu, prefix)
        + ai_search_routes(emu, prefix)
        + gateway_routes(emu, prefix)
        + browser_routes(emu, prefix, browser)
    )


def create_app(config: EmulatorConfig, embedder: Embedder | None = None) -> Starlette:
    """The emulator app for ``config`` (in ``--record`` or ``--replay`` mode, a recorder or a replay of
    the Cloudflare API instead of the emulated services)."""
    emu = Emulator(config, embedder)
    browser = BrowserEngine()  # Browser Run's Chromium, started on the first page asked for
    if config.record_dir is not None and config.replay_dir is not None:
        raise ValueError("record or replay, not both")
    prefix = "/client/v4/accounts/{account_id}"
    if config.record_dir is not None or config.replay_dir is not None:
        from .record_routes import record_routes, replay_routes

        # Every Cloudflare API path goes to the upstream or the recording; the control routes stay.
        api = record_routes(emu) if config.record_dir is not None else replay_routes(emu)
        routes = control_routes(emu) + api
    else:
        routes = full_routes(emu, prefix, browser)
    routes += dashboard_routes(emu)

    async def not_found(request: Request, exc: Exception) -> Response:
        # As api.cloudflare.com answers a path it has no route for: 400 with 7003 and 7000 (seen in
        # captures, e.g. cloudflare/cloudflare-go#118 and cloudflare/workers-sdk#2100).
        path = request.url.path
        return JSONResponse(
            {
                "result": None,
                "success": False,
                "errors": [
                    {
                        "code": 7003,
                        "message": f"Could not route to {path}, perhaps your object identifier is invalid?",
                    },
                    {"code": 7000, "message": "No route for that URI"},
                ],
                "messages": [],
            },
            400,
        )

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return error_response(405, 10405, "Method not allowed")

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(browser.close)  # Browser Run's Chromium, if it was started

    app = Starlette(
        routes=routes,
        exception_handlers={404: not_found, 405: method_not_allowed},
        middleware=[Middleware(RecordRequests, log=emu.request_log)],
        lifespan=lifespan,
    )
    app.state.emulator = emu
    app.state.request_log = emu.request_log
    return app
