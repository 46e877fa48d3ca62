"""Chat and streaming chat: one request builder and one answer reader shared by the sync and async
twins, which add only the send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from typing_extensions import Unpack

from .. import jsonlib
from ..catalog import GENERATION_TASK, is_third_party
from ..chat import ChatOptions, build_chat_payload
from ..chat_answers import (
    StopFilter,
    ToolCallAccumulator,
    parse_chat_result,
    parse_stream_event,
    thinks_in_text,
)
from ..errors import ResponseFormatError
from ..fallback import FallbackChain, astream_through, stream_through
from ..gateway import GatewayOptions, gateway_info
from ..reasoning import ThinkSplitter
from ..transport import unwrap_envelope
from ..types import ChatChunk, ChatResult, GatewayInfo, ToolCall, ToolCallDelta
from ..usage import record_usage
from ..validation import check_model
from .base import DEFAULT_CHAT_MODEL, ClientBase, Message, with_extras

if TYPE_CHECKING:
    import httpx

    from ..client import WorkersAI

OPENAI_CHAT_PATH = "ai/v1/chat/completions"
"""Where third-party models (``openai/gpt-4.1``: AI Gateway's Unified Billing) are asked to chat: the
REST API page documents them on the OpenAI-compatible endpoints and ``/ai/run`` with ``{model, input}``,
not on ``/ai/run/{model}`` (https://developers.cloudflare.com/ai-gateway/usage/rest-api/)."""


def _bare_json(response: httpx.Response) -> Any:
    """An answer that is not in the Cloudflare envelope (the OpenAI-compatible endpoints)."""
    try:
        return jsonlib.loads(response.content)
    except ValueError as exc:
        raise ResponseFormatError(f"expected JSON, got {response.text[:120]!r}") from exc


def _as_messages(messages: str | Sequence[Message]) -> list[Message]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


class Chat(ClientBase):
    """Chat and streaming chat, sync and async, with fallbacks."""

    # The sync and async twins below share everything but the send: the request (url, body, headers)
    # and the reading of the answer are built here once.
    def _chat_request(
        self,
        messages: str | Sequence[Message],
        model: str,
        gateway: GatewayOptions | None,
        options: ChatOptions,
        extra_headers: Mapping[str, str] | None,
        *,
        stream: bool,
    ) -> dict[str, Any]:
        """The transport's keyword arguments (``url``, ``json``, ``headers``, ``model``); the options'
        ``extra_body`` merged into the body last, ``extra_headers`` into the headers."""
        headers = {"Accept": "text/event-stream"} if stream else {}
        headers.update(self._gateway_headers(gateway))
        if is_third_party(model):  # Unified Billing: the OpenAI-compatible endpoint, model in the body
            payload = build_chat_payload(_as_messages(messages), model=None, stream=stream, **options)
            url, body = self.account_url(OPENAI_CHAT_PATH), {"model": model, **payload}
        else:
            check_model(model, GENERATION_TASK, use_catalog=self.validate_models)
            payload = build_chat_payload(_as_messages(messages), model=model, stream=stream, **options)
            url, body = self.run_url(model), self._inputs(payload)
        return {
            "url": url,
            "json": with_extras(body, options.get("extra_body")),
            "headers": with_extras(headers, extra_headers),
            "model": model,
        }

    @staticmethod
    def _chat_result(model: str, response: httpx.Response, options: ChatOptions) -> ChatResult:
        json_mode = options.get("response_format") is not None
        # /ai/v1/chat/completions answers a bare chat completion, /ai/run an envelope
        body = _bare_json(response) if is_third_party(model) else unwrap_envelope(response)
        result = parse_chat_result(model, body, options.get("stop"), json_mode=json_mode)
        result.gateway = gateway_info(response.headers)
        result.attempts = response.extensions.get("workersai_attempts", 1)
        if result.usage is not None:
            record_usage(result.model, result.usage.prompt_tokens, result.usage.completion_tokens)
        return result

    def chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        extra_headers: Mapping[str, str] | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """One chat answer: text, tool calls, usage (and, in JSON mode, the parsed object).

        ``fallbacks``: models to try in turn when ``model`` is busy, rate limited, unknown or failing
        (never for bad input), under :mod:`workersai.fallback`'s budget rules: a model with a fallback
        is tried once with ``rejectIfBusy``, the last one retries. The answer's ``model``,
        ``attempts`` and ``fallbacks`` say how it went.

        ``extra_body`` (a chat option, so the frameworks' model-level extras travel with the others) is
        merged into the JSON body last, ``extra_headers`` into the headers: openai-python's escape
        hatches, for a model option the library does not model yet."""
        if fallbacks:
            chain = FallbackChain(self._whole(), [model, *fallbacks])
            return chain.run(
                lambda c, m: c.chat(
                    messages, model=m, gateway=gateway, extra_headers=extra_headers, **options
                )
            )
        request = self._chat_request(messages, model, gateway, options, extra_headers, stream=False)
        response = self.transport.request("POST", **request)
        return self._chat_result(model, response, options)

    async def achat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        extra_headers: Mapping[str, str] | None = None,
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """Async twin of :meth:`chat`."""
        if fallbacks:

            async def one(c: WorkersAI, m: str) -> ChatResult:
                return await c.achat(
                    messages, model=m, gateway=gateway, extra_headers=extra_headers, **options
                )

            return await FallbackChain(self._whole(), [model, *fallbacks]).arun(one)
        request = self._chat_request(messages, model, gateway, options, extra_headers, stream=False)
        response = await self.transport.arequest("POST", **request)
        return self._chat_result(model, response, options)

    def stream_chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        extra_headers: Mapping[str, str] | None = None,
        **options: Unpack[ChatOptions],
    ) -> Iterator[ChatChunk]:
        """Stream a chat answer as :class:`ChatChunk` s: text deltas, tool-call deltas, then usage.
        ``fallbacks`` as for :meth:`chat`: a model is left only before its first chunk.

        The request is retried only until the stream opens; a stream that breaks off later raises
        :class:`~workersai.errors.StreamInterrupted`, as does a deadline (:meth:`with_options`) that
        passes mid-stream. The last chunk names the model and the attempts it took to open.

        JSON mode (``response_format``) is not streamed by the service (5023, "JSON Schema mode is not
        supported with stream mode"): it is asked for whole (:meth:`chat`) and its JSON text comes as
        one chunk, then the last chunk, as both framework adapters stream it (``json_mode_chunks``).
        """
        if options.get("response_format") is not None:
            whole = self.chat(
                messages,
                model=model,
                gateway=gateway,
                fallbacks=fallbacks,
                extra_headers=extra_headers,
                **options,
            )
            yield from json_mode_chunks(whole)
            return
        if fallbacks:
            chain = FallbackChain(self._whole(), [model, *fallbacks])
            yield from stream_through(
                chain,
                lambda c, m: c.stream_chat(
                    messages, model=m, gateway=gateway, extra_headers=extra_headers, **options
                ),
            )
            return
        from ..streaming import iter_sse_json  # imports httpx-sse (and httpx): on use, not with the package

        request = self._chat_request(messages, model, gateway, options, extra_headers, stream=True)
        state = _StreamState(model, options.get("stop"))
        with self.transport.stream("POST", **request) as response:
            state.opened(response)
            for event in iter_sse_json(response):
                state.in_time()
                yield from state.feed(event)
        yield from state.finish()

    async def astream_chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        extra_headers: Mapping[str, str] | None = None,
        **options: Unpack[ChatOptions],
    ) -> AsyncIterator[ChatChunk]:
        """Async twin of :meth:`stream_chat`."""
        if options.get("response_format") is not None:
            whole = await self.achat(
                messages,
                model=model,
                gateway=gateway,
                fallbacks=fallbacks,
                extra_headers=extra_headers,
                **options,
            )
            for chunk in json_mode_chunks(whole):
                yield chunk
            return
        if fallbacks:
            chain = FallbackChain(self._whole(), [model, *fallbacks])
            opened = astream_through(
                chain,
                lambda c, m: c.astream_chat(
                    messages, model=m, gateway=gateway, extra_headers=extra_headers, **options
                ),
            )
            async for chunk in opened:
                yield chunk
            return
        from ..streaming import aiter_sse_json

        request = self._chat_request(messages, model, gateway, options, extra_headers, stream=True)
        state = _StreamState(model, options.get("stop"))
        async with self.transport.astream("POST", **request) as response:
            state.opened(response)
            async for event in aiter_sse_json(response):
                state.in_time()
                for chunk in state.feed(event):
                    yield chunk
        for chunk in state.finish():
            yield chunk


def json_mode_chunks(result: ChatResult) -> list[ChatChunk]:
    """A whole answer as a stream's chunks: its text (in JSON mode, the JSON text) and reasoning in one
    chunk, then the last chunk with its tool calls, usage, finish reason, model and attempts."""
    calls = [
        ToolCallDelta(index=i, id=c.id, name=c.name, arguments=jsonlib.dumps(c.arguments).decode())
        for i, c in enumerate(result.tool_calls)
    ]
    last = ChatChunk(
        tool_calls=calls,
        usage=result.usage,
        finish_reason=result.finish_reason or "stop",
        gateway=result.gateway,
        model=result.model,
        attempts=result.attempts,
        fallbacks=result.fallbacks,
    )
    text = ChatChunk(text=result.text, reasoning=result.reasoning or "")
    return [text, last] if result.text or result.reasoning else [last]


class _StreamState:
    """Separates reasoning from the answer, applies stop sequences to the answer, and gathers the
    stream's usage and tool calls."""

    def __init__(self, model: str, stop: Sequence[str] | None) -> None:
        self.model = model
        self.stop = StopFilter(stop)
        self.think = ThinkSplitter(implicit_open=thinks_in_text(model))
        self.tools = ToolCallAccumulator()
        self.usage: Any = None
        self.finish_reason: str | None = None
        self.gateway: GatewayInfo | None = None
        self.attempts = 1
        self.deadline: Any = None

    def opened(self, response: httpx.Response) -> None:
        """The stream is open: keep how many attempts that took, the call's deadline and what AI Gateway
        said of it."""
        self.gateway = gateway_info(response.headers)
        self.attempts = response.extensions.get("workersai_attempts", 1)
        self.deadline = response.extensions.get("workersai_deadline")

    def in_time(self) -> None:
        """Raise :class:`StreamInterrupted` once the call's deadline has passed mid-stream."""
        if self.deadline is not None and self.deadline.remaining() <= 0:
            from ..errors import StreamInterrupted

            raise StreamInterrupted(
                f"the deadline of {self.deadline.seconds:g} s passed before {self.model}'s stream ended"
            )

    def feed(self, event: Any) -> list[ChatChunk]:
        """The chunk to pass on for one parsed SSE frame (none when it holds nothing to show)."""
        chunk = parse_stream_event(event)
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        self.tools.add(chunk.tool_calls)
        thought, answer = self.think.feed(chunk.text)
        reasoning = chunk.reasoning + thought
        text = self.stop.feed(answer)
        if not text and not reasoning and not chunk.tool_calls:
            return []
        return [ChatChunk(text=text, reasoning=reasoning, tool_calls=chunk.tool_calls)]

    def tool_calls(self) -> list[ToolCall]:
        return self.tools.tool_calls()

    def finish(self) -> Iterator[ChatChunk]:
        thought, answer = self.think.flush()
        rest = self.stop.feed(answer) + self.stop.flush()
        if rest or thought:
            yield ChatChunk(text=rest, reasoning=thought)
        if self.usage is not None:
            record_usage(self.model, self.usage.prompt_tokens, self.usage.completion_tokens)
        finish = self.finish_reason or ("stop" if self.stop.stopped else None)
        if self.tools.tool_calls() and finish is None:
            finish = "tool_calls"
        yield ChatChunk(
            usage=self.usage,
            finish_reason=finish or "stop",
            gateway=self.gateway,
            model=self.model,
            attempts=self.attempts,
        )
