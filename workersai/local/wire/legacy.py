"""Workers AI's own text-generation answer, ``{response, tool_calls, usage}``, and its SSE stream
(``{"response", "p"}`` per token, tool-call deltas, a usage frame, ``[DONE]``)."""

from __future__ import annotations

from typing import Any

from ..generator import Generation
from .sse import DONE, padding, sse, tool_call_deltas


def legacy_result(gen: Generation) -> dict[str, Any]:
    result: dict[str, Any] = {"response": gen.json_value if gen.json_value is not None else gen.text}
    if gen.tool_calls:
        result["tool_calls"] = [{"name": c["name"], "arguments": c["arguments"]} for c in gen.tool_calls]
    result["usage"] = gen.usage
    return result


def legacy_stream(gen: Generation) -> list[bytes]:
    """SSE frames in Workers AI's format: ``{"response", "p"}`` per token, tool calls, usage, [DONE]."""
    frames = [sse({"response": piece, "p": padding()}) for piece in gen.pieces]
    frames += [sse({"response": "", "tool_calls": [d], "p": padding()}) for d in tool_call_deltas(gen)]
    frames.append(sse({"response": "", "usage": gen.usage}))
    frames.append(DONE)
    return frames
