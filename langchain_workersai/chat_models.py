"""``ChatWorkersAI``: Workers AI text generation as a LangChain chat model."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from operator import itemgetter
from typing import TYPE_CHECKING, Any, Literal, cast

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.language_models.base import LangSmithParams
from langchain_core.messages import (
    AIMessage,
    AIMessageChunk,
    BaseMessage,
    ChatMessage,
    HumanMessage,
    SystemMessage,
    ToolMessage,
    convert_to_openai_image_block,
)
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableConfig, RunnableMap, RunnablePassthrough
from langchain_core.utils.function_calling import convert_to_json_schema, convert_to_openai_tool
from langchain_core.utils.pydantic import is_basemodel_subclass
from pydantic import BaseModel, ConfigDict, Field, model_validator

from workersai import DEFAULT_CHAT_MODEL
from workersai import WorkersAI as CoreClient
from workersai.chat import CHAT_OPTIONS, ChatOptions, take_chat_options
from workersai.errors import BadInput
from workersai.gateway import GatewayOptions
from workersai.keywords import refuse_unknown
from workersai.settings import (
    CALL_OPTIONS,
    ChatOptionFields,
    ClientSettings,
    check_extra_body,
    with_extra_body,
)
from workersai.types import ChatChunk, GatewayInfo, Usage
from workersai.types import ChatResult as CoreResult

if TYPE_CHECKING:  # only bind_tools' argument type; the output parsers are imported where used
    from langchain_core.tools import BaseTool

PROVIDER = "workersai"


_SKIPPED_BLOCKS = frozenset({"tool_use", "tool_call", "reasoning", "thinking"})
"""Blocks that are not message content: tool calls travel in ``tool_calls``, and a model's reasoning is
never sent back to it as text."""


def _part(block: Any) -> dict[str, Any] | None:
    """One LangChain content block as a core content part (None for a block that is not content)."""
    if isinstance(block, str):
        return {"type": "text", "text": block}
    kind = block.get("type") if isinstance(block, dict) else type(block).__name__
    if kind == "text":
        return {"type": "text", "text": str(block.get("text", ""))}
    if kind in _SKIPPED_BLOCKS:
        return None
    if kind == "image_url":  # OpenAI chat completions' block; the url may be given bare
        image_url = block.get("image_url")
        url = image_url.get("url") if isinstance(image_url, dict) else image_url
        return {"type": "image_url", "image_url": {"url": url}}
    if kind == "image":  # LangChain's standard block: base64 + mime_type, or url (v1 and v0.3 forms)
        try:
            return convert_to_openai_image_block(block)
        except ValueError as exc:
            raise BadInput(f"Workers AI takes images as base64 data or a URL: {exc}") from None
    raise BadInput(f"Workers AI chat takes text and image content blocks; got a {kind!r} block")


def _content(content: str | list[Any]) -> str | list[dict[str, Any]]:
    """A message's content for the core: a string, or OpenAI-style parts when it holds images."""
    if isinstance(content, str):
        return content
    parts = [p for p in (_part(block) for block in content) if p is not None]
    if any(p["type"] != "text" for p in parts):
        return parts
    return "".join(p["text"] for p in parts)


def convert_messages(messages: Sequence[BaseMessage]) -> list[dict[str, Any]]:
    """LangChain messages as Workers AI chat messages.

    Content blocks become the core's content parts: text blocks, LangChain's standard image blocks
    (``{"type": "image", "base64": ..., "mime_type": ...}`` or ``{"type": "image", "url": ...}``, and
    the older ``source_type`` form) and OpenAI ``image_url`` blocks. Whether the model takes images is
    the core's check (:class:`~workersai.errors.BadInput` before any request for a text-only model)."""
    names: dict[str, str] = {}
    out: list[dict[str, Any]] = []
    for m in messages:
        if isinstance(m, SystemMessage):
            out.append({"role": "system", "content": _content(m.content)})
        elif isinstance(m, HumanMessage):
            out.append({"role": "user", "content": _content(m.content)})
        elif isinstance(m, AIMessage):
            item: dict[str, Any] = {"role": "assistant", "content": _content(m.content)}
            if m.tool_calls:
                item["tool_calls"] = [
                    {"id": tc.get("id"), "name": tc["name"], "arguments": tc.get("args") or {}}
                    for tc in m.tool_calls
                ]
                names.update({str(tc.get("id")): tc["name"] for tc in m.tool_calls})
            out.append(item)
        elif isinstance(m, ToolMessage):
            content = m.content if isinstance(m.content, str) else json.dumps(m.content)
            out.append(
                {
                    "role": "tool",
                    "content": content,
                    "tool_call_id": m.tool_call_id,
                    "name": m.name or names.get(m.tool_call_id, ""),
                }
            )
        elif isinstance(m, ChatMessage):
            out.append({"role": m.role, "content": _content(m.content)})
        else:
            raise ValueError(f"unsupported message type {type(m).__name__}")
    return out


def _usage(usage: Usage | None) -> UsageMetadata | None:
    if usage is None:
        return None
    # The detail keys are NotRequired; mypy (python_version 3.10) misreads that, hence the cast.
    return cast(
        UsageMetadata,
        {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        },
    )


def _gateway_metadata(gateway: GatewayInfo | None) -> dict[str, Any]:
    """``gateway_log_id`` / ``gateway_cache_status`` for ``response_metadata`` (AI Gateway answers)."""
    if gateway is None:
        return {}
    return {"gateway_log_id": gateway.log_id, "gateway_cache_status": gateway.cache_status}


def _configured(config: RunnableConfig | None, kwargs: dict[str, Any]) -> dict[str, Any]:
    """The call's keywords with the call options (:data:`CALL_OPTIONS`) its ``RunnableConfig``'s
    ``configurable`` holds (keywords win)."""
    configurable = (config or {}).get("configurable") or {}
    for name in CALL_OPTIONS:
        if kwargs.get(name) is None and configurable.get(name) is not None:
            kwargs[name] = configurable[name]
    return kwargs


class ChatWorkersAI(ClientSettings, ChatOptionFields, BaseChatModel):
    """Cloudflare Workers AI chat models (``@cf/meta/llama-3.3-70b-instruct-fp8-fast`` by default).

    Setup: set ``CLOUDFLARE_ACCOUNT_ID`` and ``CLOUDFLARE_API_TOKEN`` (or pass ``account_id`` and
    ``api_key``); ``base_url`` points it at the local emulator.

    .. code-block:: python

        from langchain_workersai import ChatWorkersAI

        llm = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", temperature=0)
        llm.invoke("Hello")
        for chunk in llm.stream("Tell me a story"):
            print(chunk.content, end="")

    Tool calling (``bind_tools``), structured output (``with_structured_output`` with
    ``json_schema``, ``function_calling`` or ``json_mode``), usage metadata, async and batch calls are
    supported. AI Gateway: ``gateway_id`` routes through a gateway, ``gateway=GatewayOptions(...)`` (on
    the model or per call) sets its cache, metadata and retries, ``session_id`` keeps a conversation on
    one model instance; the gateway's log id and cache status come back in ``response_metadata``
    (``gateway_log_id``, ``gateway_cache_status``). Errors are the core's typed errors
    (``workersai.CapacityExceeded`` and so on).

    Retries and fallbacks: the client retries ``max_retries`` times (3). ``.with_retry(...)`` and
    ``.with_fallbacks(...)`` on this model (and ``with_workersai_retry`` / ``with_model_fallbacks``)
    take the retry budget over: they wrap a copy that does not retry, so the attempts they are asked
    for are the attempts sent; a model with a fallback is tried once with ``rejectIfBusy``. A retry
    wrapper around a whole chain cannot see this model: build it with ``max_retries=0`` there. A call
    may carry ``max_retries``, ``timeout``, ``deadline`` (total seconds) and ``reject_if_busy``
    (``llm.invoke(x, deadline=10)``, ``llm.bind(max_retries=0)``, or ``config={"configurable":
    {"deadline": 10}}``). ``response_metadata`` of an answer (and of a stream's last chunk) holds
    ``model_name`` (the model that answered) and ``attempts``; behind a fallback chain also
    ``fallbacks``.
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    model: str = Field(default=DEFAULT_CHAT_MODEL, alias="model_name")
    streaming: bool = False
    model_kwargs: dict[str, Any] = Field(default_factory=dict)
    """Extra keys sent in the body of every request, for a model input this class does not declare
    (``model_kwargs={"max_completion_tokens": 64}``); merged last. A key the class declares
    (``temperature``) is refused: pass it as its own keyword."""

    @model_validator(mode="after")
    def _model_kwargs_not_declared(self) -> ChatWorkersAI:
        check_extra_body(self.model_kwargs, type(self).model_fields, "model_kwargs")
        return self

    @property
    def _llm_type(self) -> str:
        return "workersai-chat"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model": self.model, **self.chat_options()}

    def _get_ls_params(self, stop: list[str] | None = None, **kwargs: Any) -> LangSmithParams:
        params = LangSmithParams(
            ls_provider=PROVIDER,
            ls_model_name=kwargs.get("model", self.model),
            ls_model_type="chat",
            ls_temperature=kwargs.get("temperature", self.temperature),
        )
        max_tokens = kwargs.get("max_tokens", self.max_tokens)
        if max_tokens is not None:
            params["ls_max_tokens"] = max_tokens
        stops = stop or kwargs.get("stop") or self.stop
        if stops:
            params["ls_stop"] = list(stops)
        return params

    def _request(
        self, stop: list[str] | None, kwargs: dict[str, Any]
    ) -> tuple[CoreClient, str, ChatOptions, GatewayOptions | None]:
        """The client, model, options and AI Gateway settings of one call: LangChain's ``stop`` and any
        chat option or ``gateway=GatewayOptions(...)`` passed to ``invoke``/``bind`` override the model's
        fields; call options (:data:`CALL_OPTIONS`, from the call's keywords or its ``RunnableConfig``'s
        ``configurable``) the client's settings."""
        client = self.call_client(kwargs)
        model = kwargs.pop("model", self.model)
        gateway = self.gateway_options(kwargs.pop("gateway", None))
        overrides = take_chat_options(kwargs)
        if stop is not None:
            overrides["stop"] = stop
        kwargs.pop("ls_structured_output_format", None)
        kwargs.pop("stream_usage", None)
        refuse_unknown(
            kwargs, (), "ChatWorkersAI", (*CHAT_OPTIONS, *CALL_OPTIONS, "model", "gateway", "stop")
        )
        return client, model, with_extra_body(self.chat_options(overrides), self.model_kwargs), gateway

    @staticmethod
    def _message(result: CoreResult) -> AIMessage:
        """The answer as ``content``; the model's reasoning, when it gave any, in
        ``additional_kwargs["reasoning_content"]``, which langchain-core shows as a standard
        ``reasoning`` block in ``content_blocks``."""
        return AIMessage(
            content=result.text,
            additional_kwargs={"reasoning_content": result.reasoning} if result.reasoning else {},
            tool_calls=[
                {"name": c.name, "args": c.arguments, "id": c.id, "type": "tool_call"}
                for c in result.tool_calls
            ],
            usage_metadata=_usage(result.usage),
            response_metadata={
                "model_name": result.model,
                "model_provider": PROVIDER,
                "finish_reason": result.finish_reason,
                **_gateway_metadata(result.gateway),
                "attempts": result.attempts,
            },
        )

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client, model, options, gateway = self._request(stop, kwargs)
        result = client.chat(convert_messages(messages), model=model, gateway=gateway, **options)
        return ChatResult(generations=[ChatGeneration(message=self._message(result))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        client, model, options, gateway = self._request(stop, kwargs)
        result = await client.achat(convert_messages(messages), model=model, gateway=gateway, **options)
        return ChatResult(generations=[ChatGeneration(message=self._message(result))])

    @staticmethod
    def _chunk(chunk: ChatChunk, model: str) -> ChatGenerationChunk:
        """One core chunk; a piece of reasoning goes to ``additional_kwargs["reasoning_content"]``
        (joined when chunks are added), never to ``content``."""
        message = AIMessageChunk(
            content=chunk.text,
            additional_kwargs={"reasoning_content": chunk.reasoning} if chunk.reasoning else {},
            tool_call_chunks=[
                {"name": d.name, "args": d.arguments, "id": d.id, "index": d.index, "type": "tool_call_chunk"}
                for d in chunk.tool_calls
            ],
        )
        if chunk.finish_reason is not None:  # the last chunk: usage and model, once per stream
            message.usage_metadata = _usage(chunk.usage)
            message.response_metadata = {
                "model_name": chunk.model or model,
                "model_provider": PROVIDER,
                "finish_reason": chunk.finish_reason,
                **_gateway_metadata(chunk.gateway),
                "attempts": chunk.attempts or 1,
            }
            message.chunk_position = "last"
        return ChatGenerationChunk(message=message)

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        client, model, options, gateway = self._request(stop, kwargs)
        if "response_format" in options:  # Workers AI refuses to stream JSON mode: answer in one chunk
            result = client.chat(convert_messages(messages), model=model, gateway=gateway, **options)
            yield self._whole(result)
            return
        wire = convert_messages(messages)
        for chunk in client.stream_chat(wire, model=model, gateway=gateway, **options):
            generation = self._chunk(chunk, model)
            if run_manager and chunk.text:
                run_manager.on_llm_new_token(chunk.text, chunk=generation)
            yield generation

    async def _astream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[ChatGenerationChunk]:
        client, model, options, gateway = self._request(stop, kwargs)
        if "response_format" in options:
            result = await client.achat(convert_messages(messages), model=model, gateway=gateway, **options)
            yield self._whole(result)
            return
        wire = convert_messages(messages)
        async for chunk in client.astream_chat(wire, model=model, gateway=gateway, **options):
            generation = self._chunk(chunk, model)
            if run_manager and chunk.text:
                await run_manager.on_llm_new_token(chunk.text, chunk=generation)
            yield generation

    def _whole(self, result: CoreResult) -> ChatGenerationChunk:
        message = self._message(result)
        return ChatGenerationChunk(
            message=AIMessageChunk(
                content=message.content,
                additional_kwargs=message.additional_kwargs,
                tool_call_chunks=[
                    {
                        "name": c["name"],
                        "args": json.dumps(c["args"]),
                        "id": c["id"],
                        "index": i,
                        "type": "tool_call_chunk",
                    }
                    for i, c in enumerate(message.tool_calls)
                ],
                usage_metadata=message.usage_metadata,
                response_metadata=message.response_metadata,
                chunk_position="last",
            )
        )

    # -- call options from a RunnableConfig's "configurable" -------------------------------------
    def invoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        return super().invoke(input, config, stop=stop, **_configured(config, kwargs))

    async def ainvoke(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AIMessage:
        return await super().ainvoke(input, config, stop=stop, **_configured(config, kwargs))

    def stream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[AIMessageChunk]:
        return super().stream(input, config, stop=stop, **_configured(config, kwargs))

    def astream(
        self,
        input: LanguageModelInput,
        config: RunnableConfig | None = None,
        *,
        stop: list[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[AIMessageChunk]:
        return super().astream(input, config, stop=stop, **_configured(config, kwargs))

    # -- retries and fallbacks: the wrapper owns the budget ---------------------------------------
    def with_retry(self, **kwargs: Any) -> Runnable[LanguageModelInput, AIMessage]:
        """LangChain's ``with_retry`` around a copy of this model that does not retry itself, so
        ``stop_after_attempt=3`` sends at most 3 requests (not 3 x 4)."""
        return BaseChatModel.with_retry(self.without_retries(), **kwargs)

    def with_fallbacks(self, fallbacks: Sequence[Runnable[Any, Any]], **kwargs: Any) -> Any:
        """LangChain's ``with_fallbacks`` under the budget rules of
        :func:`~langchain_workersai.with_model_fallbacks`: this model (and every fallback but the last)
        tried once with ``rejectIfBusy``, skipped while its breaker is open; the last one retries."""
        from .runnables import fallback_chain

        return fallback_chain(self, list(fallbacks), **kwargs)

    # -- tools and structured output ------------------------------------------------------------
    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: dict[str, Any] | str | bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Offer tools to the model. ``tool_choice``: ``"auto"``, ``"none"``, ``"any"``/``"required"``,
        ``True`` (the only tool), or a tool name."""
        formatted = [convert_to_openai_tool(t) for t in tools]
        if tool_choice is True:
            if len(formatted) != 1:
                raise ValueError("tool_choice=True needs exactly one tool")
            tool_choice = formatted[0]["function"]["name"]
        elif tool_choice is False:
            tool_choice = None
        elif tool_choice == "any":
            tool_choice = "required"
        return super().bind(tools=formatted, tool_choice=tool_choice, **kwargs)

    def with_structured_output(
        self,
        schema: dict[str, Any] | type,
        *,
        method: Literal["function_calling", "json_schema", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, dict[str, Any] | BaseModel]:
        """Answers shaped by ``schema`` (a pydantic class, TypedDict or JSON schema)."""
        from langchain_core.output_parsers import (
            JsonOutputKeyToolsParser,
            JsonOutputParser,
            PydanticOutputParser,
            PydanticToolsParser,
        )

        if kwargs:
            raise ValueError(f"unexpected arguments: {sorted(kwargs)}")
        pydantic = isinstance(schema, type) and is_basemodel_subclass(schema)
        parser: Runnable[Any, Any]
        if method == "function_calling":
            tool = convert_to_openai_tool(schema)
            name = tool["function"]["name"]
            llm = self.bind_tools([schema], tool_choice=name, ls_structured_output_format={"schema": tool})
            parser = (
                PydanticToolsParser(tools=[schema], first_tool_only=True)  # type: ignore[list-item]
                if pydantic
                else JsonOutputKeyToolsParser(key_name=name, first_tool_only=True)
            )
        elif method in ("json_schema", "json_mode"):
            if method == "json_schema":
                json_schema = convert_to_json_schema(schema)
                response_format: dict[str, Any] = {"type": "json_schema", "json_schema": json_schema}
            else:
                response_format = {"type": "json_object"}
            llm = self.bind(
                response_format=response_format,
                ls_structured_output_format={"schema": schema, "kwargs": {"method": method}},
            )
            parser = PydanticOutputParser(pydantic_object=schema) if pydantic else JsonOutputParser()  # type: ignore[arg-type]
        else:
            raise ValueError(f"method must be function_calling, json_schema or json_mode, not {method!r}")
        if not include_raw:
            return llm | parser
        parsed = RunnablePassthrough.assign(parsed=itemgetter("raw") | parser, parsing_error=lambda _: None)
        fallback = RunnablePassthrough.assign(parsed=lambda _: None)
        return RunnableMap(raw=llm) | parsed.with_fallbacks([fallback], exception_key="parsing_error")
