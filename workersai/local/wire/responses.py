"""The OpenAI Responses-API answer (gpt-oss on Workers AI) and its typed event stream.

Shapes from OpenAI's API reference ("The response object", "Streaming events"), which the gpt-oss model
pages point to (developers.cloudflare.com/workers-ai/models/gpt-oss-120b/): a ``response`` object whose
``output`` holds a ``reasoning`` item (``reasoning_text`` content), then a ``message`` item
(``output_text`` parts) or ``function_call`` items (``call_id``, ``name``, ``arguments`` as a JSON
string), and ``usage`` in ``input_tokens`` / ``output_tokens``. The stream sends ``response.created``,
``response.in_progress``, per item ``response.output_item.added`` ... ``response.output_item.done``
with the text, reasoning and argument deltas between, and ends with ``response.completed`` (no
``[DONE]``); every event carries a ``sequence_number``.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Mapping
from typing import Any

from ..generation import Generation
from .reasoning import pieces, usage_with_reasoning
from .sse import sse_event


def _id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex}"


def _items(gen: Generation, reasoning: str | None) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    if reasoning:
        items.append(
            {
                "type": "reasoning",
                "id": _id("rs"),
                "summary": [],
                "content": [{"type": "reasoning_text", "text": reasoning}],
            }
        )
    for call in gen.tool_calls:
        items.append(
            {
                "type": "function_call",
                "id": _id("fc"),
                "call_id": f"call_{uuid.uuid4().hex[:24]}",
                "name": call["name"],
                "arguments": json.dumps(call["arguments"]),
                "status": "completed",
            }
        )
    if not gen.tool_calls:
        text = json.dumps(gen.json_value) if gen.json_value is not None else gen.text
        items.append(
            {
                "type": "message",
                "id": _id("msg"),
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": text, "annotations": []}],
            }
        )
    return items


def responses_object(
    model: str,
    gen: Generation,
    reasoning: str | None,
    request: Mapping[str, Any],
    max_tokens: int,
    *,
    typed: bool = False,
) -> dict[str, Any]:
    """The whole Responses object for one generation: OpenAI's (``/ai/v1/responses``), or with ``typed``
    the ``ResponsesOutput`` of @cloudflare/workers-types 5.20261117.1 that ``/ai/run`` answers for
    gpt-oss, a closed type without ``model``, ``metadata``, ``store``, the usage ``*_tokens_details``
    or ``annotations`` on ``output_text``, whose ``tool_choice`` is only ``"none"`` or a function (so
    it is echoed only when the request set one)."""
    usage = usage_with_reasoning(gen, reasoning)
    cut = not gen.tool_calls and gen.json_value is None and gen.completion_tokens >= max_tokens
    effort = (
        request.get("reasoning", {}).get("effort") if isinstance(request.get("reasoning"), dict) else None
    )
    text = request.get("text") if isinstance(request.get("text"), dict) else {"format": {"type": "text"}}
    whole = {
        "id": _id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "incomplete" if cut else "completed",
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if cut else None,
        "instructions": request.get("instructions"),
        "max_output_tokens": request.get("max_output_tokens"),
        "model": model,
        "output": _items(gen, reasoning),
        "parallel_tool_calls": True,
        "previous_response_id": None,
        "reasoning": {"effort": effort or "medium", "summary": None},
        "store": False,
        "temperature": request.get("temperature", 1.0),
        "text": text,
        "tool_choice": request.get("tool_choice", "auto"),
        "tools": request.get("tools", []),
        "top_p": request.get("top_p", 1.0),
        "truncation": "disabled",
        "usage": {
            "input_tokens": usage["prompt_tokens"],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage["completion_tokens"],
            "output_tokens_details": {"reasoning_tokens": gen.reasoning_tokens if reasoning else 0},
            "total_tokens": usage["total_tokens"],
        },
        "metadata": {},
    }
    if typed:
        for key in ("model", "metadata", "store"):
            del whole[key]
        if "tool_choice" not in request:
            del whole["tool_choice"]
        usage_out = whole["usage"]
        del usage_out["input_tokens_details"], usage_out["output_tokens_details"]
        for item in whole["output"]:
            for part in item.get("content", []) if item["type"] == "message" else []:
                part.pop("annotations", None)
    return whole


def responses_stream(whole: dict[str, Any], gen: Generation) -> list[bytes]:
    """The event stream that builds ``whole`` (a :func:`responses_object`) piece by piece."""
    frames: list[bytes] = []

    def event(kind: str, **data: Any) -> None:
        frames.append(sse_event(kind, {"type": kind, "sequence_number": len(frames), **data}))

    started = {**whole, "status": "in_progress", "output": [], "incomplete_details": None}
    event("response.created", response=started)
    event("response.in_progress", response=started)
    for index, item in enumerate(whole["output"]):
        kind = item["type"]
        where = {"item_id": item["id"], "output_index": index}
        if kind == "reasoning":
            text = item["content"][0]["text"]
            event("response.output_item.added", output_index=index, item={**item, "content": []})
            for piece in pieces(text):
                event("response.reasoning_text.delta", **where, content_index=0, delta=piece)
            event("response.reasoning_text.done", **where, content_index=0, text=text)
        elif kind == "message":
            text = item["content"][0]["text"]
            empty = {"type": "output_text", "text": "", "annotations": []}
            event(
                "response.output_item.added",
                output_index=index,
                item={**item, "status": "in_progress", "content": []},
            )
            event("response.content_part.added", **where, content_index=0, part=empty)
            for piece in gen.pieces if gen.json_value is None else [text]:
                event("response.output_text.delta", **where, content_index=0, delta=piece, logprobs=[])
            event("response.output_text.done", **where, content_index=0, text=text, logprobs=[])
            event("response.content_part.done", **where, content_index=0, part=item["content"][0])
        else:
            arguments = item["arguments"]
            event(
                "response.output_item.added",
                output_index=index,
                item={**item, "arguments": "", "status": "in_progress"},
            )
            step = max(1, len(arguments) // 3)
            for start in range(0, len(arguments), step):
                event(
                    "response.function_call_arguments.delta", **where, delta=arguments[start : start + step]
                )
            event("response.function_call_arguments.done", **where, arguments=arguments)
        event("response.output_item.done", output_index=index, item=item)
    final = "response.completed" if whole["status"] == "completed" else "response.incomplete"
    event(final, response=whole)
    return frames
