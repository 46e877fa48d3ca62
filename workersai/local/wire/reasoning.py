"""The reasoning a reasoning model shows, and how it counts.

With the language model (``smollm2``) the reasoning is the model's own, generated before the answer
(:meth:`~workersai.local.lm.smollm2_generator.SmolLM2Generator.reason`). The extractive generator
cannot reason: for it, :func:`template_reasoning` states what the answer was made from (the question,
how many messages of context, the tool chosen or the JSON shape asked for), labelled as a template, so
that every reasoning family still carries request-dependent reasoning apart from the answer.

Either way the reasoning's tokens are output tokens (``Generation.reasoning_tokens``), inside the
request's ``max_tokens`` together with the answer's.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from ..generation import Generation

_PIECE = re.compile(r"\S+\s*|\s+")
TEMPLATE_LABEL = "[extractive emulator: template, not model reasoning]"


def content_text(content: Any) -> str:
    """A message's text: its string content, or its parts' text joined by spaces."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))
    return ""


def template_reasoning(messages: Sequence[Mapping[str, Any]], gen: Generation, budget: int) -> str | None:
    """The extractive generator's stand-in for reasoning, cut to ``budget`` word pieces (None when no
    room is left); its piece count is recorded in ``gen.reasoning_tokens``."""
    kept = pieces(_template(messages, gen))[: max(0, budget)]
    if not kept:
        return None
    gen.reasoning_tokens = len(kept)
    return "".join(kept).rstrip()


def _template(messages: Sequence[Mapping[str, Any]], gen: Generation) -> str:
    """What the model is answering and from what, in one or two sentences, after the label."""
    question = next(
        (content_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), ""
    )
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
    return f"{TEMPLATE_LABEL} {asked} {plan}"


def pieces(text: str) -> list[str]:
    """``text`` in word-sized pieces that join back to it, for streaming."""
    return _PIECE.findall(text)


def usage_with_reasoning(gen: Generation, reasoning: str | None) -> dict[str, int]:
    """The generation's usage with the reasoning's tokens counted as output tokens, as services count
    reasoning tokens."""
    usage = dict(gen.usage)
    if reasoning:
        usage["completion_tokens"] += gen.reasoning_tokens
        usage["total_tokens"] += gen.reasoning_tokens
    return usage
