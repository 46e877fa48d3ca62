"""What every route shares: the start-up settings, auth, fault injection, request counters, JSON bodies,
and the Vectorize store."""

from __future__ import annotations

import asyncio
import hmac
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from .embedder import Embedder
from .faults import Decision, FaultInjector, FaultPlan
from .generator import LocalGenerator
from .responses import ApiError, error_response, fault_response
from .vectorize_store import VectorizeStore

Handler = Callable[[Request], Awaitable[Response]]
MAX_BODY_BYTES = 10 * 1024 * 1024
FAULT_HEADER = "x-workersai-local-faults"


@dataclass
class EmulatorConfig:
    """Start-up settings of the emulator."""

    token: str
    gateway_token: str | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    data_dir: Path | None = None
    mutation_delay_ms: float = 50.0


class Emulator:
    """State shared by the routes: auth, faults, models, and (lazily) Vectorize."""

    def __init__(self, config: EmulatorConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self.faults = FaultInjector(config.faults)
        self.embedder = embedder or Embedder()
        self.generator = LocalGenerator(self.embedder)
        self.gateway_cache: dict[str, tuple[float, bytes, str]] = {}
        self.vectorize: VectorizeStore | None = None
        self.stats = {"requests": 0, "in_flight": 0, "max_in_flight": 0}

    def vectorize_store(self) -> VectorizeStore:
        """The Vectorize store, opened on first use."""
        if self.vectorize is None:
            self.vectorize = VectorizeStore(self.config.data_dir, self.config.mutation_delay_ms)
        return self.vectorize

    def check_auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self.config.token.encode()):
            raise ApiError(401, 10000, "Authentication error")

    def guarded(self, area: str, handler: Callable[[Request, Decision], Awaitable[Response]]) -> Handler:
        """Wrap a route with auth, fault injection and envelope errors."""

        async def route(request: Request) -> Response:
            stats = self.stats
            stats["requests"] += 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            try:
                return await guarded_route(request)
            finally:
                stats["in_flight"] -= 1

        async def guarded_route(request: Request) -> Response:
            try:
                self.check_auth(request)
                try:
                    decision = self.faults.decide(area, request.headers.get(FAULT_HEADER))
                except ValueError as exc:
                    raise ApiError(400, 5006, f"bad fault header: {exc}") from exc
                if decision.latency_ms:
                    await asyncio.sleep(decision.latency_ms / 1000)
                if decision.error:
                    return fault_response(decision)
                return await handler(request, decision)
            except ApiError as exc:
                return error_response(exc.status, exc.code, exc.message)

        return route

    async def json_body(self, request: Request) -> Any:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            raise ApiError(413, 3006, "Request is too large")
        if not body.strip():
            raise ApiError(400, 3003, "Missing body")
        try:
            return json.loads(body)
        except ValueError as exc:
            raise ApiError(400, 5006, "AiError: Bad input: body is not valid JSON") from exc
