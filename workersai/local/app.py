"""The emulator's ASGI app (starlette): the Workers AI REST API on the same paths, envelope, status codes
and error codes as Cloudflare's, backed by the local embedding model and extractive generator.

Routes (``{a}`` is the account id; any id is accepted):

- ``POST /client/v4/accounts/{a}/ai/run/{model}``: embeddings and text generation (JSON or SSE)
- ``POST /client/v4/accounts/{a}/ai/v1/chat/completions`` and ``/ai/v1/embeddings``: OpenAI-compatible
- ``GET  /client/v4/accounts/{a}/ai/models/search``: the catalog
- ``POST /v1/{a}/{gateway}/workers-ai/{model}``: the same through an AI Gateway, with its cache
- ``/client/v4/accounts/{a}/vectorize/v2/...``: Vectorize (see :mod:`workersai.local.vectorize_routes`)
- ``/__local__/faults`` (GET, POST, DELETE) and ``/__local__/health``: emulator control
"""

from __future__ import annotations

import asyncio
import hmac
import json
import random
import string
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ..catalog import ModelInfo, get_model, models
from ..validation import _MODEL_ID
from .embedder import Embedder
from .encoder import Array
from .faults import ERRORS, Decision, FaultInjector, FaultPlan
from .generator import Generation, LocalGenerator

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


class ApiError(Exception):
    """An error answered in the Cloudflare envelope."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class FastJSONResponse(JSONResponse):
    """A JSON response rendered by orjson (embedding answers are megabytes of floats)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def envelope(result: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"result": result, "success": True, "errors": [], "messages": []}
    return FastJSONResponse(body, status, headers)


def error_response(
    status: int, code: int | None, message: str, headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error = {"code": code, "message": message}
    body = {"result": None, "success": False, "errors": [error], "messages": []}
    return JSONResponse(body, status, headers)


class _ResetResponse(Response):
    """Starts a response and drops the connection before its body is complete."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"result": ', "more_body": True})
        raise ConnectionResetError("injected connection reset")


def fault_response(decision: Decision) -> Response:
    assert decision.error is not None
    status, code, message = ERRORS[decision.error]
    headers = {"retry-after": f"{decision.retry_after:g}"} if decision.retry_after is not None else None
    if decision.error == "reset":
        return _ResetResponse()
    if decision.error == "not-json":
        return Response(message, 200, media_type="text/plain")
    if decision.error == "html-200":
        return HTMLResponse(f"<html><body><p>{message}</p></body></html>", 200)
    if decision.error == "no-result":
        return JSONResponse({"success": True, "errors": [], "messages": []})
    if decision.error == "wrong-shape":
        return JSONResponse({"success": True, "errors": [], "messages": [], "result": [1, 2, 3]})
    if status in (502, 503):
        page = f"<html><head><title>{status} {message}</title></head><body><h1>{message}</h1></body></html>"
        return HTMLResponse(page, status, headers)
    return error_response(status, code, message, headers)


class Emulator:
    """State shared by the routes: auth, faults, models, and (lazily) Vectorize."""

    def __init__(self, config: EmulatorConfig, embedder: Embedder | None = None) -> None:
        self.config = config
        self.faults = FaultInjector(config.faults)
        self.embedder = embedder or Embedder()
        self.generator = LocalGenerator(self.embedder)
        self.gateway_cache: dict[str, tuple[float, bytes, str]] = {}
        self.vectorize: Any = None
        self.stats = {"requests": 0, "in_flight": 0, "max_in_flight": 0}

    # -- request plumbing -----------------------------------------------------------------------
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

    @staticmethod
    def model_info(model: str) -> ModelInfo:
        if not _MODEL_ID.match(model):
            raise ApiError(404, 3042, f"Invalid model ID: {model}")
        info = get_model(model)
        if info is None:
            raise ApiError(400, 5007, f"No such model {model} or task")
        return info

    # -- embeddings -----------------------------------------------------------------------------
    async def embed(self, info: ModelInfo, text: Any, pooling: Any = "mean") -> Array:
        """``(n, dimensions)`` float32 vectors (orjson writes them as JSON numbers)."""
        texts = [text] if isinstance(text, str) else text
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ApiError(400, 5006, "AiError: Bad input: Type mismatch of '/text', must be string or array")
        if not texts:
            raise ApiError(400, 5006, "AiError: Bad input: '/text' must NOT have fewer than 1 items")
        if len(texts) > (info.max_batch or 100):
            raise ApiError(
                400, 5006, f"AiError: Bad input: '/text' must NOT have more than {info.max_batch} items"
            )
        if any(not t.strip() for t in texts):
            raise ApiError(
                400, 5006, "AiError: Bad input: '/text' items must NOT have fewer than 1 characters"
            )
        if pooling not in ("mean", "cls"):
            raise ApiError(
                400, 5006, "AiError: Bad input: '/pooling' must be equal to one of the allowed values"
            )
        vectors: Array = await run_in_threadpool(self.embedder.embed, texts, info.dimensions or 384, pooling)
        return vectors

    # -- generation -----------------------------------------------------------------------------
    async def generate(self, info: ModelInfo, body: dict[str, Any]) -> Generation:
        messages = body.get("messages")
        if messages is None and isinstance(body.get("prompt"), str):
            messages = [{"role": "user", "content": body["prompt"]}]
        if not isinstance(messages, list) or not messages:
            raise ApiError(
                400, 5006, "AiError: Bad input: must have required property 'prompt' or 'messages'"
            )
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant", "tool"):
                raise ApiError(400, 5006, "AiError: Bad input: each message needs a valid 'role'")
            if m.get("content") is not None and not isinstance(m.get("content"), str):
                raise ApiError(400, 5006, "AiError: Bad input: message 'content' must be a string")
        max_tokens = body.get("max_tokens", 256)
        if not isinstance(max_tokens, int) or max_tokens < 1:
            raise ApiError(400, 5006, "AiError: Bad input: '/max_tokens' must be >= 1")
        temperature = body.get("temperature", 0.6)
        if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 5:
            raise ApiError(400, 5006, "AiError: Bad input: '/temperature' must be <= 5")
        stop = body.get("stop") or []
        if isinstance(stop, str):
            stop = [stop]
        tools = body.get("tools") or []
        if not isinstance(tools, list):
            raise ApiError(400, 5006, "AiError: Bad input: '/tools' must be array")
        response_format = body.get("response_format")
        if response_format is not None and (
            not isinstance(response_format, dict)
            or response_format.get("type") not in ("json_object", "json_schema")
        ):
            raise ApiError(
                400, 5006, "AiError: Bad input: '/response_format/type' must be json_object or json_schema"
            )
        if response_format is not None and body.get("stream"):
            raise ApiError(400, 5006, "AiError: Bad input: JSON mode does not support streaming")
        return await run_in_threadpool(
            lambda: self.generator.generate(
                messages,
                max_tokens=max_tokens,
                temperature=float(temperature),
                seed=body.get("seed"),
                stop=stop,
                tools=tools,
                tool_choice=body.get("tool_choice"),
                response_format=response_format,
            )
        )


def _padding() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=random.randint(1, 24)))


def _sse(data: Any) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _argument_pieces(arguments: dict[str, Any]) -> list[str]:
    text = json.dumps(arguments)
    step = max(1, len(text) // 3)
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


async def _frames(frames: list[bytes], decision: Decision) -> AsyncIterator[bytes]:
    """Send the frames, paced ``token_interval_ms`` apart (the service's generation speed), cut after
    ``cut_stream_after`` frames when that fault is set."""
    pause = decision.token_interval_ms / 1000
    for i, frame in enumerate(frames):
        if decision.cut_stream_after is not None and i >= decision.cut_stream_after:
            raise ConnectionResetError("injected stream cut")
        if i and pause:
            await asyncio.sleep(pause)
        yield frame
        await asyncio.sleep(0)


def _tool_call_deltas(gen: Generation) -> list[dict[str, Any]]:
    """Each tool call as streamed pieces: id, type and name first, the arguments in parts, by index."""
    deltas = []
    for index, call in enumerate(gen.tool_calls):
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        for n, part in enumerate(_argument_pieces(call["arguments"])):
            delta: dict[str, Any] = {"index": index, "function": {"arguments": part}}
            if n == 0:
                delta.update(id=call_id, type="function")
                delta["function"]["name"] = call["name"]
            deltas.append(delta)
    return deltas


def legacy_stream(gen: Generation) -> list[bytes]:
    """SSE frames in Workers AI's format: ``{"response", "p"}`` per token, tool calls, usage, [DONE]."""
    frames = [_sse({"response": piece, "p": _padding()}) for piece in gen.pieces]
    frames += [_sse({"response": "", "tool_calls": [d], "p": _padding()}) for d in _tool_call_deltas(gen)]
    frames.append(_sse({"response": "", "usage": gen.usage}))
    frames.append(b"data: [DONE]\n\n")
    return frames


def legacy_result(gen: Generation) -> dict[str, Any]:
    result: dict[str, Any] = {"response": gen.json_value if gen.json_value is not None else gen.text}
    if gen.tool_calls:
        result["tool_calls"] = [{"name": c["name"], "arguments": c["arguments"]} for c in gen.tool_calls]
    result["usage"] = gen.usage
    return result


def openai_completion(model: str, gen: Generation, max_tokens: int) -> dict[str, Any]:
    content = json.dumps(gen.json_value) if gen.json_value is not None else gen.text
    message: dict[str, Any] = {"role": "assistant", "content": content if not gen.tool_calls else None}
    finish = "stop"
    if gen.tool_calls:
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in gen.tool_calls
        ]
    elif gen.completion_tokens >= max_tokens:
        finish = "length"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": gen.usage,
    }


def openai_stream(model: str, gen: Generation) -> list[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return _sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    frames = [chunk({"role": "assistant", "content": piece}) for piece in gen.pieces]
    frames += [chunk({"tool_calls": [d]}) for d in _tool_call_deltas(gen)]
    frames.append(chunk({}, "tool_calls" if gen.tool_calls else "stop", usage=gen.usage))
    frames.append(b"data: [DONE]\n\n")
    return frames


def _catalog_entry(info: ModelInfo) -> dict[str, Any]:
    props = []
    for key in ("dimensions", "max_input_tokens", "max_batch", "context_window"):
        value = getattr(info, key)
        if value is not None:
            props.append({"property_id": key, "value": str(value)})
    if info.function_calling:
        props.append({"property_id": "function_calling", "value": "true"})
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, info.name)),
        "source": 1,
        "name": info.name,
        "description": f"{info.name} ({info.task}), served locally by workersai-local",
        "task": {"id": str(uuid.uuid5(uuid.NAMESPACE_URL, info.task)), "name": info.task},
        "tags": [],
        "properties": props,
    }


def create_app(config: EmulatorConfig, embedder: Embedder | None = None) -> Starlette:
    """The emulator app for ``config``."""
    emu = Emulator(config, embedder)

    async def ai_run(request: Request, decision: Decision) -> Response:
        info = emu.model_info(request.path_params["model"])
        body = await emu.json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, 5006, "AiError: Bad input: body must be an object")
        if info.is_embedding:
            data = await emu.embed(info, body.get("text"), body.get("pooling", "mean"))
            return envelope(
                {"shape": [len(data), info.dimensions], "data": data, "pooling": body.get("pooling", "mean")}
            )
        gen = await emu.generate(info, body)
        if body.get("stream"):
            return StreamingResponse(_frames(legacy_stream(gen), decision), media_type="text/event-stream")
        return envelope(legacy_result(gen))

    async def gateway_run(request: Request, decision: Decision) -> Response:
        if config.gateway_token is not None:
            header = request.headers.get("cf-aig-authorization", "")
            if not hmac.compare_digest(header.encode(), f"Bearer {config.gateway_token}".encode()):
                raise ApiError(401, 2009, "Unauthorized: AI Gateway authentication failed")
        raw = await request.body()
        ttl = int(request.headers.get("cf-aig-cache-ttl", "0") or 0)
        skip = request.headers.get("cf-aig-skip-cache", "").lower() == "true"
        key = (
            f"{request.path_params['gateway']}|{request.path_params['model']}|{raw.decode(errors='replace')}"
        )
        cached = emu.gateway_cache.get(key)
        if ttl > 0 and not skip and cached and cached[0] > time.monotonic():
            return Response(cached[1], 200, {"cf-aig-cache-status": "HIT"}, media_type=cached[2])
        response = await ai_run(request, decision)
        status = "BYPASS" if skip or ttl <= 0 else "MISS"
        if ttl > 0 and not skip and response.status_code == 200 and isinstance(response, JSONResponse):
            emu.gateway_cache[key] = (time.monotonic() + ttl, bytes(response.body), "application/json")
        response.headers["cf-aig-cache-status"] = status
        return response

    async def openai_body(request: Request, embedding: bool) -> tuple[dict[str, Any], ModelInfo]:
        """The body of an OpenAI-compatible request and its model (an embedding model or not)."""
        body = await emu.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            raise ApiError(400, 5006, "AiError: Bad input: 'model' is required")
        info = emu.model_info(body["model"])
        if embedding and not info.is_embedding:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not an embedding model")
        if not embedding and not info.is_generation:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not a text generation model")
        return body, info

    async def openai_chat(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=False)
        gen = await emu.generate(info, body)
        if body.get("stream"):
            return StreamingResponse(
                _frames(openai_stream(info.name, gen), decision),
                media_type="text/event-stream",
            )
        return JSONResponse(openai_completion(info.name, gen, int(body.get("max_tokens", 256))))

    async def openai_embeddings(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=True)
        raw = body.get("input")
        data = await emu.embed(info, raw)
        texts: list[str] = [raw] if isinstance(raw, str) else list(raw or [])
        tokens = sum(emu.generator.count_tokens(t) for t in texts)
        return FastJSONResponse(
            {
                "object": "list",
                "model": info.name,
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(data)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    async def models_search(request: Request, decision: Decision) -> Response:
        q = request.query_params
        try:
            page = max(1, int(q.get("page", "1")))
            per_page = min(1000, max(1, int(q.get("per_page", "50"))))
        except ValueError as exc:
            raise ApiError(400, 5006, "page and per_page must be integers") from exc
        task, search = (q.get("task") or "").lower(), (q.get("search") or "").lower()
        found = [
            _catalog_entry(i)
            for i in models().values()
            if (not task or i.task.lower() == task) and (not search or search in i.name.lower())
        ]
        start = (page - 1) * per_page
        return JSONResponse(
            {
                "result": found[start : start + per_page],
                "success": True,
                "errors": [],
                "messages": [],
                "result_info": {
                    "page": page,
                    "per_page": per_page,
                    "count": len(found[start : start + per_page]),
                    "total_count": len(found),
                },
            }
        )

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
        return envelope({**emu.faults.plan.to_json(), "injected": emu.faults.injected})

    async def health(request: Request) -> Response:
        return envelope({"status": "ok"})

    async def stats(request: Request) -> Response:
        """Request counters; ``DELETE`` resets the high-water mark."""
        try:
            emu.check_auth(request)
        except ApiError as exc:
            return error_response(exc.status, exc.code, exc.message)
        if request.method == "DELETE":
            emu.stats["max_in_flight"] = emu.stats["in_flight"]
        return envelope(dict(emu.stats))

    prefix = "/client/v4/accounts/{account_id}"
    routes = [
        Route(prefix + "/ai/run/{model:path}", emu.guarded("ai", ai_run), methods=["POST"]),
        Route(prefix + "/ai/v1/chat/completions", emu.guarded("ai", openai_chat), methods=["POST"]),
        Route(prefix + "/ai/v1/embeddings", emu.guarded("ai", openai_embeddings), methods=["POST"]),
        Route(prefix + "/ai/models/search", emu.guarded("ai", models_search), methods=["GET"]),
        Route(
            "/v1/{account_id}/{gateway}/workers-ai/{model:path}",
            emu.guarded("ai", gateway_run),
            methods=["POST"],
        ),
        Route("/__local__/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/__local__/health", health, methods=["GET"]),
        Route("/__local__/stats", stats, methods=["GET", "DELETE"]),
    ]
    try:
        from .vectorize_routes import vectorize_routes
    except ImportError:  # pragma: no cover - before Vectorize lands
        pass
    else:
        routes += vectorize_routes(emu, prefix)

    async def not_found(request: Request, exc: Exception) -> Response:
        return error_response(
            404,
            7003,
            "Could not route to " + request.url.path + ", perhaps your object identifier is invalid?",
        )

    async def method_not_allowed(request: Request, exc: Exception) -> Response:
        return error_response(405, 10405, "Method not allowed")

    app = Starlette(routes=routes, exception_handlers={404: not_found, 405: method_not_allowed})
    app.state.emulator = emu
    return app
