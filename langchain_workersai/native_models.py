"""``WorkersAIDecisionModel`` (Clef) and ``WorkersAIExtractionModel`` (Clairic) for LangChain.

Both are chat models without text generation: ``invoke`` (``ainvoke``, ``batch``...) answers the
model's configured ``questions`` / ``fields`` about the messages' text as JSON in the message content,
with ``usage_metadata``; ``decide`` / ``extract`` take them per call and return the typed answers.
``with_structured_output(PydanticClass)`` answers a schema natively (:mod:`workersai.structured`:
strings, numbers, dates and lists by Clairic; booleans and enums/literals by Clef; each model asks the
other for the part it does not answer), and ``create_agent(model, tools=[], response_format=Class)``
works on it (provider strategy: ``response_format`` bound; tool strategy: one output-schema tool).
Executable tools are refused: these models do not call tools."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import uuid4

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel, LanguageModelInput
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from langchain_core.tools import BaseTool
from langchain_core.utils.function_calling import convert_to_openai_tool
from pydantic import BaseModel, Field

from workersai import Decision, Extraction
from workersai.decisions import DEFAULT_DECISION_MODEL
from workersai.errors import UnsupportedInput
from workersai.extraction import EXTRACTION_MODEL
from workersai.settings import ClientSettings
from workersai.structured import StructuredAnswer, StructuredPlan


def message_input(messages: Sequence[BaseMessage]) -> tuple[str, list[str], list[str]]:
    """The state (the non-system messages' text), embedded images, and the system messages' text."""
    texts: list[str] = []
    images: list[str] = []
    system: list[str] = []
    for message in messages:
        content = message.content
        blocks = [{"type": "text", "text": content}] if isinstance(content, str) else content
        for block in blocks:
            if isinstance(block, str):
                block = {"type": "text", "text": block}
            kind = block.get("type")
            if kind == "text":
                (system if message.type == "system" else texts).append(str(block.get("text", "")))
            elif kind == "image_url":
                url = block["image_url"]
                images.append(url["url"] if isinstance(url, Mapping) else url)
            elif (kind == "image" and block.get("base64")) or block.get("data"):
                mime = block.get("mime_type", "image/png")
                images.append(f"data:{mime};base64,{block.get('base64') or block.get('data')}")
            else:
                raise UnsupportedInput(f"content block {kind!r}: these models read text and images")
    return "\n\n".join(t for t in texts if t), images, system


def usage_of(*answers: Decision | Extraction | None) -> dict[str, int]:
    tokens = sum(a.input_tokens for a in answers if a is not None)
    out = sum(a.output_tokens for a in answers if a is not None)
    return {"input_tokens": tokens, "output_tokens": out, "total_tokens": tokens + out}


class _NativeModel(ClientSettings, BaseChatModel):
    """What the two models share: the companion models, structured output and the agent path."""

    decision_model: str = DEFAULT_DECISION_MODEL
    extraction_model: str = EXTRACTION_MODEL
    boolean_threshold: float = Field(default=0.5, ge=0, le=1)
    profile: Any = Field(default_factory=lambda: {"structured_output": True, "tool_calling": False})

    @property
    def _llm_type(self) -> str:
        return "workersai-native"

    def _companions(self) -> tuple[str, str]:
        """The extraction and the decision model a structured answer uses (a model's own for its kind)."""
        return self.extraction_model, self.decision_model

    def _plan(self, schema: Mapping[str, Any]) -> StructuredPlan:
        extraction_model, decision_model = self._companions()
        return StructuredPlan.build(
            schema,
            extraction_model=extraction_model,
            decision_model=decision_model,
            boolean_threshold=self.boolean_threshold,
        )

    def with_structured_output(
        self, schema: type[BaseModel] | Mapping[str, Any], *, include_raw: bool = False, **kwargs: Any
    ) -> Runnable[LanguageModelInput, Any]:
        """A Runnable answering ``schema`` natively (see the module docstring): text, a list of
        messages, or ``{"state", "images", "reference_date"}`` in; the validated instance out (with
        ``include_raw``: ``{"raw", "parsed", "parsing_error"}``, ``raw`` the message)."""
        if kwargs:
            raise TypeError(f"with_structured_output got unknown arguments: {sorted(kwargs)}")
        model_class = schema if isinstance(schema, type) and issubclass(schema, BaseModel) else None
        if model_class is not None:
            document = model_class.model_json_schema()
        elif isinstance(schema, Mapping):
            document = dict(schema)
        else:
            raise TypeError("schema must be a pydantic class or a JSON schema")
        plan = self._plan(document)

        def finish(answer: StructuredAnswer) -> Any:
            message = self._message(json.dumps(answer.values, default=str), answer)
            try:
                parsed = model_class.model_validate(answer.values) if model_class else answer.values
            except Exception as exc:
                if not include_raw:
                    raise
                return {"raw": message, "parsed": None, "parsing_error": exc}
            return {"raw": message, "parsed": parsed, "parsing_error": None} if include_raw else parsed

        def invoke(value: Any) -> Any:
            return finish(plan.run(self.workers_ai, *self._state(value)))

        async def ainvoke(value: Any) -> Any:
            return finish(await plan.arun(self.workers_ai, *self._state(value)))

        return RunnableLambda(invoke, afunc=ainvoke, name="WorkersAIStructuredOutput")

    def _state(self, value: Any) -> tuple[str, list[str] | None, str | None]:
        if isinstance(value, str):
            return value, None, None
        if isinstance(value, Mapping):
            return str(value.get("state", "")), value.get("images"), value.get("reference_date")
        messages = self._convert_input(value).to_messages()
        state, images, _ = message_input(messages)
        return state, images or None, None

    def _message(self, content: str, answer: StructuredAnswer, tool: str | None = None) -> AIMessage:
        calls = [{"name": tool, "args": answer.values, "id": f"call_{uuid4().hex[:12]}", "type": "tool_call"}]
        return AIMessage(
            content="" if tool else content,
            tool_calls=calls if tool else [],
            response_metadata=self._metadata(answer.raw, answer.neurons),
            usage_metadata=usage_of(answer.extraction, answer.decision),
        )

    def _metadata(self, raw: dict[str, Any], neurons: float | None) -> dict[str, Any]:
        return {"model_name": self._model_name(), "native": raw, "neurons": neurons}

    def _model_name(self) -> str:
        return str(getattr(self, "model", ""))

    def bind_tools(
        self,
        tools: Sequence[dict[str, Any] | type | Callable[..., Any] | BaseTool],
        *,
        tool_choice: str | None = None,
        **kwargs: Any,
    ) -> Runnable[LanguageModelInput, AIMessage]:
        """Output schemas only (LangChain's agent structured output): ``response_format`` with no tools
        (provider strategy), or exactly one schema tool (tool strategy). Executable tools raise."""
        kwargs.pop("strict", None)
        if "response_format" in kwargs:
            if tools:
                raise UnsupportedInput("these models do not call tools; pass tools=[]")
            return self.bind(**kwargs)
        if len(tools) != 1 or not (
            isinstance(tools[0], dict) or (isinstance(tools[0], type) and issubclass(tools[0], BaseModel))
        ):
            schema_tool = len(tools) == 1 and isinstance(tools[0], BaseTool) and _declarative(tools[0])
            if not schema_tool:
                raise UnsupportedInput("these models do not call tools; only one output schema can be bound")
        function = convert_to_openai_tool(tools[0])["function"]
        return self.bind(output_tool=function, **kwargs)

    def _request(
        self, messages: list[BaseMessage], kwargs: Mapping[str, Any]
    ) -> tuple[StructuredPlan | None, str | None]:
        tool = kwargs.get("output_tool")
        fmt = kwargs.get("response_format")
        if tool:
            return self._plan(tool["parameters"]), tool["name"]
        if isinstance(fmt, Mapping) and fmt.get("type") == "json_schema":
            return self._plan(fmt["json_schema"]["schema"]), None
        return None, None

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        state, images, _ = message_input(messages)
        plan, tool = self._request(messages, kwargs)
        if plan is None:
            return self._own(state, images)
        return self._result(plan.run(self.workers_ai, state, images or None), tool)

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        state, images, _ = message_input(messages)
        plan, tool = self._request(messages, kwargs)
        if plan is None:
            return await self._aown(state, images)
        return self._result(await plan.arun(self.workers_ai, state, images or None), tool)

    def _result(self, answer: StructuredAnswer, tool: str | None) -> ChatResult:
        message = self._message(json.dumps(answer.values, default=str), answer, tool)
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _own(self, state: str, images: list[str]) -> ChatResult:
        raise NotImplementedError

    async def _aown(self, state: str, images: list[str]) -> ChatResult:
        raise NotImplementedError

    def _answer(self, answer: Decision | Extraction) -> ChatResult:
        message = AIMessage(
            content=json.dumps(answer.values, default=str),
            response_metadata=self._metadata(answer.raw, answer.neurons),
            usage_metadata=usage_of(answer),
        )
        return ChatResult(generations=[ChatGeneration(message=message)])


def _declarative(tool: BaseTool) -> bool:
    return getattr(tool, "func", None) is None and getattr(tool, "coroutine", None) is None


class WorkersAIDecisionModel(_NativeModel):
    """Clef (``@cf/cloudflare/clef-flash`` by default; ``clef``, ``clef-omni``) as a LangChain model.

    ``invoke(text or messages)`` answers ``questions`` (set on the model) about the input: the message
    content is ``{question id: value}`` JSON (a bool, an option, a score), ``response_metadata["native"]``
    the service's answer. ``decide(state, questions)`` returns the typed :class:`workersai.Decision`."""

    model: str = Field(default=DEFAULT_DECISION_MODEL, alias="model_name")
    questions: dict[str, Any] | None = None

    def decide(self, state: Any, questions: Mapping[str, Any] | None = None, **kwargs: Any) -> Decision:
        return self.workers_ai.decide(state, questions or self.questions or {}, model=self.model, **kwargs)

    async def adecide(
        self, state: Any, questions: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Decision:
        return await self.workers_ai.adecide(
            state, questions or self.questions or {}, model=self.model, **kwargs
        )

    def _own(self, state: str, images: list[str]) -> ChatResult:
        return self._answer(self.decide(state, images=images or None))

    async def _aown(self, state: str, images: list[str]) -> ChatResult:
        return self._answer(await self.adecide(state, images=images or None))

    def _companions(self) -> tuple[str, str]:
        return self.extraction_model, self.model


class WorkersAIExtractionModel(_NativeModel):
    """Clairic (``@cf/cloudflare/clairic``) as a LangChain model.

    ``invoke(text or messages)`` extracts ``fields`` (set on the model) from the input: the message
    content is ``{field id: value}`` JSON, ``response_metadata["native"]`` the service's answer.
    ``extract(state, fields)`` returns the typed :class:`workersai.Extraction`."""

    model: str = Field(default=EXTRACTION_MODEL, alias="model_name")
    fields: dict[str, Any] | None = None

    def extract(self, state: str, fields: Mapping[str, Any] | None = None, **kwargs: Any) -> Extraction:
        return self.workers_ai.extract(state, fields or self.fields or {}, model=self.model, **kwargs)

    async def aextract(
        self, state: str, fields: Mapping[str, Any] | None = None, **kwargs: Any
    ) -> Extraction:
        return await self.workers_ai.aextract(state, fields or self.fields or {}, model=self.model, **kwargs)

    def _own(self, state: str, images: list[str]) -> ChatResult:
        return self._answer(self.extract(state, images=images or None))

    async def _aown(self, state: str, images: list[str]) -> ChatResult:
        return self._answer(await self.aextract(state, images=images or None))

    def _companions(self) -> tuple[str, str]:
        return self.model, self.decision_model
