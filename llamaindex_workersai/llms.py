"""``WorkersAI``: Workers AI text generation as a LlamaIndex function-calling LLM."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from llama_index.core.base.llms.generic_utils import (
    achat_to_completion_decorator,
    astream_chat_to_completion_decorator,
    chat_to_completion_decorator,
    stream_chat_to_completion_decorator,
)
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    ChatResponseAsyncGen,
    ChatResponseGen,
    CompletionResponse,
    CompletionResponseAsyncGen,
    CompletionResponseGen,
    ImageBlock,
    LLMMetadata,
    MessageRole,
    TextBlock,
    ThinkingBlock,
    ToolCallBlock,
)
from llama_index.core.llms.callbacks import llm_chat_callback, llm_completion_callback
from llama_index.core.llms.function_calling import FunctionCallingLLM
from llama_index.core.llms.llm import ToolSelection
from pydantic import Field, model_validator

from workersai import DEFAULT_CHAT_MODEL
from workersai import WorkersAI as CoreClient
from workersai.catalog import get_model
from workersai.chat import CHAT_OPTIONS, ChatOptions, take_chat_options
from workersai.chat_answers import ToolCallAccumulator
from workersai.errors import BadInput
from workersai.fallback import FallbackChain, Route, astream_through, stream_through
from workersai.gateway import GatewayOptions
from workersai.keywords import refuse_unknown
from workersai.settings import (
    CALL_OPTIONS,
    ChatOptionFields,
    ClientSettings,
    check_extra_body,
    with_extra_body,
)
from workersai.types import ChatChunk, ChatResult

if TYPE_CHECKING:
    from llama_index.core.tools.types import BaseTool

_ROLES = {
    MessageRole.SYSTEM: "system",
    MessageRole.DEVELOPER: "system",
    MessageRole.USER: "user",
    MessageRole.ASSISTANT: "assistant",
    MessageRole.CHATBOT: "assistant",
    MessageRole.MODEL: "assistant",
    MessageRole.TOOL: "tool",
    MessageRole.FUNCTION: "tool",
}


def _image_part(block: ImageBlock) -> dict[str, Any]:
    """An ``ImageBlock`` as an ``image_url`` part: its bytes (given, or read from ``path``) as a base64
    data URL, else its ``url`` as given (never downloaded here)."""
    if block.image is None and block.path is None:
        if block.url is None:
            raise BadInput("an ImageBlock needs image bytes, a path or a url")
        return {"type": "image_url", "image_url": {"url": str(block.url)}}
    data = block.resolve_image(as_base64=True).read()
    mime = block.image_mimetype
    if mime is None:
        raise BadInput("the ImageBlock's image type is unknown; set image_mimetype (e.g. 'image/png')")
    return {"type": "image_url", "image_url": {"url": f"data:{mime};base64,{data.decode('ascii')}"}}


def _content(m: ChatMessage) -> str | list[dict[str, Any]]:
    """A message's content for the core: its text, or OpenAI-style parts when it holds images."""
    parts: list[dict[str, Any]] = []
    for block in m.blocks:
        if isinstance(block, TextBlock):
            parts.append({"type": "text", "text": block.text})
        elif isinstance(block, ImageBlock):
            parts.append(_image_part(block))
        elif not isinstance(block, (ThinkingBlock, ToolCallBlock)):  # reasoning and calls are not content
            raise BadInput(f"Workers AI chat takes text and image blocks; got a {type(block).__name__}")
    if any(p["type"] == "image_url" for p in parts):
        return parts
    return m.content or ""


def _calls_of(m: ChatMessage) -> list[dict[str, Any]]:
    """A message's tool calls as core calls (``id``, ``name``, ``arguments``): its ``ToolCallBlock``
    blocks (llama-index-core's current form, 0.14.25 here), else ``additional_kwargs["tool_calls"]``
    (the older form, which this class also writes)."""
    blocks = [b for b in m.blocks if isinstance(b, ToolCallBlock)]
    if blocks:
        calls = [{"id": b.tool_call_id, "name": b.tool_name, "arguments": b.tool_kwargs} for b in blocks]
    else:
        calls = [dict(c) for c in m.additional_kwargs.get("tool_calls") or []]
    for c in calls:  # a block's arguments may be the model's JSON text
        arguments = c.get("arguments")
        if isinstance(arguments, str):
            c["arguments"] = json.loads(arguments or "{}")
    return [
        {"id": c.get("id") or "", "name": c["name"], "arguments": c.get("arguments") or {}} for c in calls
    ]


def convert_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """LlamaIndex messages as Workers AI chat messages.

    ``TextBlock`` and ``ImageBlock`` (image bytes, a file path or a url) become the core's content parts;
    whether the model takes images is the core's check (:class:`~workersai.errors.BadInput` before any
    request for a text-only model)."""
    out = []
    names: dict[str, str] = {}  # tool call id -> tool name: FunctionAgent's tool messages carry only the id
    for m in messages:
        role = _ROLES[MessageRole(m.role)]
        item: dict[str, Any] = {"role": role, "content": _content(m)}
        calls = _calls_of(m) if role == "assistant" else []
        if calls:
            item["tool_calls"] = calls
            names.update((c["id"], c["name"]) for c in calls)
        if role == "tool":
            call_id = m.additional_kwargs.get("tool_call_id", "")
            item["tool_call_id"] = call_id
            item["name"] = (
                m.additional_kwargs.get("name")
                or m.additional_kwargs.get("tool_name")
                or names.get(call_id, "")
            )
        out.append(item)
    return out


def _assistant(text: str, reasoning: str | None, extra: dict[str, Any]) -> ChatMessage:
    """An assistant message whose ``content`` is the answer; the model's reasoning, when it gave any,
    is a :class:`ThinkingBlock` before it, and its tool calls (``extra["tool_calls"]``) are
    :class:`ToolCallBlock` blocks after it as well as ``additional_kwargs["tool_calls"]``."""
    blocks: list[Any] = [ThinkingBlock(content=reasoning)] if reasoning else []
    blocks.append(TextBlock(text=text))
    blocks += [
        ToolCallBlock(tool_call_id=c["id"], tool_name=c["name"], tool_kwargs=c["arguments"])
        for c in extra.get("tool_calls") or []
    ]
    return ChatMessage(role=MessageRole.ASSISTANT, blocks=blocks, additional_kwargs=extra)


def _route(model: str | None, attempts: int | None, fallbacks: int | None) -> dict[str, Any]:
    """Which model answered, after how many requests, leaving how many models: the same keys in
    ``raw`` and ``additional_kwargs`` of ``chat`` and of the last ``stream_chat`` response."""
    return {"model": model, "attempts": attempts, "fallbacks": fallbacks or 0}


def _response(result: ChatResult) -> ChatResponse:
    calls = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in result.tool_calls]
    usage = result.usage.model_dump() if result.usage else None
    message = _assistant(result.text, result.reasoning, {"tool_calls": calls} if calls else {})
    route = _route(result.model, result.attempts, result.fallbacks)
    return ChatResponse(
        message=message,
        raw={
            **route,
            "finish_reason": result.finish_reason,
            "usage": usage,
            "result": result.raw,
            **(
                {"gateway_log_id": result.gateway.log_id, "gateway_cache_status": result.gateway.cache_status}
                if result.gateway
                else {}
            ),
        },
        additional_kwargs={"usage": usage, **route},
    )


class WorkersAI(ClientSettings, ChatOptionFields, FunctionCallingLLM):
    """Cloudflare Workers AI chat models for LlamaIndex
    (``@cf/meta/llama-3.3-70b-instruct-fp8-fast`` by default).

    Setup: ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` (or ``account_id`` / ``api_key``);
    ``base_url`` points it at the local emulator. ``fallback_models`` are tried in order when the
    model is out of capacity, rate limited, unknown or failing (never for bad input), under
    :mod:`workersai.fallback`'s budget rules: a model that has a fallback is tried once with
    ``rejectIfBusy`` (``reject_if_busy=False`` turns that off) and is skipped while its breaker is open;
    only the last model retries. ``deadline`` bounds a whole call; a call's ``max_retries``,
    ``timeout``, ``deadline`` and ``reject_if_busy`` keyword arguments override the fields for it.
    ``raw`` and ``additional_kwargs`` of ``chat`` and of the last ``stream_chat`` response hold
    ``model`` (the one that answered), ``attempts`` and ``fallbacks``.

    .. code-block:: python

        from llamaindex_workersai import WorkersAI

        llm = WorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast")
        print(llm.complete("Hello"))
    """

    model: str = Field(default=DEFAULT_CHAT_MODEL, description="Workers AI model id")
    fallback_models: list[str] = Field(default_factory=list)
    context_window: int | None = None
    additional_kwargs: dict[str, Any] = Field(
        default_factory=dict,
        description="Extra keys sent in every request body (model inputs this class does not declare).",
    )
    """Extra keys sent in the body of every request, for a model input this class does not declare
    (``additional_kwargs={"max_completion_tokens": 64}``, llama-index-llms-openai's name); merged last.
    A key the class declares (``temperature``) is refused: pass it as its own keyword."""

    @model_validator(mode="after")
    def _additional_kwargs_not_declared(self) -> WorkersAI:
        check_extra_body(self.additional_kwargs, type(self).model_fields, "additional_kwargs")
        return self

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAI_LLM"

    @property
    def metadata(self) -> LLMMetadata:
        info = get_model(self.model)
        return LLMMetadata(
            context_window=self.context_window
            or (info.context_window if info and info.context_window else 8192),
            num_output=self.max_tokens or 256,
            is_chat_model=True,
            is_function_calling_model=bool(info and info.function_calling) or info is None,
            model_name=self.model,
        )

    def _options(self, kwargs: dict[str, Any]) -> ChatOptions:
        """The model's option defaults with the call's chat options over them. Called last, once the
        call options and ``gateway`` are taken out: any other keyword (``temprature=0``) is a
        ``TypeError`` naming the likely one, not an option silently left out."""
        options = take_chat_options(kwargs)
        refuse_unknown(kwargs, (), "WorkersAI", (*CHAT_OPTIONS, *CALL_OPTIONS, "gateway"))
        return with_extra_body(self.chat_options(options), self.additional_kwargs)

    def _gateway(self, kwargs: dict[str, Any]) -> GatewayOptions | None:
        """The call's AI Gateway settings (``gateway=GatewayOptions(...)``), else the model's."""
        return self.gateway_options(kwargs.pop("gateway", None))

    def _chain(self, kwargs: dict[str, Any]) -> FallbackChain:
        """The model and its fallbacks for one call, on the client its call options ask for; the
        call's deadline (or the field) is one budget for the whole chain."""
        deadline = kwargs.pop("deadline", None)
        deadline = self.deadline if deadline is None else deadline
        client = self.call_client(kwargs)
        return FallbackChain(
            client, [self.model, *self.fallback_models], reject_if_busy=self.reject_if_busy, deadline=deadline
        )

    # -- chat -----------------------------------------------------------------------------------
    @llm_chat_callback()
    def chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        chain = self._chain(kwargs)
        wire, gateway, options = convert_messages(messages), self._gateway(kwargs), self._options(kwargs)
        return _response(chain.run(lambda c, m: c.chat(wire, model=m, gateway=gateway, **options)))

    @llm_chat_callback()
    async def achat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponse:
        chain = self._chain(kwargs)
        wire, gateway, options = convert_messages(messages), self._gateway(kwargs), self._options(kwargs)

        async def one(client: CoreClient, model: str) -> ChatResult:
            return await client.achat(wire, model=model, gateway=gateway, **options)

        return _response(await chain.arun(one))

    @llm_chat_callback()
    def stream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseGen:
        chain = self._chain(kwargs)
        wire, gateway, options = convert_messages(messages), self._gateway(kwargs), self._options(kwargs)
        # Opened here, not on the first next(): a model is left only before its first chunk arrives.
        stream = stream_through(chain, lambda c, m: c.stream_chat(wire, model=m, gateway=gateway, **options))
        first = next(stream)

        def gen() -> ChatResponseGen:
            assembler = _StreamAssembler(chain.route)
            yield assembler.feed(first)
            for chunk in stream:
                yield assembler.feed(chunk)

        return gen()

    @llm_chat_callback()
    async def astream_chat(self, messages: Sequence[ChatMessage], **kwargs: Any) -> ChatResponseAsyncGen:
        chain = self._chain(kwargs)
        wire, gateway, options = convert_messages(messages), self._gateway(kwargs), self._options(kwargs)
        stream = astream_through(
            chain, lambda c, m: c.astream_chat(wire, model=m, gateway=gateway, **options)
        )
        first = await anext(stream)

        async def gen() -> ChatResponseAsyncGen:
            assembler = _StreamAssembler(chain.route)
            yield assembler.feed(first)
            async for chunk in stream:
                yield assembler.feed(chunk)

        return gen()

    # -- completion -----------------------------------------------------------------------------
    @llm_completion_callback()
    def complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return chat_to_completion_decorator(self.chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def acomplete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponse:
        return await achat_to_completion_decorator(self.achat)(prompt, **kwargs)

    @llm_completion_callback()
    def stream_complete(self, prompt: str, formatted: bool = False, **kwargs: Any) -> CompletionResponseGen:
        return stream_chat_to_completion_decorator(self.stream_chat)(prompt, **kwargs)

    @llm_completion_callback()
    async def astream_complete(
        self, prompt: str, formatted: bool = False, **kwargs: Any
    ) -> CompletionResponseAsyncGen:
        return await astream_chat_to_completion_decorator(self.astream_chat)(prompt, **kwargs)

    # -- tools ----------------------------------------------------------------------------------
    def _prepare_chat_with_tools(
        self,
        tools: Sequence[BaseTool],
        user_msg: str | ChatMessage | None = None,
        chat_history: list[ChatMessage] | None = None,
        verbose: bool = False,
        allow_parallel_tool_calls: bool = False,
        tool_required: bool = False,
        **kwargs: Any,
    ) -> dict[str, Any]:
        messages = list(chat_history or [])
        if isinstance(user_msg, str):
            messages.append(ChatMessage(role=MessageRole.USER, content=user_msg))
        elif user_msg is not None:
            messages.append(user_msg)
        specs = [t.metadata.to_openai_tool() for t in tools]
        if kwargs.get("tool_choice") is None:  # LlamaIndex's programs pass tool_choice=None
            kwargs["tool_choice"] = "required" if tool_required and specs else None
        return {"messages": messages, "tools": specs or None, **kwargs}

    def get_tool_calls_from_response(
        self, response: ChatResponse, error_on_no_tool_call: bool = True, **kwargs: Any
    ) -> list[ToolSelection]:
        calls = _calls_of(response.message)
        if not calls and error_on_no_tool_call:
            raise ValueError(
                f"expected a tool call from {self.model}, got text: {response.message.content!r}"
            )
        selections = []
        for c in calls:
            selections.append(ToolSelection(tool_id=c["id"], tool_name=c["name"], tool_kwargs=c["arguments"]))
        return selections


class _StreamAssembler:
    """Turns core stream chunks into LlamaIndex responses: the text so far, the delta, and on the last
    chunk the merged tool calls and the route (:func:`_route`: the model that answered, attempts,
    fallbacks) in the message's, the response's and ``raw``'s keys. The reasoning so far is a
    :class:`ThinkingBlock` of the message, and each piece of it ``additional_kwargs["thinking_delta"]``
    (as llama-index-llms-ollama streams thinking); ``delta`` and ``content`` hold only the answer."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.text = ""
        self.reasoning = ""
        self.tools = ToolCallAccumulator()

    def feed(self, chunk: ChatChunk) -> ChatResponse:
        self.text += chunk.text
        self.reasoning += chunk.reasoning
        self.tools.add(chunk.tool_calls)
        extra: dict[str, Any] = {}
        details: dict[str, Any] = {"usage": chunk.usage.model_dump()} if chunk.usage else {}
        raw = chunk.model_dump()
        if chunk.finish_reason is not None:
            calls = self.tools.tool_calls()
            if calls:
                extra["tool_calls"] = [{"id": c.id, "name": c.name, "arguments": c.arguments} for c in calls]
            route = _route(chunk.model or self.route.model, chunk.attempts, chunk.fallbacks)
            extra["model"] = route["model"]
            details.update(route)
            raw.update(route)
        if chunk.reasoning:
            details["thinking_delta"] = chunk.reasoning
        return ChatResponse(
            message=_assistant(self.text, self.reasoning or None, extra),
            delta=chunk.text,
            raw=raw,
            additional_kwargs=details,
        )
