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
import json
import threading
from collections.abc import Awaitable, Callable, Iterable, Iterator
from dataclasses import replace
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from ..catalog import DECISION, EXTRACTION, LEGACY, OPENAI, RESPONSES, ModelInfo, third_party_models
from .conversations import StoredResponses, with_history
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .extractive import schema_in_prompt
from .faults import Decision, FaultInjector
from .gateway import default_gateway_for
from .generation import CANCEL, Generation
from .minilm import Array
from .model_schemas import answers_chat_completions_output, typed_answers_legacy, typed_output_declares
from .request_log import USAGE_SCOPE_KEY
from .responses import ApiError, FastJSONResponse, ResetResponse, envelope, fault_response
from .rules import ai as rules
from .rules.gateway import GATEWAY_ID_HEADER
from .scoring import score_contexts
from .scripts import SCRIPT_ERRORS, Script
from .wire.legacy import legacy_result, legacy_stream
from .wire.openai import openai_completion, openai_stream
from .wire.reasoning import pieces as reasoning_pieces
from .wire.reasoning import template_reasoning
from .wire.responses import responses_object, responses_stream
from .wire.sse import paced

Handler = Callable[[Request, Decision], Awaitable[Response]]


async def embed(emu: Emulator, info: ModelInfo, text: Any, pooling: Any = "mean") -> Array:
    """``(n, dimensions)`` float32 vectors (orjson writes them as JSON numbers)."""
    texts = rules.embedding_texts(info, text, pooling)
    emu.stats["embedded_texts"] += len(texts)
    vectors: Array = await run_in_threadpool(emu.embedder.embed, texts, info.dimensions or 384, pooling)
    return vectors


async def embedding_result(emu: Emulator, info: ModelInfo, body: dict[str, Any]) -> dict[str, Any]:
    """An embedding request's ``{shape, data}``, with ``pooling`` for the models that take it."""
    pooling = body.get("pooling", "mean")
    data = await embed(emu, info, body.get("text"), pooling)
    result: dict[str, Any] = {"shape": [len(data), info.dimensions], "data": data}
    if info.name in rules.POOLING_MODELS:
        result["pooling"] = pooling
    return result


REASONING_SHARE = 2
"""A reasoning model's reasoning takes at most 1/REASONING_SHARE of ``max_tokens`` (the rest is the
answer's), so that a small cap still leaves room for an answer."""
MAX_REASONING_TOKENS = 96
"""The language model's reasoning is cut here: a 135M model's thoughts do not improve with length, and
every token costs the tests time."""


class Generated:
    """One generation with what its renderers need: the reasoning to show (for a catalog reasoning
    model) and the ``max_tokens`` the answer was cut at.

    ``max_tokens`` bounds the reasoning and the answer together, in the text and in ``usage``."""

    def __init__(
        self,
        gen: Generation,
        info: ModelInfo,
        max_tokens: int,
        reasoning: str | None = None,
        cut_after: int | None = None,
    ) -> None:
        self.gen, self.max_tokens, self.reasoning = gen, max_tokens, reasoning
        self.cut_after = cut_after
        """A script's cut (:mod:`.scripts`): the answer's connection drops after this many frames."""


async def _until_disconnected(request: Request, cancel: threading.Event) -> None:
    """Set ``cancel`` when the request's client goes away (its body is already read: the next message
    the server has for this request is the disconnect)."""
    while (await request.receive())["type"] != "http.disconnect":
        pass
    cancel.set()


async def generate(
    emu: Emulator,
    info: ModelInfo,
    body: dict[str, Any],
    *,
    can_stream_live: bool = False,
    request: Request | None = None,
) -> Generated:
    """Run the generator on a checked request. With ``can_stream_live`` (a renderer that sends text
    before it needs the whole generation: the legacy and chat-completion streams), a stream from the
    language model for a model that shows no reasoning (shown first, it is made from the finished
    generation) is started here and generated as it is sent: the first piece is made now, so a prompt
    the model refuses is still a 400, and the rest as the response is read (:attr:`Generation.live`).

    With ``request``, a generation whose client goes away (or whose request is cancelled, as at
    shut-down) stops before its next token (:data:`~.generator.CANCEL`); a live stream stops when its
    response stops being read."""
    rules.reasoning_effort(body, info)
    params = rules.generation(body, info)
    sampling = rules.sampling(body)
    messages = params.pop("messages")
    prompt_tokens = sum(emu.extractive.count_tokens(str(m.get("content") or "")) for m in messages)
    rules.context_window(info, params["max_tokens"], prompt_tokens)
    fmt = params.get("response_format")
    if fmt is not None and fmt.get("type") == "json_object" and (schema := schema_in_prompt(messages)):
        params["response_format"] = {"type": "json_schema", "json_schema": {"schema": schema}}
    cap = params["max_tokens"]
    path = request.url.path if request is not None else ""
    script = emu.scripts.take(info.name, messages, body, path)
    if script is not None:  # a test's scripted answer, in place of the generator's
        out = scripted(script, info, prompt_tokens, cap)
        if request is not None:
            request.scope[USAGE_SCOPE_KEY] = out.gen
        return out
    model_reasons = info.reasoning and emu.generator_name == "smollm2"
    live = (
        can_stream_live
        and emu.generator_name == "smollm2"
        and bool(body.get("stream"))
        and not info.reasoning
    )
    if emu.generator_name == "smollm2":  # the extractive generator has no sampling to steer
        params.update(sampling)

    cancel = threading.Event()

    def run() -> Generated:
        CANCEL.set(cancel)  # this worker thread's context, for the generation it starts
        thought, thought_tokens = None, 0
        try:
            if model_reasons and cap >= REASONING_SHARE:  # the model reasons first, then answers
                budget = min(MAX_REASONING_TOKENS, cap // REASONING_SHARE)
                seed = params["seed"]
                thought, thought_tokens = emu.generator.reason(messages, max_tokens=budget, seed=seed)
                params["max_tokens"] = cap - thought_tokens
            if live:
                return Generated(_started(emu.generator.stream(messages, **params), emu.stats), info, cap)
            gen: Generation = emu.generator.generate(messages, **params)
        except ValueError as exc:  # a prompt over the context window, a schema the grammar refuses
            raise rules.bad_input(str(exc)) from None
        if model_reasons:
            gen.reasoning_tokens = thought_tokens
        elif info.reasoning:  # the extractive generator: its labelled template, in the room left
            thought = template_reasoning(messages, gen, cap - gen.completion_tokens)
        return Generated(gen, info, params["max_tokens"], thought or None)

    watcher = asyncio.ensure_future(_until_disconnected(request, cancel)) if request is not None else None
    try:
        out = await run_in_threadpool(run)
        if request is not None:  # its tokens, for the request log (read once a live stream ends)
            request.scope[USAGE_SCOPE_KEY] = out.gen
        return out
    except BaseException:
        cancel.set()  # cancelled (shut-down) or failed: the thread stops at its next token
        raise
    finally:
        if watcher is not None:
            watcher.cancel()


def scripted(script: Script, info: ModelInfo, prompt_tokens: int, cap: int) -> Generated:
    """A script's answer as a generation (its error raised), whole whatever ``cap`` says."""
    if script.error is not None:
        status, code, message = SCRIPT_ERRORS[script.error]
        raise ApiError(status, code, message)
    text = json.dumps(script.json) if script.json is not None else script.text or ""
    parts = reasoning_pieces(text)
    gen = Generation(
        text=text,
        tool_calls=[dict(c) for c in script.tool_calls or []],
        json_value=script.json,
        prompt_tokens=prompt_tokens,
        completion_tokens=len(parts),
        pieces=parts,
    )
    if script.reasoning:
        gen.reasoning_tokens = len(reasoning_pieces(script.reasoning))
    room = max(cap, gen.completion_tokens + gen.reasoning_tokens + 1)  # whole: finish_reason "stop"
    # A model that reasons in its text always writes a <think> block (QwQ, DeepSeek-R1-distill: the
    # client reads everything before </think> as reasoning): an empty one when the script has none.
    reasoning = script.reasoning or ("" if info.reasoning and info.family == LEGACY else None)
    return Generated(gen, info, room, reasoning, script.cut_after)


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


class _LiveStream(StreamingResponse):
    """A stream whose frames render a live generation (:attr:`Generation.live`). However sending ends
    (read to the end, cut by a fault, or the client gone while a frame is made or sent), the
    generation is closed once the response is done, so the model stops and its counters and cache
    are released then, not whenever the garbage collector reaches the suspended generators."""

    def __init__(self, content: Any, live: Iterator[str]) -> None:
        super().__init__(content, media_type="text/event-stream")
        self._live = live

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:  # every read has returned by now: a cancelled read waits for its worker thread
            close = getattr(self._live, "close", None)
            if close is not None:
                await run_in_threadpool(close)


def _sse(
    frames: Iterable[bytes], decision: Decision, gen: Generation, cut_after: int | None = None
) -> StreamingResponse:
    if cut_after is not None:  # a script's cut (:mod:`.scripts`)
        decision = replace(decision, cut_stream_after=cut_after)
    body = paced(frames, decision, live=gen.live is not None)
    if gen.live is not None:
        return _LiveStream(body, gen.live)
    return StreamingResponse(body, media_type="text/event-stream")


def answer_family(info: ModelInfo, request: dict[str, Any]) -> str | None:
    """The shape ``/ai/run`` answers ``request`` in: the model's catalog family, except that a Responses
    model given chat ``messages`` (no ``input``) answers a chat completion (see :func:`render_run`), and a
    model whose output type in @cloudflare/workers-types is ``{response, ...}`` only answers that
    (granite-4.0-h-micro: the catalog's page shows a chat completion, the types do not)."""
    if info.family == RESPONSES and "input" not in request:
        return OPENAI
    if info.family == OPENAI and typed_answers_legacy(info.name):
        return LEGACY
    return info.family


def render_run(info: ModelInfo, out: Generated, request: dict[str, Any], decision: Decision) -> Response:
    """A generation on ``/ai/run`` in the model's family shape (enveloped; streams are not).

    gpt-oss takes Responses input (``input``) or chat ``messages`` and answers in the matching shape:
    @cloudflare/workers-types types gpt-oss-120b/20b as ``XOR<ResponsesInput, ChatCompletionsInput>`` in
    and ``XOR<ResponsesOutput, ChatCompletionsOutput>`` out, so ``messages`` get a chat completion."""
    gen, reasoning, stream, cut = out.gen, out.reasoning, bool(request.get("stream")), out.cut_after
    if cut is not None and not stream:  # a script's cut, on an answer sent whole: the connection drops
        return ResetResponse()
    family = answer_family(info, request)
    if family == RESPONSES:
        whole = responses_object(info.name, gen, reasoning, request, out.max_tokens, typed=True)
        return _sse(responses_stream(whole, gen), decision, gen, cut) if stream else envelope(whole)
    if family == OPENAI:
        if stream:
            return _sse(openai_stream(info.name, gen, reasoning), decision, gen, cut)
        return envelope(run_completion(info, out, reasoning))
    if stream:
        return _sse(legacy_stream(gen, reasoning), decision, gen, cut)
    result = legacy_result(gen, reasoning, nested_tool_calls=info.name in rules.NESTED_TOOL_CALL_MODELS)
    if not typed_output_declares(info.name, "usage"):  # llama-3.2-11b-vision: {response, tool_calls}
        del result["usage"]
    return envelope(result)


def run_completion(info: ModelInfo, out: Generated, reasoning: str | None) -> dict[str, Any]:
    """A chat completion as ``/ai/run`` answers it for ``info``: OpenAI's (refusal, logprobs, null content
    beside tool calls) where its type is the package's ChatCompletionsOutput, else its own older type's."""
    typed = answers_chat_completions_output(info.name)
    return openai_completion(
        info.name,
        out.gen,
        out.max_tokens,
        reasoning,
        null_fields=typed,
        calling_content=None if typed else "",
    )


def ai_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Workers AI routes under ``prefix`` (``/client/v4/accounts/{account_id}``) and the gateway's."""
    from .batch_queue import batch_queue, queued  # it imports this module's embed and generate

    async def ai_run(request: Request, decision: Decision) -> Response:
        info = rules.model_info(request.path_params["model"])
        body = await emu.json_body(request)
        if not isinstance(body, dict):
            raise ApiError(400, 5006, "AiError: Bad input: body must be an object")
        if queued(request):  # the Batch API: a submission or a poll (batch_queue.py)
            return await batch_queue(emu).answer(str(request.path_params["account_id"]), info, body)
        await capacity_queue(emu, decision, body)  # synchronous inference only: not the Batch API
        if info.is_reranker or (info.scores_contexts and "contexts" in body):  # {query, contexts}
            return envelope(await score_contexts(emu.embedder, info, body))
        if info.is_embedding:
            return envelope(await embedding_result(emu, info, body))
        if info.family in (DECISION, EXTRACTION):  # Clef, Clairic (.native_models)
            from . import native_models

            return await (native_models.decide if info.family == DECISION else native_models.extract)(
                emu, info, body
            )
        chat = rules.responses_input(body) if info.family == RESPONSES and "input" in body else body
        out = await generate(
            emu, info, chat, can_stream_live=info.family != RESPONSES or chat is body, request=request
        )
        return render_run(info, out, body, decision)

    async def gateway_run(request: Request, decision: Decision) -> Response:
        if emu.config.gateway_token is not None:
            header = request.headers.get("cf-aig-authorization", "")
            if not hmac.compare_digest(header.encode(), f"Bearer {emu.config.gateway_token}".encode()):
                raise ApiError(401, 2009, "Unauthorized: AI Gateway authentication failed")
        raw = await emu.read_body(request, MAX_JSON_BODY_BYTES)
        return await emu.gateways.through(
            request.path_params["gateway"],
            request,
            raw,
            request.path_params["model"],
            lambda: ai_run(request, decision),
        )

    def via_gateway_header(handler: Handler) -> Handler:
        """``handler`` through the gateway a ``cf-aig-gateway-id`` header names (:mod:`.gateway`)."""

        async def route(request: Request, decision: Decision) -> Response:
            gateway = request.headers.get(GATEWAY_ID_HEADER)
            raw = await emu.read_body(request, MAX_JSON_BODY_BYTES)
            if not gateway and "model" not in request.path_params:
                gateway = default_gateway_for(raw)
            if not gateway:
                return await handler(request, decision)
            model = request.path_params.get("model")
            run = lambda: handler(request, decision)  # noqa: E731
            return await emu.gateways.through(gateway, request, raw, model, run)

        return route

    async def openai_body(request: Request, embedding: bool) -> tuple[dict[str, Any], ModelInfo]:
        """The body of an OpenAI-compatible request and its model (an embedding model or not)."""
        body = await emu.json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("model"), str):
            raise ApiError(400, 5006, "AiError: Bad input: 'model' is required")
        info = third_party_models().get(body["model"])  # Unified Billing (.gateway's docstring)
        if info is None:
            emu.check_lifecycle(body["model"])
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
        """OpenAI's chat completions: every reasoning model's reasoning in ``reasoning_content`` apart
        from ``content`` (the OpenAI-compatible shape; DeepSeek-R1-distill's ``<think>`` is split out as
        DeepSeek's own API does), the ``developer`` role taken as OpenAI's API takes it."""
        body, info = await openai_body(request, embedding=False)
        decision = await late_decision(emu.faults, request, info.name, decision)
        if decision.error:
            return fault_response(decision)
        await capacity_queue(emu, decision, body)
        body = rules.openai_chat(body)
        out = await generate(emu, info, body, can_stream_live=True, request=request)
        if body.get("stream"):
            return _sse(openai_stream(info.name, out.gen, out.reasoning), decision, out.gen, out.cut_after)
        if out.cut_after is not None:
            return ResetResponse()
        return JSONResponse(openai_completion(info.name, out.gen, out.max_tokens, out.reasoning))

    stored = StoredResponses()

    async def openai_responses(request: Request, decision: Decision) -> Response:
        """OpenAI's Responses API, with ``store`` and ``previous_response_id`` (:mod:`.conversations`)."""
        body, info = await openai_body(request, embedding=False)
        chat = rules.responses_input(body)
        instructions = body.get("instructions") is not None
        turn = chat["messages"][1:] if instructions else chat["messages"]
        previous = body.get("previous_response_id")
        history = stored.history(previous) if previous is not None else []
        store = body.get("store", True)
        if not isinstance(store, bool):
            raise rules.bad_input("'/store' must be a boolean")
        out = await generate(emu, info, with_history(chat, history, instructions), request=request)
        whole = responses_object(info.name, out.gen, out.reasoning, body, out.max_tokens)
        whole.update(previous_response_id=previous, store=store)
        if store:
            stored.keep(whole["id"], [*history, *turn], out.gen)
        if body.get("stream"):
            return _sse(responses_stream(whole, out.gen), decision, out.gen, out.cut_after)
        if out.cut_after is not None:
            return ResetResponse()
        return JSONResponse(whole)

    async def openai_embeddings(request: Request, decision: Decision) -> Response:
        """OpenAI's embeddings: float vectors of the model's own size, whatever ``dimensions`` or
        ``encoding_format`` ask. No Cloudflare page documents either option: the OpenAI-compatibility
        page (developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/) shows only
        ``model`` and ``input``; @cloudflare/workers-types' embedding inputs (e.g.
        ``Ai_Cf_Baai_Bge_Base_En_V1_5_Input``) have ``text`` and ``pooling`` only and the outputs
        ``data: number[][]``; and users of the compat route with ``dimensions`` set and the openai SDKs
        (which ask for base64 by default) got float arrays back (karakeep-app/karakeep#2698). The
        openai SDKs decode base64 only when the answer is a string, so floats work with them."""
        body, info = await openai_body(request, embedding=True)
        raw = body.get("input")
        data = await embed(emu, info, raw)
        texts: list[str] = [raw] if isinstance(raw, str) else list(raw or [])
        tokens = sum(emu.extractive.count_tokens(t) for t in texts)
        request.scope[USAGE_SCOPE_KEY] = {"prompt_tokens": tokens, "completion_tokens": 0}
        return FastJSONResponse(
            {
                "object": "list",
                "model": info.name,
                "data": [{"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(data)],
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            }
        )

    return [
        *(
            Route(prefix + path, emu.guarded("ai", via_gateway_header(handler)), methods=["POST"])
            for path, handler in (
                ("/ai/run/{model:path}", ai_run),
                ("/ai/v1/chat/completions", openai_chat),
                ("/ai/v1/responses", openai_responses),
                ("/ai/v1/embeddings", openai_embeddings),
            )
        ),
        Route(
            "/v1/{account_id}/{gateway}/workers-ai/{model:path}",
            emu.guarded("ai", gateway_run),
            methods=["POST"],
        ),
    ]
