"""Chat answers read, free of I/O: every response family's answer and stream event parsed into
:class:`~workersai.types.ChatResult` / :class:`~workersai.types.ChatChunk` (the requests are built in
:mod:`workersai.chat`; the families are listed there).

Stop sequences are applied on the client too (:func:`apply_stop`, :class:`StopFilter`), so they hold
whatever the model does with them.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from . import responses_api
from .catalog import LEGACY, get_model
from .errors import ResponseFormatError
from .reasoning import split_think
from .types import ChatChunk, ChatResult, ToolCall, ToolCallDelta, Usage


def thinks_in_text(model: str | None) -> bool:
    """Whether ``model`` writes its reasoning into the text with ``</think>`` (its opening tag often
    left out): a catalog reasoning model of the legacy family (DeepSeek-R1-distill, QwQ)."""
    info = get_model(model) if model else None
    return bool(info and info.reasoning and info.family == LEGACY)


def _json_in(text: str) -> Any:
    """The JSON value ``text`` is, or holds in a fenced code block (```json ... ```); None if neither."""
    for candidate in (text, *_fenced(text)):
        try:
            return json.loads(candidate)
        except ValueError:
            continue
    return None


def _fenced(text: str) -> list[str]:
    parts = text.split("```")
    return [p.removeprefix("json").strip() for p in parts[1::2]]


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


def _as_text(value: Any, what: str) -> str:
    """Content read as text: a number (Workers AI sometimes answers ``{"response": 42}``) becomes its
    digits; None is empty; anything else but a string is the wrong shape."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return json.dumps(value)
    raise ResponseFormatError(f"{what} is not text: {type(value).__name__}")


def _message_of(result: Mapping[str, Any]) -> dict[str, Any]:
    """Any family's whole answer as ``{content, reasoning, tool_calls, usage, finish_reason}``."""
    if isinstance(result.get("choices"), list):
        if not result["choices"] or not isinstance(result["choices"][0], Mapping):
            raise ResponseFormatError("chat.completion without choices")
        choice = result["choices"][0]
        message = choice.get("message")
        if not isinstance(message, Mapping):
            raise ResponseFormatError("chat.completion choice without a message")
        return {
            "content": message.get("content"),
            "reasoning": message.get("reasoning_content") or message.get("reasoning"),
            "tool_calls": message.get("tool_calls") or [],
            "usage": result.get("usage"),
            "finish_reason": _text_or_none(choice.get("finish_reason"), "finish_reason"),
        }
    if responses_api.is_responses_object(result):
        return responses_api.as_message(result)
    if "response" in result or "tool_calls" in result:
        return {
            "content": result.get("response"),
            "reasoning": None,
            "tool_calls": result.get("tool_calls") or [],
            "usage": result.get("usage"),
            "finish_reason": None,
        }
    raise ResponseFormatError(
        f"chat result has neither 'response', 'choices' nor 'output': keys {sorted(result)}"
    )


def parse_chat_result(
    model: str, result: Any, stop: Sequence[str] | None = None, *, json_mode: bool = False
) -> ChatResult:
    """A :class:`ChatResult` from the ``result`` of a text-generation call, in any family's shape.

    The reasoning (``reasoning_content``, Responses reasoning items, ``<think>`` text) goes to
    ``reasoning`` and never stays in ``text``. In ``json_mode`` a JSON text is also parsed into
    ``parsed``."""
    if not isinstance(result, Mapping):
        raise ResponseFormatError(f"chat result is not an object: {type(result).__name__}")
    message = _message_of(result)
    content = message["content"]
    parsed: Any = None
    if isinstance(content, (dict, list)):
        parsed = content
        text = json.dumps(content)
    else:
        text = _as_text(content, "response")
    reasoning = message["reasoning"]
    if reasoning is not None and not isinstance(reasoning, str):
        raise ResponseFormatError(f"reasoning is not text: {type(reasoning).__name__}")
    if parsed is None:
        thought, text = split_think(text, implicit_open=thinks_in_text(model))
        if thought is not None:
            reasoning = "\n\n".join(r for r in (reasoning, thought) if r)
        if json_mode:
            parsed = _json_in(text)
    raw_calls = message["tool_calls"]
    if not isinstance(raw_calls, list):
        raise ResponseFormatError("tool_calls is not a list")
    calls = [_tool_call(c) for c in raw_calls]
    text, _ = apply_stop(text, stop)
    finish = message["finish_reason"] or ("tool_calls" if calls else "stop")
    return ChatResult(
        model=model,
        text=text,
        tool_calls=calls,
        usage=parse_usage(message["usage"]),
        finish_reason=finish,
        reasoning=reasoning or None,
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


def _delta_of(data: Mapping[str, Any]) -> dict[str, Any]:
    """Any family's stream event as ``{content, reasoning, tool_calls, usage, finish_reason}``."""
    if isinstance(data.get("type"), str) and data["type"].startswith(("response.", "error")):
        delta = responses_api.as_delta(data)
        return {"tool_calls": None, "finish_reason": None, **delta}
    choices = data.get("choices")
    if isinstance(choices, list) and choices:
        choice = choices[0]
        if not isinstance(choice, Mapping):
            raise ResponseFormatError(f"stream event choice is not an object: {choice!r}")
        delta = choice.get("delta") or {}
        if not isinstance(delta, Mapping):
            raise ResponseFormatError(f"stream event choice has no delta object: {choice!r}")
        return {
            "content": delta.get("content"),
            "reasoning": delta.get("reasoning_content") or delta.get("reasoning"),
            "tool_calls": delta.get("tool_calls"),
            "usage": data.get("usage"),
            "finish_reason": _text_or_none(choice.get("finish_reason"), "finish_reason"),
        }
    return {
        "content": data.get("response"),
        "reasoning": None,
        "tool_calls": data.get("tool_calls"),
        "usage": data.get("usage"),
        "finish_reason": None,
    }


def parse_stream_event(data: Any) -> ChatChunk:
    """One SSE ``data:`` object of a chat stream, in any family's shape; unknown keys (``p``) are
    ignored, numeric content is read as text.

    ``<think>`` text is not split here (a tag may be cut across events): :class:`workersai.reasoning.
    ThinkSplitter` does that over the whole stream. A frame of the wrong shape raises
    :class:`ResponseFormatError`, never ``KeyError`` or ``TypeError``."""
    if not isinstance(data, Mapping):
        raise ResponseFormatError(f"stream event is not an object: {data!r}")
    delta = _delta_of(data)
    text = _as_text(delta.get("content"), "streamed content")
    reasoning = _as_text(delta.get("reasoning"), "streamed reasoning")
    raw_calls = delta.get("tool_calls")
    if raw_calls is not None and not isinstance(raw_calls, list):
        raise ResponseFormatError(f"streamed tool_calls is not a list: {raw_calls!r}")
    deltas = [_tool_call_delta(raw, position) for position, raw in enumerate(raw_calls or [])]
    return ChatChunk(
        text=text,
        reasoning=reasoning,
        tool_calls=deltas,
        usage=parse_usage(delta.get("usage")),
        finish_reason=delta.get("finish_reason"),
    )


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
