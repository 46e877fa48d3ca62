"""OpenAI's ``chat.completion`` answer and its ``chat.completion.chunk`` stream (``choices[0].delta``,
tool calls merged by index, usage on the last chunk).

Reasoning goes in ``reasoning_content`` (message and delta), as Workers AI's OpenAI-shape reasoning
models send it (cloudflare/ai workers-ai-provider reads ``reasoning_content ?? reasoning``); on the
OpenAI-compatible endpoint this holds for the models that reason in their text on ``/ai/run``
(DeepSeek-R1-distill, QwQ) too, so no ``<think>`` is left in ``content``."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

from ..generation import Generation
from .reasoning import pieces, usage_with_reasoning
from .sse import DONE, sse, tool_call_deltas


def openai_completion(
    model: str,
    gen: Generation,
    max_tokens: int,
    reasoning: str | None = None,
    *,
    null_fields: bool = False,
    calling_content: str | None = None,
) -> dict[str, Any]:
    """A ``chat.completion``. With ``null_fields``, the message's ``refusal`` and the choice's
    ``logprobs`` are sent as null: OpenAI's ChatCompletion requires both, and so does
    ``ChatCompletionsOutput`` in @cloudflare/workers-types, the output of the newer models; the older
    per-model types (qwen3-30b-a3b, gemma-sea-lion) have neither and allow no other keys, and their
    message ``content`` is a string, also beside tool calls (``calling_content=""`` there; null is
    OpenAI's)."""
    content = json.dumps(gen.json_value) if gen.json_value is not None else gen.text
    message: dict[str, Any] = {
        "role": "assistant",
        "content": content if not gen.tool_calls else calling_content,
    }
    if null_fields:
        message["refusal"] = None
    if reasoning:
        message["reasoning_content"] = reasoning
    finish = "stop"
    if gen.tool_calls:
        finish = "tool_calls"
        message["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
            }
            for c in gen.tool_calls
        ]
    elif gen.completion_tokens >= max_tokens:
        finish = "length"
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": finish,
                **({"logprobs": None} if null_fields else {}),
            }
        ],
        "usage": usage_with_reasoning(gen, reasoning),
    }


def openai_stream(model: str, gen: Generation, reasoning: str | None = None) -> Iterator[bytes]:
    """``chat.completion.chunk`` frames, made as they are read (a live generation streams as it goes)."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    if reasoning:
        for piece in pieces(reasoning):
            yield chunk({"role": "assistant", "reasoning_content": piece})
    for piece in gen.text_pieces():
        yield chunk({"role": "assistant", "content": piece})
    for d in tool_call_deltas(gen):  # the generation is complete from here on
        yield chunk({"tool_calls": [d]})
    usage = usage_with_reasoning(gen, reasoning)
    yield chunk({}, "tool_calls" if gen.tool_calls else "stop", usage=usage)
    yield DONE
