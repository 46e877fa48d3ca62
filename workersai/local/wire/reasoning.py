"""The reasoning a reasoning model shows, derived from the request and the generation underneath.

The emulator's generators do not reason, so this is not a chain of thought: it is a short, true
statement of what the answer was made from (the question, how many messages of context, the tool
chosen or the JSON shape asked for), so that every reasoning family has real, request-dependent
reasoning to carry and clients can check it is kept apart from the answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..generator import Generation

_PIECE = re.compile(r"\S+\s*|\s+")


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def reasoning_text(messages: Sequence[Mapping[str, Any]], gen: Generation) -> str:
    """What the model is answering and from what, in one or two sentences."""
    question = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    question = " ".join(question.split())
    if len(question) > 160:
        question = question[:157] + "..."
    context = sum(1 for m in messages if m.get("role") in ("system", "assistant", "tool"))
    asked = f'The user asks: "{question}".' if question else "There is no user question."
    if gen.tool_calls:
        names = ", ".join(str(c["name"]) for c in gen.tool_calls)
        plan = f"The {names} tool fits the request, so I call it."
    elif gen.json_value is not None:
        plan = "JSON was asked for, so I answer with an object of that shape."
    elif messages and messages[-1].get("role") == "tool":
        plan = "A tool has answered, so I report what it returned."
    else:
        plan = f"I answer from the {context} message(s) of context I was given."
    return f"{asked} {plan}"


def pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces that join back to it, for streaming."""
    return _PIECE.findall(text)


def usage_with_reasoning(gen: Generation, reasoning: str | None) -> dict[str, int]:
    """The generation's usage with the reasoning's pieces counted as output tokens, as services count
    reasoning tokens."""
    usage = dict(gen.usage)
    if reasoning:
        extra = len(pieces(reasoning))
        usage["completion_tokens"] += extra
        usage["total_tokens"] += extra
    return usage
