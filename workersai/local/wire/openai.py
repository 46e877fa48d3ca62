"""OpenAI's ``chat.completion`` answer and its ``chat.completion.chunk`` stream (``choices[0].delta``,
tool calls merged by index, usage on the last chunk)."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from ..generator import Generation
from .sse import DONE, sse, tool_call_deltas


def openai_completion(model: str, gen: Generation, max_tokens: int) -> dict[str, Any]:
    content = json.dumps(gen.json_value) if gen.json_value is not None else gen.text
    message: dict[str, Any] = {"role": "assistant", "content": content if not gen.tool_calls else None}
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
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": gen.usage,
    }


def openai_stream(model: str, gen: Generation) -> list[bytes]:
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": model,
    }

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> bytes:
        return sse({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra})

    frames = [chunk({"role": "assistant", "content": piece}) for piece in gen.pieces]
    frames += [chunk({"tool_calls": [d]}) for d in tool_call_deltas(gen)]
    frames.append(chunk({}, "tool_calls" if gen.tool_calls else "stop", usage=gen.usage))
    frames.append(DONE)
    return frames
