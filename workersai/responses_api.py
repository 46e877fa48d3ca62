"""The OpenAI Responses-API family (gpt-oss on Workers AI): its request, its answer, its stream events.

Wire facts. The model pages (developers.cloudflare.com/workers-ai/models/gpt-oss-120b/ and
/gpt-oss-20b/) give the input: ``input`` (a string or a list of ``{role, content}`` items, role one of
user, assistant, system, developer; "refer to OpenAI Responses API docs" for the content types),
``instructions``, ``reasoning: {effort: low | medium | high, summary}``; the same body goes to
``/ai/run/{model}`` and to ``/ai/v1/responses`` (with ``model``). The answer is a Responses object
(OpenAI's API reference, "The response object"): ``output`` is a list of items, ``reasoning``
(``content`` of ``reasoning_text`` parts, ``summary`` of ``summary_text`` parts), ``message``
(``content`` of ``output_text`` / ``refusal`` parts) and ``function_call`` (``call_id``, ``name``,
``arguments`` as a JSON string); ``usage`` counts ``input_tokens`` / ``output_tokens``. A stream is
typed events (``response.output_text.delta``, ``response.reasoning_text.delta``,
``response.output_item.added``, ``response.function_call_arguments.delta``, ``response.completed``).

This module only translates: messages (already checked by :mod:`workersai.chat`) into a Responses
body, and a Responses answer or event into the chat.completion-like pieces :mod:`workersai.chat`
parses for every family.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from .errors import BadInput, ResponseFormatError, ServerError

FINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
"""The events that end a Responses stream (OpenAI sends no ``[DONE]`` after them)."""

_UNSUPPORTED = ("seed", "top_k", "repetition_penalty", "frequency_penalty", "presence_penalty")
"""Chat options the Responses input schema has no field for."""


def _content(content: Any) -> Any:
    """Chat content (a string or OpenAI chat parts) as Responses content."""
    if isinstance(content, str):
        return content
    parts = []
    for part in content:
        kind = part.get("type")
        if kind == "text":
            parts.append({"type": "input_text", "text": part.get("text", "")})
        elif kind == "image_url":
            image = part.get("image_url")
            url = image.get("url") if isinstance(image, Mapping) else image
            parts.append({"type": "input_image", "image_url": url})
        else:
            parts.append(dict(part))
    return parts


def _input_items(wire: Sequence[Mapping[str, Any]]) -> tuple[str | None, list[dict[str, Any]]]:
    """Leading system messages as ``instructions``; the rest as input items."""
    lead = 0
    while lead < len(wire) and wire[lead]["role"] == "system" and isinstance(wire[lead]["content"], str):
        lead += 1
    instructions = "\n\n".join(m["content"] for m in wire[:lead] if m["content"]) or None
    items: list[dict[str, Any]] = []
    for m in wire[lead:]:
        role = m["role"]
        if role == "tool":
            items.append(
                {"type": "function_call_output", "call_id": m.get("tool_call_id", ""), "output": m["content"]}
            )
            continue
        if m["content"] or not m.get("tool_calls"):
            items.append({"role": role, "content": _content(m["content"])})
        for call in m.get("tool_calls") or []:
            fn = call["function"]
            items.append(
                {
                    "type": "function_call",
                    "call_id": call["id"],
                    "name": fn["name"],
                    "arguments": fn["arguments"],
                }
            )
    return instructions, items


def _tool(tool: Mapping[str, Any]) -> dict[str, Any]:
    """A tool in the Responses shape: ``{type: "function", name, description?, parameters, strict}``;
    ``parameters`` and ``strict`` are required, null when not given (``ResponsesFunctionTool`` in
    @cloudflare/workers-types, OpenAI's ``FunctionTool``)."""
    fn = tool["function"] if tool.get("type") == "function" else tool
    out = {"type": "function", "name": fn["name"]}
    if fn.get("description") is not None:
        out["description"] = fn["description"]
    out["parameters"] = fn.get("parameters")
    out["strict"] = fn.get("strict")
    return out


def _text_format(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """JSON mode as the Responses ``text.format``."""
    if response_format.get("type") == "json_object":
        return {"type": "json_object"}
    spec = response_format["json_schema"]
    wrapped = isinstance(spec.get("schema"), Mapping)
    schema = spec["schema"] if wrapped else spec
    name = (spec.get("name") if wrapped else None) or schema.get("title") or "response"
    out: dict[str, Any] = {"type": "json_schema", "name": str(name), "schema": dict(schema)}
    if wrapped and spec.get("strict") is not None:
        out["strict"] = spec["strict"]
    return out


def build_responses_payload(
    wire: Sequence[Mapping[str, Any]],
    options: Mapping[str, Any],
    *,
    tools: Sequence[Mapping[str, Any]],
    tool_choice: Any,
    stream: bool,
) -> dict[str, Any]:
    """The Responses body for checked wire messages and chat options (stop sequences are applied by
    the client: the Responses input has no ``stop``)."""
    given = [name for name in _UNSUPPORTED if options.get(name) is not None]
    if given:
        raise BadInput(f"Responses-API models (gpt-oss) take no {', '.join(given)}")
    instructions, items = _input_items(wire)
    payload: dict[str, Any] = {"input": items}
    if instructions:
        payload["instructions"] = instructions
    if options.get("max_tokens") is not None:
        payload["max_output_tokens"] = options["max_tokens"]
    for name in ("temperature", "top_p"):
        if options.get(name) is not None:
            payload[name] = options[name]
    if options.get("reasoning_effort") is not None:
        payload["reasoning"] = {"effort": options["reasoning_effort"]}
    if tools:
        payload["tools"] = [_tool(t) for t in tools]
        if tool_choice == "required":
            payload["tool_choice"] = "required"
        elif isinstance(tool_choice, Mapping):
            payload["tool_choice"] = {"type": "function", "name": tool_choice["function"]["name"]}
    if options.get("response_format") is not None:
        payload["text"] = {"format": _text_format(options["response_format"])}
    if stream:
        payload["stream"] = True
    return payload


def is_responses_object(result: Mapping[str, Any]) -> bool:
    """Whether an answer is a Responses object (rather than chat.completion or the legacy shape)."""
    return result.get("object") == "response" or isinstance(result.get("output"), list)


def _texts(parts: Any, *kinds: str) -> str:
    if not isinstance(parts, list):
        return ""
    return "".join(str(p.get("text", "")) for p in parts if isinstance(p, Mapping) and p.get("type") in kinds)


def _usage(raw: Any) -> dict[str, Any] | None:
    if not isinstance(raw, Mapping):
        return None
    prompt, completion = raw.get("input_tokens"), raw.get("output_tokens")
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": raw.get("total_tokens")}


def _finish(response: Mapping[str, Any], calls: bool) -> str:
    if calls:
        return "tool_calls"
    details = response.get("incomplete_details")
    if response.get("status") == "incomplete" and isinstance(details, Mapping):
        return "length" if details.get("reason") == "max_output_tokens" else str(details.get("reason"))
    return "stop"


def as_message(result: Mapping[str, Any]) -> dict[str, Any]:
    """A Responses object as ``{content, reasoning, tool_calls, usage, finish_reason}`` (tool calls
    in the chat.completion shape, usage in prompt/completion tokens)."""
    output = result.get("output")
    if not isinstance(output, list):
        raise ResponseFormatError("Responses answer without an output list")
    if result.get("status") == "failed":
        raise ServerError(f"the model failed: {result.get('error')!r}")
    text, reasoning, calls = [], [], []
    for item in output:
        if not isinstance(item, Mapping):
            raise ResponseFormatError(f"Responses output item is not an object: {item!r}")
        kind = item.get("type")
        if kind == "reasoning":
            reasoning.append(
                _texts(item.get("content"), "reasoning_text") or _texts(item.get("summary"), "summary_text")
            )
        elif kind == "message":
            text.append(_texts(item.get("content"), "output_text", "refusal"))
        elif kind == "function_call":
            calls.append(
                {
                    "id": item.get("call_id") or item.get("id"),
                    "function": {"name": item.get("name"), "arguments": item.get("arguments")},
                }
            )
    thought = "".join(reasoning)
    return {
        "content": "".join(text),
        "reasoning": thought or None,
        "tool_calls": calls,
        "usage": _usage(result.get("usage")),
        "finish_reason": _finish(result, bool(calls)),
    }


def as_delta(event: Mapping[str, Any]) -> dict[str, Any]:
    """One Responses stream event as ``{content, reasoning, tool_calls, usage, finish_reason}``
    (empty for events that carry nothing new: ``response.created``, ``...done`` and the like)."""
    kind = str(event.get("type"))
    delta: dict[str, Any] = {}
    if kind == "response.output_text.delta":
        delta["content"] = event.get("delta")
    elif kind in ("response.reasoning_text.delta", "response.reasoning_summary_text.delta"):
        delta["reasoning"] = event.get("delta")
    elif kind == "response.output_item.added":
        item = event.get("item")
        if isinstance(item, Mapping) and item.get("type") == "function_call":
            call = {"name": item.get("name"), "arguments": item.get("arguments") or ""}
            delta["tool_calls"] = [
                {"index": event.get("output_index", 0), "id": item.get("call_id"), "function": call}
            ]
    elif kind == "response.function_call_arguments.delta":
        delta["tool_calls"] = [
            {"index": event.get("output_index", 0), "function": {"arguments": event["delta"]}}
        ]
    elif kind in FINAL_EVENTS:
        response = event.get("response")
        if not isinstance(response, Mapping):
            raise ResponseFormatError(f"{kind} event without its response")
        if kind == "response.failed":
            raise ServerError(f"the model failed: {response.get('error')!r}")
        whole = as_message(response)
        delta["usage"] = whole["usage"]
        delta["finish_reason"] = whole["finish_reason"]
    elif kind == "error":
        raise ServerError(f"the stream reported an error: {json.dumps(dict(event))[:300]}")
    return delta
