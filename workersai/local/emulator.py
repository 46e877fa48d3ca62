"""What every route shares: the start-up settings, auth, fault injection, request counters, JSON bodies,
and the Vectorize store."""

from __future__ import annotations

import asyncio
import datetime as dt
import hmac
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from .embeddings import Embedder
from .extractive import LocalGenerator
from .faults import AFTER_HANDLER, Decision, FaultInjector, FaultPlan
from .gateway import Gateways
from .generation import GenerationCancelled
from .generator_choice import GENERATOR_ENV, resolve_generator
from .request_log import RequestLog
from .responses import error_response, fault_response
from .rules import Rejected
from .rules import ai as ai_rules
from .rules.api_limits import ApiRateLimit, ApiRateLimitExceeded
from .rules.lifecycle import check_not_retired
from .rules.rate_limits import RateLimitExceeded, RateLimits
from .scripts import ScriptBook
from .vectorize_store import VectorizeStore

log = logging.getLogger("workersai.local")

Handler = Callable[[Request], Awaitable[Response]]
FAULT_HEADER = "x-workersai-local-faults"
MAX_JSON_BODY_BYTES = 10 * 1000 * 1000
"""The cap on JSON bodies (everything but Vectorize writes, which take 100 MB). Cloudflare documents
no cap for these endpoints; 10 MB is the Batch API's documented payload limit
(developers.cloudflare.com/workers-ai/features/batch-api/), the only one found for a JSON body, and far
above any valid request (a 1536-d query with a 2 KB filter is about 40 KB)."""


@dataclass
class EmulatorConfig:
    """Start-up settings of the emulator."""

    token: str
    gateway_token: str | None = None
    faults: FaultPlan = field(default_factory=FaultPlan)
    data_dir: Path | None = None
    mutation_delay_ms: float = 50.0
    body_timeout_s: float = 30.0
    """How long a request body may stall (no bytes arriving) before it is answered 408."""
    generator: str = field(default_factory=lambda: os.environ.get(GENERATOR_ENV, "auto"))
    """Text generation: "smollm2" (the language model), "extractive" (fast, deterministic, not a
    language model) or "auto" (the language model when its weights are installed)."""
    lm_threads: int = 1
    """BLAS threads for the language model (and, once it is loaded, the whole process). 1 is safe on
    cores shared with other work: OpenBLAS's threads wait for each other by spinning, so two threads
    against a busy second core decode many times slower. 2 decodes about 1.5x faster on idle cores
    (``benchmarks/lm.py``)."""
    rate_limits: bool = False
    """Enforce each model's requests per minute (429/3021 with ``Retry-After``): :mod:`.rules.rate_limits`."""
    rate_window_s: float = 60.0
    """The rate limits' window (a minute at the service; shorter to see sustained behaviour in seconds)."""
    rate_scale: float = 1.0
    """Multiplies every model's limit (per window)."""
    serve_deprecated: bool = False
    """Serve models past their deprecation date instead of the service's 410/5028
    (:mod:`.rules.lifecycle`)."""
    today: dt.date | None = None
    """The date deprecations are read at (None: the real date)."""
    api_rate_limit: bool = False
    """Enforce the Cloudflare API's global budget per token and send its ``Ratelimit`` /
    ``Ratelimit-Policy`` headers on every API answer (:mod:`.rules.api_limits`)."""
    api_rate_quota: int = 1200
    """Requests per token per ``api_rate_window_s`` (the service's: 1,200 per 5 minutes)."""
    api_rate_window_s: float = 300.0
    """The global budget's window, and how long a token is blocked once it is spent."""
    record_dir: Path | None = None
    """``--record``: forward every ``/client/v4/...`` request to ``upstream`` and write each exchange
    here (:mod:`.record_routes`)."""
    replay_dir: Path | None = None
    """``--replay``: answer every ``/client/v4/...`` request from the exchanges recorded here."""
    upstream: str = "https://api.cloudflare.com"
    """Where ``--record`` forwards to."""
    upstream_token: str | None = None
    """The token ``--record`` sends for a request that carries none (else ``$CLOUDFLARE_API_TOKEN``)."""
    clock: Callable[[], float] = time.monotonic
    """The time the rate limits (per model and the global budget) and the gateways' caches are counted
    in (tests inject one)."""


class Emulator:
    """State shared by the routes: auth, faults, models, and (lazily) Vectorize."""

    def __init__(self, config: EmulatorConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self.faults = FaultInjector(config.faults)
        self.embedder = embedder or Embedder()
        self.extractive = LocalGenerator(self.embedder)
        """Also counts tokens where no generation is involved (embeddings' usage)."""
        self.generator_name = resolve_generator(config.generator)
        self._model: Any = None
        self._model_lock = threading.Lock()
        self.gateways = Gateways(config.clock)
        """The AI Gateways' caches and logs (:mod:`.gateway`)."""
        self.vectorize: VectorizeStore | None = None
        self.request_log = RequestLog()
        """The requests served (:mod:`.request_log`; recorded by the app's middleware)."""
        self.scripts = ScriptBook()
        """The scripted answers in force (:mod:`.scripts`)."""
        self.rate_limits = (
            RateLimits(window_s=config.rate_window_s, scale=config.rate_scale, clock=config.clock)
            if config.rate_limits
            else None
        )
        self.api_limit = (
            ApiRateLimit(
                quota=config.api_rate_quota,
                window_s=config.api_rate_window_s,
                block_s=config.api_rate_window_s,
                clock=config.clock,
            )
            if config.api_rate_limit
            else None
        )
        self.stats = {
            "requests": 0,
            "in_flight": 0,
            "max_in_flight": 0,
            "streamed_pieces": 0,
            "rate_limited": 0,
            "api_rate_limited": 0,
            "embedded_texts": 0,
        }
        """Request counters; ``streamed_pieces`` counts the text pieces the language model generated for
        live streams (it stops growing when a client goes away mid-stream); ``rate_limited`` counts the
        requests answered 429/3021 by the rate limits, ``api_rate_limited`` those answered 429/971 by
        the global API budget; ``embedded_texts`` the texts the embedding models were asked to embed
        (every route, the Batch API's too); ``requests:<model>`` the requests that named that model (in
        the path, or in the body of ``/ai/v1/*``)."""

    def count_model_request(self, model: str) -> None:
        """Count one request naming ``model`` (``requests:<model>`` in the stats)."""
        key = f"requests:{model}"
        self.stats[key] = self.stats.get(key, 0) + 1

    @property
    def generator(self) -> Any:
        """What generates text: the extractive generator, or SmolLM2 (loaded on first use from its
        float32 cache in the user's cache dir, which ``install-models`` or the first load wrote once per
        user; not under the data dir, where each data dir converted its own 540 MB copy)."""
        if self.generator_name == "extractive":
            return self.extractive
        with self._model_lock:
            if self._model is None:
                from .lm import SmolLM2Generator

                self._model = SmolLM2Generator(threads=self.config.lm_threads)
            return self._model

    def lm_stats(self) -> dict[str, int]:
        """The language model's counters: tokens generated since it was loaded and generations running
        now (zeros until it is loaded)."""
        engine = getattr(self._model, "engine", None)
        return {
            "generated_tokens": int(getattr(engine, "generated_tokens", 0)),
            "generating": int(getattr(engine, "generating", 0)),
        }

    def vectorize_store(self) -> VectorizeStore:
        """The Vectorize store, opened on first use."""
        if self.vectorize is None:
            self.vectorize = VectorizeStore(self.config.data_dir, self.config.mutation_delay_ms)
        return self.vectorize

    def check_lifecycle(self, model: str) -> None:
        """410/5028 for a model past its deprecation date (:mod:`.rules.lifecycle`)."""
        check_not_retired(model, self.config.today, serve_anyway=self.config.serve_deprecated)

    def check_auth(self, request: Request) -> None:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.encode(), self.config.token.encode()):
            raise Rejected(401, 10000, "Authentication error")

    def guarded(self, area: str, handler: Callable[[Request, Decision], Awaitable[Response]]) -> Handler:
        """Wrap a route with auth, fault injection and envelope errors."""

        async def route(request: Request) -> Response:
            stats = self.stats
            stats["requests"] += 1
            stats["in_flight"] += 1
            stats["max_in_flight"] = max(stats["max_in_flight"], stats["in_flight"])
            try:
                response = await guarded_route(request)
            finally:
                stats["in_flight"] -= 1
            response.headers.update(request.scope.get("workersai.ratelimit", {}))
            return response

        async def guarded_route(request: Request) -> Response:
            try:
                self.check_auth(request)
                if self.api_limit is not None and request.url.path.startswith("/client/v4/"):
                    token = request.headers["authorization"].partition(" ")[2]
                    request.scope["workersai.ratelimit"] = self.api_limit.admit(token)
                model = request.path_params.get("model")
                if area == "ai" and isinstance(model, str):
                    self.check_lifecycle(model)
                    self.count_model_request(model)
                if self.rate_limits is not None and area == "ai" and isinstance(model, str):
                    # Per model named in the path (/ai/run/{model}, the gateway's); /ai/v1/* name it in
                    # the body and are counted once it is read (ai_routes.openai_body).
                    self.rate_limits.admit(model)
                try:
                    decision = self.faults.decide(
                        area, request.headers.get(FAULT_HEADER), model if isinstance(model, str) else None
                    )
                except ValueError as exc:
                    raise Rejected(400, 5006, f"bad fault header: {exc}") from exc
                if decision.latency_ms:
                    await asyncio.sleep(decision.latency_ms / 1000)
                if decision.error in AFTER_HANDLER:
                    # Applied, but the answer is lost: serve the request, then answer with the fault.
                    response = await handler(request, decision)
                    if not 200 <= response.status_code < 300:
                        return response
                    self.faults.answer_lost()
                    return fault_response(replace(decision, error=AFTER_HANDLER[decision.error]))
                if decision.error:
                    return fault_response(decision)
                return await handler(request, decision)
            except ApiRateLimitExceeded as exc:
                self.stats["api_rate_limited"] += 1
                return error_response(exc.status, exc.code, exc.message, exc.headers)
            except RateLimitExceeded as exc:
                self.stats["rate_limited"] += 1
                return error_response(exc.status, exc.code, exc.message, exc.headers)
            except ClientDisconnect:  # the client went away mid-body (killed, timed out): one line
                log.info("client went away before sending all of %s %s", request.method, request.url.path)
                return Response(status_code=499)  # nobody reads it (nginx's "client closed request")
            except GenerationCancelled:  # the client went away mid-generation: the model stopped
                log.info(
                    "client went away during %s %s; generation stopped", request.method, request.url.path
                )
                return Response(status_code=499)
            except Rejected as exc:
                return error_response(exc.status, exc.code, exc.message)

        return route

    @staticmethod
    def check_length(request: Request, cap: int) -> None:
        """Refuse a declared ``Content-Length`` over ``cap`` before reading anything (413/3006)."""
        declared = request.headers.get("content-length")
        if declared is None:
            return
        if not declared.strip().isdigit():
            raise Rejected(400, 3003, "Invalid Content-Length")
        if int(declared) > cap:
            raise Rejected(413, 3006, "Request is too large")

    async def read_body(self, request: Request, cap: int) -> bytes:
        """The body, at most ``cap`` bytes (413/3006 beyond, checked from ``Content-Length`` first and
        again while reading, for chunked bodies), each chunk within ``body_timeout_s`` (408/3007)."""
        self.check_length(request, cap)
        chunks: list[bytes] = []
        size = 0
        stream = request.stream().__aiter__()
        while True:
            try:
                chunk = await asyncio.wait_for(stream.__anext__(), self.config.body_timeout_s)
            except StopAsyncIteration:
                break
            except asyncio.TimeoutError as exc:
                raise Rejected(408, 3007, "Request timeout: the request body stalled") from exc
            size += len(chunk)
            if size > cap:
                raise Rejected(413, 3006, "Request is too large")
            chunks.append(chunk)
        body = b"".join(chunks)
        request._body = body  # what starlette's own body() keeps: form() and body() reuse it
        return body

    async def json_body(self, request: Request) -> Any:
        """A Workers AI JSON body (capped, strictly parsed)."""
        return ai_rules.json_body(await self.read_body(request, MAX_JSON_BODY_BYTES))
