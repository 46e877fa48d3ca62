"""Chat request building and response parsing, free of I/O.

Both answer shapes of Workers AI are understood: the legacy one (``response``, ``tool_calls`` as
``{name, arguments}``, ``usage``) and the OpenAI ``chat.completion`` one (``choices[0].message``, tool
calls as ``{id, type, function: {name, arguments}}``). Stop sequences are applied on the client too,
so they hold whatever the model does with them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Literal, cast

from typing_extensions import TypedDict, Unpack

from .content import images, joined_text, parse_content, place_images, wire_parts
from .errors import BadInput, ResponseFormatError
from .types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage

Role = Literal["system", "user", "assistant", "tool"]
ToolChoice = Literal["auto", "none", "any", "required"] | str | dict[str, Any] | None

_ROLES = {"system", "user", "assistant", "tool"}


class ChatOptions(TypedDict, total=False):
    """The options of a chat call, defined here once.

    :meth:`WorkersAI.chat <workersai.WorkersAI.chat>` and its twins take them as keyword arguments;
    the LangChain and LlamaIndex models keep defaults for them and merge per-call values over those with
    :func:`merge_chat_options`. None leaves the option unset (the service's default applies); 0 is a
    value like any other.
    """

    max_tokens: int | None
    """Most tokens to generate (the service's default is 256)."""
    temperature: float | None
    """Sampling temperature, 0 to 5 (0 picks the likeliest token; the service's default is 0.6)."""
    top_p: float | None
    """Nucleus sampling: the probability mass the sampled tokens are drawn from."""
    top_k: int | None
    """Sample only from the ``top_k`` likeliest tokens."""
    seed: int | None
    """Seed of the sampler, for repeatable answers."""
    repetition_penalty: float | None
    """Penalty on tokens already generated."""
    frequency_penalty: float | None
    """Penalty growing with how often a token has appeared."""
    presence_penalty: float | None
    """Penalty on any token that has appeared."""
    stop: Sequence[str] | None
    """Stop sequences; also applied by the client, whatever the model does with them."""
    tools: Sequence[Mapping[str, Any]] | None
    """Tools the model may call, in the legacy ``{name, description, parameters}`` or OpenAI shape."""
    tool_choice: ToolChoice
    """``"auto"``, ``"none"``, ``"any"``/``"required"``, a tool name or ``{"function": {"name"}}``."""
    response_format: Mapping[str, Any] | None
    """JSON mode: ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``."""


CHAT_OPTIONS: tuple[str, ...] = tuple(ChatOptions.__annotations__)
"""The names of every chat option, in the order they are defined."""

_STRUCTURED = frozenset({"stop", "tools", "tool_choice", "response_format"})
"""Options :func:`build_chat_payload` shapes itself; the others go on the wire as given."""


def _check_names(options: Mapping[str, Any]) -> None:
    unknown = set(options).difference(CHAT_OPTIONS)
    if unknown:
        raise TypeError(f"unknown chat options {sorted(unknown)}; the options are {list(CHAT_OPTIONS)}")


def merge_chat_options(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> ChatOptions:
    """``overrides`` (a call's values) over ``defaults`` (a model's), option by option.

    A value wins when it is not None, so ``temperature=0`` or ``seed=0`` is sent, never dropped as
    falsy; options None in both are left out. A name that is not a chat option raises ``TypeError``."""
    _check_names(defaults)
    _check_names(overrides)
    merged: dict[str, Any] = {}
    for name in CHAT_OPTIONS:
        value = overrides.get(name)
        if value is None:
            value = defaults.get(name)
        if value is not None:
            merged[name] = value
    return cast(ChatOptions, merged)


def take_chat_options(kwargs: MutableMapping[str, Any]) -> dict[str, Any]:
    """Remove the chat options from a framework's ``**kwargs`` and return them."""
    return {name: kwargs.pop(name) for name in CHAT_OPTIONS if name in kwargs}


def tool_name(tool: Mapping[str, Any]) -> str:
    """The name of a tool in either shape (legacy ``{name, ...}`` or OpenAI ``{type, function}``)."""
    fn = tool.get("function") if tool.get("type") == "function" else tool
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not isinstance(name, str) or not name:
        raise BadInput(f"tool without a name: {dict(tool)!r}")
    return name


def select_tools(tools: Sequence[Mapping[str, Any]] | None, tool_choice: ToolChoice) -> list[dict[str, Any]]:
    """Apply ``tool_choice`` by choosing which tools to send (Workers AI has no ``tool_choice``)."""
    if not tools or tool_choice == "none":
        return []
    chosen = [dict(t) for t in tools]
    names = [tool_name(t) for t in chosen]
    wanted: str | None = None
    if isinstance(tool_choice, Mapping):
        fn = tool_choice.get("function")
        wanted = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
    elif isinstance(tool_choice, str) and tool_choice not in ("auto", "any", "required"):
        wanted = tool_choice
    if wanted is None:
        return chosen
    if wanted not in names:
        raise BadInput(f"tool_choice names {wanted!r}, which is not among the tools {names}")
    return [t for t, n in zip(chosen, names, strict=True) if n == wanted]


def wire_tool_choice(tool_choice: ToolChoice, selected: Sequence[Mapping[str, Any]]) -> Any:
    """``tool_choice`` as sent (OpenAI form) when it forces a call; None for "auto" or nothing.

    The tools sent are already narrowed to the chosen one, so a service that ignores the field still
    sees only that tool."""
    if tool_choice in ("any", "required"):
        return "required"
    if tool_choice in (None, "auto", "none"):
        return None
    return {"type": "function", "function": {"name": tool_name(selected[0])}}


def normalize_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """Check one message and bring it to the wire shape.

    ``content`` may be a string or a list of OpenAI-style parts (``{"type": "text", "text"}``,
    ``{"type": "image_url", "image_url": {"url"}}`` with an ``https://`` or ``data:image/...;base64,``
    URL; see :mod:`workersai.content`). Text-only parts become one string; a message with images keeps
    its checked parts, which :func:`build_chat_payload` places in the model's own form. Images are
    taken in user messages only, as OpenAI's chat format has them."""
    role = message.get("role")
    if role not in _ROLES:
        raise BadInput(f"message role must be one of {sorted(_ROLES)}, got {role!r}")
    parts = parse_content(message.get("content"))
    content: str | list[dict[str, Any]] = joined_text(parts)
    if images(parts):
        if role != "user":
            raise BadInput(f"images are taken in user messages only, not in a {role} message")
        content = wire_parts(parts)
    out: dict[str, Any] = {"role": role, "content": content}
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": tc.get("id") or new_tool_call_id(),
                "type": "function",
                "function": {"name": tc["name"], "arguments": json.dumps(tc.get("arguments") or {})},
            }
            for tc in message["tool_calls"]
        ]
    if role == "tool":
        if message.get("tool_call_id"):
            out["tool_call_id"] = message["tool_call_id"]
        if message.get("name"):
            out["name"] = message["name"]
    return out


def build_chat_payload(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str | None = None,
    stream: bool = False,
    **options: Unpack[ChatOptions],
) -> dict[str, Any]:
    """The JSON body for ``/ai/run/{model}``; raises :class:`BadInput` on anything invalid.

    ``model`` decides how images are sent (:func:`workersai.content.place_images`); an image for a model
    the catalog marks text-only is refused here, before any request."""
    _check_names(options)
    if not messages:
        raise BadInput("messages must not be empty")
    wire = [normalize_message(m) for m in messages]
    if not any(m["content"] or m.get("tool_calls") for m in wire):
        raise BadInput("every message is empty")
    payload: dict[str, Any] = {"messages": wire, **place_images(wire, model)}
    max_tokens = options.get("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        raise BadInput(f"max_tokens must be at least 1, got {max_tokens}")
    temperature = options.get("temperature")
    if temperature is not None and not 0 <= temperature <= 5:
        raise BadInput(f"temperature must be between 0 and 5, got {temperature}")
    for name, value in options.items():
        if value is not None and name not in _STRUCTURED:
            payload[name] = value
    stop = options.get("stop")
    if stop:
        payload["stop"] = list(stop)
    tool_choice = options.get("tool_choice")
    response_format = options.get("response_format")
    selected = select_tools(options.get("tools"), tool_choice)
    if selected:
        payload["tools"] = selected
        forced = wire_tool_choice(tool_choice, selected)
        if forced is not None:
            payload["tool_choice"] = forced
    if response_format is not None:
        kind = response_format.get("type")
        if kind not in ("json_object", "json_schema"):
            raise BadInput(f"response_format type must be json_object or json_schema, got {kind!r}")
        if kind == "json_schema" and not isinstance(response_format.get("json_schema"), Mapping):
            raise BadInput("response_format json_schema needs a json_schema object")
        if stream:
            raise BadInput("JSON mode does not support streaming")
        payload["response_format"] = dict(response_format)
    if stream:
        payload["stream"] = True
    return payload


def new_tool_call_id() -> str:
    return f"call_{uuid.uuid4().hex[:24]}"


def _arguments(value: Any) -> dict[str, Any]:
    if value is None or value == "":
        return {}
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise ResponseFormatError(f"tool call arguments are not JSON: {value[:100]!r}") from exc
    if not isinstance(value, dict):
        raise ResponseFormatError(f"tool call arguments are not an object: {value!r}")
    return value


def _tool_call(raw: Any) -> ToolCall:
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"tool call is not an object: {raw!r}")
    fn: Mapping[str, Any] = raw["function"] if isinstance(raw.get("function"), Mapping) else raw
    name = fn.get("name")
    if not isinstance(name, str) or not name:
        raise ResponseFormatError(f"tool call without a name: {raw!r}")
    return ToolCall(
        id=str(raw.get("id") or new_tool_call_id()), name=name, arguments=_arguments(fn.get("arguments"))
    )


def parse_usage(raw: Any) -> Usage | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"usage is not an object: {raw!r}")
    try:
        prompt = int(raw.get("prompt_tokens") or 0)
        completion = int(raw.get("completion_tokens") or 0)
        total = int(raw.get("total_tokens") or prompt + completion)
    except (TypeError, ValueError) as exc:
        raise ResponseFormatError(f"usage is not numeric: {raw!r}") from exc
    return Usage(prompt_tokens=prompt, completion_tokens=completion, total_tokens=total)


def parse_chat_result(model: str, result: Any, stop: Sequence[str] | None = None) -> ChatResult:
    """A :class:`ChatResult` from the ``result`` of a text-generation call, in either shape."""
    if not isinstance(result, Mapping):
        raise ResponseFormatError(f"chat result is not an object: {type(result).__name__}")
    finish: str | None = None
    parsed: Any = None
    if isinstance(result.get("choices"), list):
        if not result["choices"] or not isinstance(result["choices"][0], Mapping):
            raise ResponseFormatError("chat.completion without choices")
        choice = result["choices"][0]
        message = choice.get("message")
        if not isinstance(message, Mapping):
            raise ResponseFormatError("chat.completion choice without a message")
        content = message.get("content")
        raw_calls = message.get("tool_calls") or []
        finish = _text_or_none(choice.get("finish_reason"), "finish_reason")
    elif "response" in result or "tool_calls" in result:
        content = result.get("response")
        raw_calls = result.get("tool_calls") or []
    else:
        raise ResponseFormatError(f"chat result has neither 'response' nor 'choices': keys {sorted(result)}")
    if isinstance(content, (dict, list)):
        parsed = content
        text = json.dumps(content)
    elif content is None:
        text = ""
    elif isinstance(content, str):
        text = content
    else:
        raise ResponseFormatError(f"response is not text: {type(content).__name__}")
    if not isinstance(raw_calls, list):
        raise ResponseFormatError("tool_calls is not a list")
    calls = [_tool_call(c) for c in raw_calls]
    text, _ = apply_stop(text, stop)
    if finish is None:
        finish = "tool_calls" if calls else "stop"
    return ChatResult(
        model=model,
        text=text,
        tool_calls=calls,
        usage=parse_usage(result.get("usage")),
        finish_reason=finish,
        parsed=parsed,
        raw=dict(result),
    )


def apply_stop(text: str, stop: Sequence[str] | None) -> tuple[str, bool]:
    """Cut ``text`` at the first stop sequence; says whether it cut."""
    if not stop:
        return text, False
    cut = min((i for s in stop if s and (i := text.find(s)) >= 0), default=-1)
    return (text[:cut], True) if cut >= 0 else (text, False)


def _text_or_none(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise ResponseFormatError(f"{what} is {type(value).__name__}, not a string")


def _tool_call_delta(raw: Any, position: int) -> ToolCallDelta:
    if not isinstance(raw, Mapping):
        raise ResponseFormatError(f"streamed tool call is not an object: {raw!r}")
    fn = raw["function"] if isinstance(raw.get("function"), Mapping) else raw
    index = raw.get("index", position)
    if isinstance(index, bool) or not isinstance(index, int):
        raise ResponseFormatError(f"streamed tool call index is not an integer: {index!r}")
    args = fn.get("arguments")
    if args is not None and not isinstance(args, str):
        args = json.dumps(args)
    return ToolCallDelta(
        index=index,
        id=_text_or_none(raw.get("id"), "tool call id"),
        name=_text_or_none(fn.get("name"), "tool call name"),
        arguments=args or "",
    )


def parse_stream_event(data: Any) -> ChatChunk:
    """One SSE ``data:`` object of a chat stream, in either shape; unknown keys (``p``) are ignored.

    A frame of the wrong shape raises :class:`ResponseFormatError`, never ``KeyError`` or
    ``TypeError``."""
    if not isinstance(data, Mapping):
        raise ResponseFormatError(f"stream event is not an object: {data!r}")
    finish: str | None = None
    choices = data.get("choices")
    if isinstance(choices, list) and choices:
        choice = choices[0]
        if not isinstance(choice, Mapping):
            raise ResponseFormatError(f"stream event choice is not an object: {choice!r}")
        delta = choice.get("delta") or {}
        if not isinstance(delta, Mapping):
            raise ResponseFormatError(f"stream event choice has no delta object: {choice!r}")
        text = _text_or_none(delta.get("content"), "streamed content") or ""
        raw_calls = delta.get("tool_calls")
        finish = _text_or_none(choice.get("finish_reason"), "finish_reason")
    else:
        text = _text_or_none(data.get("response"), "streamed response") or ""
        raw_calls = data.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise ResponseFormatError(f"streamed tool_calls is not a list: {raw_calls!r}")
    deltas = [_tool_call_delta(raw, position) for position, raw in enumerate(raw_calls or [])]
    return ChatChunk(text=text, tool_calls=deltas, usage=parse_usage(data.get("usage")), finish_reason=finish)


class ToolCallAccumulator:
    """Merges streamed tool-call pieces by ``index`` into whole :class:`ToolCall` objects."""

    def __init__(self) -> None:
        self._parts: dict[int, dict[str, Any]] = {}

    def add(self, deltas: Sequence[ToolCallDelta]) -> None:
        for d in deltas:
            part = self._parts.setdefault(d.index, {"id": None, "name": "", "arguments": ""})
            if d.id:
                part["id"] = d.id
            if d.name:
                part["name"] = d.name
            part["arguments"] += d.arguments

    def tool_calls(self) -> list[ToolCall]:
        return [
            _tool_call({"id": p["id"], "name": p["name"], "arguments": p["arguments"]})
            for _, p in sorted(self._parts.items())
        ]


class StopFilter:
    """Applies stop sequences to streamed text, holding back only what could start a stop sequence."""

    def __init__(self, stop: Sequence[str] | None) -> None:
        self._stop = [s for s in (stop or []) if s]
        self._held = ""
        self.stopped = False

    def feed(self, text: str) -> str:
        if self.stopped or not self._stop:
            return "" if self.stopped else text
        buffer = self._held + text
        cut, hit = apply_stop(buffer, self._stop)
        if hit:
            self.stopped = True
            self._held = ""
            return cut
        keep = 0
        for s in self._stop:
            for n in range(min(len(s) - 1, len(buffer)), 0, -1):
                if buffer.endswith(s[:n]):
                    keep = max(keep, n)
                    break
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return buffer[: len(buffer) - keep]

    def flush(self) -> str:
        held, self._held = self._held, ""
        return "" if self.stopped else held
