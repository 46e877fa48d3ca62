"""Workers AI's own text-generation answer, ``{response, tool_calls, usage}``, and its SSE stream
(``{"response", "p"}`` per token, tool-call deltas, a usage frame, ``[DONE]``).

A model that reasons in its text (DeepSeek-R1-distill, QwQ) writes ``<think>reasoning</think>`` before
the answer, in ``response`` and in the stream's frames."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

from ..generation import Generation
from .reasoning import pieces, usage_with_reasoning
from .sse import DONE, padding, sse, tool_call_deltas


def legacy_result(
    gen: Generation, reasoning: str | None = None, *, nested_tool_calls: bool = False
) -> dict[str, Any]:
    """``{response, tool_calls, usage}``; with ``nested_tool_calls`` each tool call is ``{id, type,
    function: {name, arguments}}`` (the arguments still an object), as Llama 4 Scout answers."""
    response: Any = gen.json_value if gen.json_value is not None else gen.text
    if reasoning is not None and gen.json_value is None:  # "": an empty block (a script's, scripts.py)
        response = f"<think>\n{reasoning}\n</think>\n\n{gen.text}"
    result: dict[str, Any] = {"response": response}
    if gen.tool_calls and nested_tool_calls:
        result["tool_calls"] = [
            {
                "id": f"call_{uuid.uuid4().hex[:24]}",
                "type": "function",
                "function": {"name": c["name"], "arguments": c["arguments"]},
            }
            for c in gen.tool_calls
        ]
    elif gen.tool_calls:
        result["tool_calls"] = [{"name": c["name"], "arguments": c["arguments"]} for c in gen.tool_calls]
    result["usage"] = usage_with_reasoning(gen, reasoning if gen.json_value is None else None)
    return result


def legacy_stream(gen: Generation, reasoning: str | None = None) -> Iterator[bytes]:
    """SSE frames in Workers AI's format: ``{"response", "p"}`` per token, tool calls, usage, [DONE];
    made as they are read, so a live generation's tokens go out as they are generated."""
    if reasoning is not None:
        for piece in ["<think>", "\n", *pieces(reasoning), "\n", "</think>", "\n\n"]:
            yield sse({"response": piece, "p": padding()})
    for piece in gen.text_pieces():
        yield sse({"response": piece, "p": padding()})
    for d in tool_call_deltas(gen):  # the generation is complete from here on
        yield sse({"response": "", "tool_calls": [d], "p": padding()})
    yield sse({"response": "", "usage": usage_with_reasoning(gen, reasoning)})
    yield DONE
