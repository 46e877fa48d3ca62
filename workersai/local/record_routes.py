"""Record and replay: ``workersai-local --record DIR`` forwards every Cloudflare API request
(``/client/v4/...``) to the real API with the caller's own credentials and writes each exchange to DIR;
``workersai-local --replay DIR`` answers from DIR offline, so tests recorded once against Cloudflare run
in CI without an account. The files and the matching: :mod:`workersai.local.cassette`.

Recording: the ``Authorization`` header the client sent is forwarded as it is (the client is configured
with its real token and account id, and only the base URL points here); a request without one gets the
recorder's ``$CLOUDFLARE_API_TOKEN``. A stream is relayed as it arrives and written whole once it ends
(a stream the client leaves early is not written). Replay checks the emulator's own token like every
route, applies its fault plan, and streams a recorded event stream event by event.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from .cassette import (
    ACCOUNT_PLACEHOLDER,
    TOKEN_PLACEHOLDER,
    Cassette,
    Recorder,
    decode_body,
    encode_body,
    kept_response_headers,
    make_exchange,
    scrub,
)
from .emulator import Emulator
from .faults import Decision
from .responses import error_response

log = logging.getLogger("workersai.local")

DEFAULT_UPSTREAM = "https://api.cloudflare.com"
API_PATH = "/client/v4/{path:path}"
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]
REPLAY_MISS_STATUS = 400
"""The status of the answer to a request the replay has no recording for: a client error (no client
retries it), without a Cloudflare error code (none means this), with the header
``x-workersai-local-replay: miss``."""
_NOT_FORWARDED = {
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "transfer-encoding",
    "accept-encoding",
    "authorization",
    "x-workersai-local-faults",
}
UPSTREAM_TIMEOUT = httpx.Timeout(300.0, connect=15.0)
"""A generation may stream for minutes; a connection that cannot be made fails fast."""


def _area(path: str) -> str:
    for area in ("vectorize", "ai-search", "d1", "ai"):
        if f"/{area}/" in path:
            return area
    return "all"


def _token_of(request: Request) -> str | None:
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token if scheme.lower() == "bearer" and token else None


def record_routes(emu: Emulator) -> list[Route]:
    """The catch-all route of ``--record``: every ``/client/v4/...`` request goes to the upstream."""
    config = emu.config
    assert config.record_dir is not None
    recorder = Recorder(config.record_dir)
    upstream = config.upstream.rstrip("/").removesuffix("/client/v4")
    clients: list[httpx.AsyncClient] = []

    def client() -> httpx.AsyncClient:
        if not clients:  # made in the server's event loop, on the first request
            clients.append(httpx.AsyncClient(timeout=UPSTREAM_TIMEOUT))
        return clients[0]

    async def forward(request: Request) -> Response:
        body = await request.body()
        token = _token_of(request) or config.upstream_token or os.environ.get("CLOUDFLARE_API_TOKEN")
        if not token:
            return error_response(
                401,
                10000,
                "workersai-local --record: no credentials to forward: send your Cloudflare API token "
                "(Authorization: Bearer ...) or set CLOUDFLARE_API_TOKEN where workersai-local runs",
            )
        headers = {k: v for k, v in request.headers.items() if k not in _NOT_FORWARDED}
        headers["authorization"] = f"Bearer {token}"
        raw_path = request.scope.get("raw_path") or request.url.path.encode()
        query = request.url.query
        url = upstream + raw_path.decode("latin-1") + (f"?{query}" if query else "")
        exchange, account = make_exchange(
            request.method, request.url.path, query, dict(request.headers), body, token
        )
        secrets = {account or "": ACCOUNT_PLACEHOLDER, token: TOKEN_PLACEHOLDER}
        seq = recorder.next_seq()
        started = time.monotonic()
        try:
            sent = client().build_request(request.method, url, headers=headers, content=body)
            answer = await client().send(sent, stream=True)
        except httpx.HTTPError as exc:
            return error_response(
                502, None, f"workersai-local --record: cannot reach the upstream {upstream}: {exc!r}"
            )
        out_headers = kept_response_headers(dict(answer.headers))
        content_type = answer.headers.get("content-type")

        def finish(data: bytes) -> None:
            exchange.data["response"] = scrub(
                {
                    "status": answer.status_code,
                    "headers": out_headers,
                    "body": decode_body(data, content_type),
                },
                secrets,
            )
            exchange.data["elapsed_ms"] = round((time.monotonic() - started) * 1000, 1)
            exchange.data["recorded_at"] = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
            recorder.write(exchange, seq)

        if (content_type or "").startswith("text/event-stream"):

            async def relay() -> AsyncIterator[bytes]:
                chunks: list[bytes] = []
                try:
                    async for chunk in answer.aiter_bytes():
                        chunks.append(chunk)
                        yield chunk
                finally:
                    await answer.aclose()
                finish(b"".join(chunks))  # reached only when the whole stream was relayed

            return StreamingResponse(relay(), answer.status_code, out_headers)
        try:
            data = await answer.aread()
        except httpx.HTTPError as exc:
            return error_response(
                502, None, f"workersai-local --record: the upstream's answer broke: {exc!r}"
            )
        finally:
            await answer.aclose()
        finish(data)
        return Response(data, answer.status_code, out_headers)

    return [Route(API_PATH, forward, methods=METHODS)]


def replay_routes(emu: Emulator) -> list[Route]:
    """The catch-all route of ``--replay``: every ``/client/v4/...`` request answered from the files."""
    assert emu.config.replay_dir is not None
    cassette = Cassette.load(emu.config.replay_dir)

    async def handler(request: Request, decision: Decision) -> Response:
        exchange, account = make_exchange(
            request.method,
            request.url.path,
            request.url.query,
            dict(request.headers),
            await request.body(),
        )
        found = cassette.answer(exchange)
        if found is None:
            message = cassette.explain_miss(exchange)
            log.warning("%s", message)
            return error_response(REPLAY_MISS_STATUS, None, message, {"x-workersai-local-replay": "miss"})
        response: dict[str, Any] = found.response
        if account:
            response = scrub(response, {ACCOUNT_PLACEHOLDER: account})
        headers = dict(response.get("headers") or {})
        headers["x-workersai-local-replay"] = found.file.name if found.file else "hit"
        body = response.get("body")
        if body and "sse" in body:
            events = [e + "\n\n" for e in str(body["sse"]).split("\n\n") if e.strip()]

            async def stream() -> AsyncIterator[bytes]:
                for event in events:
                    yield event.encode()

            return StreamingResponse(stream(), int(response["status"]), headers)
        return Response(encode_body(body), int(response["status"]), headers)

    async def route(request: Request) -> Response:
        return await emu.guarded(_area(request.url.path), handler)(request)

    return [Route(API_PATH, route, methods=METHODS)]
