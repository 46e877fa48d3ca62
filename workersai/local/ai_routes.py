"""Workers AI routes of the emulator: ``/ai/run/{model}`` (embeddings, text generation as JSON or SSE),
the OpenAI-compatible ``/ai/v1/chat/completions``, ``/ai/v1/responses`` and ``/ai/v1/embeddings``, and
the same runs through an AI Gateway (with its cache). The catalog routes are in
:mod:`workersai.local.catalog_routes`.

Text generation answers on ``/ai/run`` in the shape of the model's catalog ``family``: ``legacy``
``{response, tool_calls, usage}``, ``openai`` ``chat.completion``, ``responses`` a Responses object (and
each family's stream). Catalog reasoning models show reasoning (:mod:`.wire.reasoning`): in the text as
``<think>...</think>`` for the legacy family, ``reasoning_content`` for the OpenAI shape, a reasoning
item for the Responses shape. One generator is underneath every shape."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..catalog import LEGACY, OPENAI, RESPONSES, ModelInfo
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .encoder import Array
from .faults import Decision, FaultInjector
from .generator import Generation
from .responses import ApiError, FastJSONResponse, envelope, fault_response
from .rules import ai as rules
from .scoring import score_contexts
from .wire.legacy import legacy_result, legacy_stream
from .wire.openai import openai_completion, openai_stream
from .wire.reasoning import reasoning_text
from .wire.responses import responses_object, responses_stream
from .wire.sse import paced


async def embed(emu: Emulator, info: ModelInfo, text: Any, pooling: Any = "mean") -> Array:
    """``(n, dimensions)`` float32 vectors (orjson writes them as JSON numbers)."""
    texts = rules.embedding_texts(info, text, pooling)
    emu.stats["embedded_texts"] += len(texts)
    vectors: Array = await run_in_threadpool(emu.embedder.embed, texts, info.dimensions or 384, pooling)
    return vectors


class Generated:
    """One generation with what its renderers need: the checked messages, the reasoning to show (for
    a catalog reasoning model) and the ``max_tokens`` it was cut at."""

    def __init__(self, gen: Generation, messages: list[Any], info: ModelInfo, max_tokens: int) -> None:
        self.gen, self.max_tokens = gen, max_tokens
        self.reasoning = reasoning_text(messages, gen) if info.reasoning else None
        self.think_tags = info.reasoning and info.family == LEGACY


async def generate(
    emu: Emulator, info: ModelInfo, body: dict[str, Any], *, can_stream_live: bool = False
) -> Generated:
    """Run the generator on a checked request. With ``can_stream_live`` (a renderer that sends text
    before it needs the whole generation: the legacy and chat-completion streams), a stream from the
    language model for a model that shows no reasoning (shown first, it is made from the finished
    generation) is started here and generated as it is sent: the first piece is made now, so a prompt
    the model refuses is still a 400, and the rest as the response is read (:attr:`Generation.live`)."""
    rules.reasoning_effort(body)
    params = rules.generation(body, info)
    sampling = rules.sampling(body)
    messages = params.pop("messages")
    live = (
        can_stream_live
        and emu.generator_name == "smollm2"
        and bool(body.get("stream"))
        and not info.reasoning
    )
    if emu.generator_name == "smollm2":  # the extractive generator has no sampling to steer
        params.update(sampling)

    def run() -> Generation:
        try:
            if live:
                return _started(emu.generator.stream(messages, **params), emu.stats)
            gen: Generation = emu.generator.generate(messages, **params)
        except ValueError as exc:  # a prompt over the context window, a schema the grammar refuses
            raise rules.bad_input(str(exc)) from None
        return gen

    return Generated(await run_in_threadpool(run), messages, info, params["max_tokens"])


def _started(stream: Any, stats: dict[str, int]) -> Generation:
    """The stream's generation with its first piece made and the rest to come (``live``), each piece
    counted in ``stats["streamed_pieces"]``."""
    pieces = iter(stream)
    try:
        first = next(pieces, None)
    except BaseException:
        stream.close()
        raise

    def rest() -> Iterator[str]:
        try:
            if first is not None:
                stats["streamed_pieces"] += 1
                yield first
            for piece in pieces:
                stats["streamed_pieces"] += 1
                yield piece
        finally:  # read to the end, or the client went away: stop the model either way
            stream.close()

    gen: Generation = stream.generation
    gen.live = rest()
    return gen


CAPACITY_MESSAGE = "Capacity temporarily exceeded, please try again."
"""What a busy model answers a request that asked to be rejected: 429, code 3040
(developers.cloudflare.com/workers-ai/features/reject-if-busy/, "Handle capacity errors")."""


def rejects_if_busy(body: dict[str, Any]) -> bool:
    """Whether the body asks not to wait in the capacity queue: ``options.rejectIfBusy`` at the top
    level, on ``/ai/run`` and ``/ai/v1/chat/completions`` alike (same page, "Send a REST request" and
    "Call Chat Completions")."""
    options = body.get("options")
    return isinstance(options, dict) and options.get("rejectIfBusy") is True


async def capacity_queue(emu: Emulator, decision: Decision, body: dict[str, Any]) -> None:
    """A busy model: refuse at once a request that asked for it (``rejected_busy`` in the stats), else
    hold it ``busy_ms`` first (``queued``)."""
    if decision.busy_ms <= 0:
        return
    if rejects_if_busy(body):
        emu.stats["rejected_busy"] = emu.stats.get("rejected_busy", 0) + 1
        raise ApiError(429, 3040, CAPACITY_MESSAGE)
    emu.stats["queued"] = emu.stats.get("queued", 0) + 1
    await asyncio.sleep(decision.busy_ms / 1000)


async def late_decision(faults: FaultInjector, request: Request, model: str, decision: Decision) -> Decision:
    """For a route whose model is in the body (``/ai/v1/*``): a plan whose failures are limited to some
    ``models`` could not apply them before the body was read; decide for this model now (its latency
    was already waited)."""
    header = request.headers.get("x-workersai-local-faults")
    models = faults.fails_only(header)
    if models is None or model not in models:
        return decision
    late = faults.decide("ai", header, model)
    late.latency_ms = 0.0
    return late


def _sse(frames: Iterable[bytes], decision: Decision, gen: Generation) -> StreamingResponse:
    return StreamingResponse(
        paced(frames, decision, live=gen.live is not None), media_type="text/event-stream"
    )


def render_run(info: ModelInfo, out: Generated, request: dict[str, Any], decision: Decision) -> Response:
    """A generation on ``/ai/run`` in the model's family shape (enveloped; streams are not)."""
    gen, reasoning, stream = out.gen, out.reasoning, bool(request.get("stream"))
    if info.family == RESPONSES:
        whole = responses_object(info.name, gen, reasoning, request, out.max_tokens)
        return _sse(responses_stream(whole, gen), decision, gen) if stream else envelope(whole)
    if info.family == OPENAI:
        if stream:
            return _sse(openai_stream(info.name, gen, reasoning), decision, gen)
        return envelope(openai_completion(info.name, gen, out.max_tokens, reasoning))
    if stream:
        return _sse(legacy_stream(gen, reasoning), decision, gen)
    return envelope(legacy_result(gen, reasoning))


def ai_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Workers AI routes under ``prefix`` (``/client/v4/accounts/{account_id}``) and the gateway's."""
    from .batch_queue import batch_queue, queued  # it imports this module's embed and generate

    async def ai_run(request: Request, decision: Decision) -> Response:
        info = rules.model_info(request.path_params["model"])
        body = await emu.json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, 5006, "AiError: Bad input: body must be an object")
        if queued(request):  # the Batch API: a submission or a poll (batch_queue.py)
            return await batch_queue(emu).answer(info, body)
        await capacity_queue(emu, decision, body)  # synchronous inference only: not the Batch API
        if info.is_reranker or (info.scores_contexts and "contexts" in body):  # {query, contexts}
            return envelope(await score_contexts(emu.embedder, info, body))
        if info.is_embedding:
            data = await embed(emu, info, body.get("text"), body.get("pooling", "mean"))
            return envelope(
                {"shape": [len(data), info.dimensions], "data": data, "pooling": body.get("pooling", "mean")}
            )
        chat = rules.responses_input(body) if info.family == RESPONSES and "input" in body else body
        out = await generate(emu, info, chat, can_stream_live=info.family != RESPONSES)
        return render_run(info, out, body, decision)

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
        emu.count_model_request(body["model"])
        if emu.rate_limits is not None:  # the model's limit, whichever route names it
            emu.rate_limits.admit(info.name)
        if embedding and not info.is_embedding:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not an embedding model")
        if not embedding and not info.is_generation:
            raise ApiError(400, 5006, f"AiError: Bad input: {info.name} is not a text generation model")
        return body, info

    async def openai_chat(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=False)
        decision = await late_decision(emu.faults, request, info.name, decision)
        if decision.error:
            return fault_response(decision)
        await capacity_queue(emu, decision, body)
        rules.openai_chat(body)
        out = await generate(emu, info, body, can_stream_live=True)
        if body.get("stream"):
            return _sse(
                openai_stream(info.name, out.gen, out.reasoning, think_tags=out.think_tags), decision, out.gen
            )
        return JSONResponse(
            openai_completion(info.name, out.gen, out.max_tokens, out.reasoning, think_tags=out.think_tags)
        )

    async def openai_responses(request: Request, decision: Decision) -> Response:
        body, info = await openai_body(request, embedding=False)
        out = await generate(emu, info, rules.responses_input(body))
        whole = responses_object(info.name, out.gen, out.reasoning, body, out.max_tokens)
        if body.get("stream"):
            return _sse(responses_stream(whole, out.gen), decision, out.gen)
        return JSONResponse(whole)

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
        Route(prefix + "/ai/v1/responses", emu.guarded("ai", openai_responses), methods=["POST"]),
        Route(prefix + "/ai/v1/embeddings", emu.guarded("ai", openai_embeddings), methods=["POST"]),
        Route(
            "/v1/{account_id}/{gateway}/workers-ai/{model:path}",
            emu.guarded("ai", gateway_run),
            methods=["POST"],
        ),
    ]
