"""The emulator's AI Gateway: per-gateway cache and logs around the Workers AI routes.

A request reaches a gateway in either documented form (:mod:`.rules.gateway`): the ``cf-aig-gateway-id``
header on the standard API path, or the older ``/v1/{account}/{gateway}/workers-ai/{model}`` URL.
Third-party models of AI Gateway's Unified Billing (``openai/gpt-4.1``, the catalog's
``third_party_models``) are answered on ``/ai/v1/chat/completions`` and ``/ai/v1/responses`` in the
OpenAI shape by the same generator, always through a gateway (``default`` unless one is named); no
credits are counted. The
gateway answers a cached request from its cache (``cf-aig-cache-status: HIT``), else runs it; every
answer carries a new ``cf-aig-log-id``, and unless the request said ``cf-aig-collect-log: false`` the log
entry (with the request's ``cf-aig-metadata``) can be read back from
``GET /accounts/{a}/ai-gateway/gateways/{gateway}/logs/{id}`` (fields as the API reference's "Get Gateway
Log Detail": id, cached, created_at, duration, model, path, provider, success, tokens_in, tokens_out,
metadata as a JSON string, status_code; the request and response bodies are not kept).
"""

from __future__ import annotations

import datetime as dt
import json
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..catalog import third_party_models
from .faults import Decision
from .gateway_cache import GatewayCache
from .responses import envelope, error_response
from .rules import Rejected
from .rules import gateway as rules

if TYPE_CHECKING:
    from .emulator import Emulator

DEFAULT_GATEWAY = "default"
"""The gateway third-party requests go through when no ``cf-aig-gateway-id`` names one ("routed through
your account's default gateway, which is created automatically on first use": the changelog of
2026-05-21)."""
MAX_LOGS = 10_000
"""Log entries kept (the oldest go first)."""
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


def log_id() -> str:
    """A new log id: 26 Crockford base32 characters, the form of the ids the service sends (ULIDs)."""
    return "".join(secrets.choice(_CROCKFORD) for _ in range(26))


class Gateways:
    """The cache and the logs of every gateway of one emulator (used from its event loop only)."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.cache = GatewayCache(clock=clock)
        """Cached answers, bounded by bytes (:mod:`.gateway_cache`)."""
        self.logs: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()

    async def through(
        self,
        gateway: str,
        request: Request,
        body: bytes,
        model: str | None,
        run: Callable[[], Awaitable[Response]],
    ) -> Response:
        """``run`` the request through ``gateway``: its cache, log id and log entry."""
        asked = rules.read(request.headers)
        started = time.perf_counter()
        where = f"{request.url.path}?{request.url.query}"
        key = f"{gateway}|{asked.cache_key}" if asked.cache_key else f"{gateway}|{where}|{body!r}"
        cached = self.cache.get(key) if asked.cacheable else None
        response: Response
        if cached is not None:
            response = Response(cached.body, 200, media_type=cached.media_type)
            status = "HIT"
        else:
            try:
                response = await run()
            except Rejected as exc:  # an error answer is logged and carries a log id too
                response = error_response(exc.status, exc.code, exc.message)
            status = "MISS" if asked.cacheable else "BYPASS"
            if asked.cacheable and response.status_code == 200 and isinstance(response, JSONResponse):
                self.cache.put(key, bytes(response.body), "application/json", asked.cache_ttl or 0)
        entry = log_id()
        response.headers["cf-aig-cache-status"] = status
        response.headers["cf-aig-log-id"] = entry
        if asked.collect_log:
            self._keep(gateway, entry, request, body, model, response, status == "HIT", asked, started)
        return response

    def _keep(
        self,
        gateway: str,
        entry: str,
        request: Request,
        body: bytes,
        model: str | None,
        response: Response,
        cached: bool,
        asked: rules.GatewayRequest,
        started: float,
    ) -> None:
        if model is None:  # /ai/v1/*: the model is named in the body
            try:
                named = json.loads(body).get("model")
            except (ValueError, AttributeError):
                named = None
            model = named if isinstance(named, str) else None
        tokens_in = tokens_out = None
        if isinstance(response, JSONResponse):
            try:
                answer = json.loads(bytes(response.body))
                usage = (answer.get("result") or answer).get("usage") or {}
                tokens_in = usage.get("prompt_tokens", usage.get("input_tokens"))
                tokens_out = usage.get("completion_tokens", usage.get("output_tokens"))
            except (ValueError, AttributeError):
                pass
        self.logs[(gateway, entry)] = {
            "id": entry,
            "cached": cached,
            "created_at": dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
            "duration": int((time.perf_counter() - started) * 1000),
            "model": model or "",
            "path": request.url.path,
            "provider": "workers-ai",
            "success": 200 <= response.status_code < 300,
            "tokens_in": tokens_in,
            "tokens_out": tokens_out,
            "metadata": json.dumps(asked.metadata) if asked.metadata is not None else None,
            "status_code": response.status_code,
        }
        while len(self.logs) > MAX_LOGS:
            self.logs.popitem(last=False)

    def log_response(self, gateway: str, entry: str) -> Response:
        found = self.logs.get((gateway, entry))
        if found is None:
            return error_response(404, None, "Not Found")
        return envelope(found)


def default_gateway_for(body: bytes) -> str | None:
    """:data:`DEFAULT_GATEWAY` for an OpenAI-compatible request naming a third-party model (one of the
    catalog's ``third_party_models``: Unified Billing, always through a gateway), else None."""
    try:
        named = json.loads(body).get("model")
    except (ValueError, AttributeError):
        return None
    return DEFAULT_GATEWAY if isinstance(named, str) and named in third_party_models() else None


def gateway_routes(emu: Emulator, prefix: str) -> list[Route]:
    """``GET {prefix}/ai-gateway/gateways/{gateway}/logs/{id}``: a log entry of the emulator's gateways."""

    async def get_log(request: Request, decision: Decision) -> Response:
        return emu.gateways.log_response(request.path_params["gateway"], request.path_params["log_id"])

    return [
        Route(
            prefix + "/ai-gateway/gateways/{gateway}/logs/{log_id}",
            emu.guarded("ai-gateway", get_log),
            methods=["GET"],
        )
    ]
