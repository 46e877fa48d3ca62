"""Stored Responses-API turns, so that ``previous_response_id`` carries the earlier conversation.

OpenAI's Responses API reference (which the gpt-oss model pages point to for ``/ai/v1/responses``):
``store`` (default true) keeps a response for later retrieval; ``previous_response_id`` "the unique ID of
the previous response to the model. Use this to create multi-turn conversations", whose input and output
then come before the new input; the earlier ``instructions`` are not carried over ("When using along with
previous_response_id, the instructions from a previous response will not be carried over"). An unknown id
is refused (OpenAI: 400 "Previous response with id '...' not found."). The emulator keeps the last
:data:`KEPT` stored turns in memory.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

from .generation import Generation
from .rules import ai as rules

KEPT = 1000


class StoredResponses:
    """The conversations behind stored responses, by response id (thread-safe, bounded)."""

    def __init__(self) -> None:
        self._turns: OrderedDict[str, list[dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()

    def history(self, response_id: Any) -> list[dict[str, Any]]:
        """The conversation up to and including ``response_id``'s answer (400/5006 when unknown)."""
        if not isinstance(response_id, str):
            raise rules.bad_input("'/previous_response_id' must be a string")
        with self._lock:
            found = self._turns.get(response_id)
        if found is None:
            raise rules.bad_input(f"Previous response with id '{response_id}' not found.")
        return list(found)

    def keep(self, response_id: str, conversation: Sequence[Mapping[str, Any]], gen: Generation) -> None:
        """Store ``conversation`` (without the request's instructions) and the answer of ``gen``."""
        answer: dict[str, Any]
        if gen.tool_calls:
            calls = [
                {
                    "id": f"call_{i}",
                    "type": "function",
                    "function": {"name": c["name"], "arguments": json.dumps(c["arguments"])},
                }
                for i, c in enumerate(gen.tool_calls)
            ]
            answer = {"role": "assistant", "content": "", "tool_calls": calls}
        else:
            text = json.dumps(gen.json_value) if gen.json_value is not None else gen.text
            answer = {"role": "assistant", "content": text}
        with self._lock:
            self._turns[response_id] = [*map(dict, conversation), answer]
            while len(self._turns) > KEPT:
                self._turns.popitem(last=False)


def with_history(chat: dict[str, Any], history: list[dict[str, Any]], instructions: bool) -> dict[str, Any]:
    """``chat`` (from :func:`~workersai.local.rules.ai.responses_input`) with ``history`` between its
    instructions (the first message, when ``instructions``) and its new input."""
    messages = chat["messages"]
    head, tail = (messages[:1], messages[1:]) if instructions else ([], messages)
    return {**chat, "messages": [*head, *history, *tail]}
