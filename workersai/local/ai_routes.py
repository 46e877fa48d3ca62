"""Workers AI routes of the emulator: ``/ai/run/{model}`` (embeddings, text generation as JSON or SSE),
the OpenAI-compatible ``/ai/v1/chat/completions`` and ``/ai/v1/embeddings``, and the same runs through an
AI Gateway (with its cache). The catalog routes are in :mod:`workersai.local.catalog_routes`."""

from __future__ import annotations

import hmac
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..catalog import ModelInfo
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .encoder import Array
from .faults import Decision
from .generator import Generation
from .responses import ApiError, FastJSONResponse, envelope
from .rules import ai as rules
from .wire.legacy import legacy_result, legacy_stream
from .wire.openai import openai_completion, openai_stream
from .wire.sse import paced


async def embed(emu: Emulator, info: ModelInfo, text: Any, pooling: Any = "mean") -> Array:
    """``(n, dimensions)`` float32 vectors (orjson writes them as JSON numbers)."""
    texts = rules.embedding_texts(info, text, pooling)
    vectors: Array = await run_in_threadpool(emu.embedder.embed, texts, info.dimensions or 384, pooling)
    return vectors


async def generate(emu: Emulator, info: ModelInfo, body: dict[str, Any]) -> Generation:
    params = rules.generation(body, info)
    sampling = rules.sampling(body)
    messages = params.pop("messages")
    if emu.generator_name == "smollm2":  # the extractive generator has no sampling to steer
        params.update(sampling)

    def run() -> Generation:
        try:
            gen: Generation = emu.generator.generate(messages, **params)
        except ValueError as exc:  # a prompt over the context window, a schema the grammar refuses
            raise rules.bad_input(str(exc)) from None
        return gen

    return await run_in_threadpool(run)


def ai_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Workers AI routes under ``prefix`` (``/client/v4/accounts/{account_id}``) and the gateway's."""

    async def ai_run(request: Request, decision: Decision) -> Response:
        info = rules.model_info(request.path_params["model"])
        body = await emu.json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, 5006, "AiError: Bad input: body must be an object")
        if info.is_embedding:
            data = await embed(emu, info, body.get("text"), body.get("pooling", "mean"))
            return envelope(
                {"shape": [len(data), info.dimensions], "data": data, "pooling": body.get("pooling", "mean")}
            )
        gen = await generate(emu, info, body)
        if body.get("stream"):
            return StreamingResponse(paced(legacy_stream(gen), decision), media_type="text/event-stream")
        return envelope(legacy_result(gen))

    async def gateway_run(request: Request, decision: Decision) -> Response:
        if emu.config.gateway_token is not None:
            header = request.headers.get("cf-aig-authorization", "")
            if not hmac.compare_digest(header.encode(), f"Bearer {emu.config.gateway_token}".encode()):
                raise ApiError(401, 2009, "Unauthorized: AI Gateway authentication failed")
        raw = await emu.read_body(request, MAX_JSON_BODY_BYTES)
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
        info = rules.model_info(body["model"])
        if embedding and not info.is_embedding:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not an embedding model")
        if not embedding and not info.is_generation:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not a text generation model")
        return body, info

    async def openai_chat(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=False)
        rules.openai_chat(body)
        gen = await generate(emu, info, body)
        if body.get("stream"):
            return StreamingResponse(
                paced(openai_stream(info.name, gen), decision),
                media_type="text/event-stream",
            )
        return JSONResponse(openai_completion(info.name, gen, rules.token_cap(body)))

    async def openai_embeddings(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=True)
        raw = body.get("input")
        data = await embed(emu, info, raw)
        texts: list[str] = [raw] if isinstance(raw, str) else list(raw or [])
        tokens = sum(emu.extractive.count_tokens(t) for t in texts)
        return FastJSONResponse(
            {
                "object": "list",
                "model": info.name,
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(data)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    return [
        Route(prefix + "/ai/run/{model:path}", emu.guarded("ai", ai_run), methods=["POST"]),
        Route(prefix + "/ai/v1/chat/completions", emu.guarded("ai", openai_chat), methods=["POST"]),
        Route(prefix + "/ai/v1/embeddings", emu.guarded("ai", openai_embeddings), methods=["POST"]),
        Route(
            "/v1/{account_id}/{gateway}/workers-ai/{model:path}",
            emu.guarded("ai", gateway_run),
            methods=["POST"],
        ),
    ]
