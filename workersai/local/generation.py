"""What a text generator produces for one request, shared by both generators (the extractive one in
:mod:`workersai.local.extractive`, the language model in :mod:`workersai.local.lm.smollm2_generator`),
the wire formats that render it and the routes: :class:`Generation`, and how a generation is stopped
when its client goes away (:data:`CANCEL`, :class:`GenerationCancelled`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

CANCEL: ContextVar[threading.Event | None] = ContextVar("workersai_local_cancel", default=None)
"""Set (in the thread that starts a generation) to an event the route sets when its client goes away:
the language model checks it before each token and stops (:class:`GenerationCancelled`)."""


class GenerationCancelled(Exception):
    """A generation stopped because the request it was for has no client any more."""


@dataclass
class Generation:
    """What the generator produced for one request."""

    text: str = ""
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    json_value: Any = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    pieces: list[str] = field(default_factory=list)
    reasoning_tokens: int = 0
    """Tokens of the reasoning a reasoning model shows with this generation (counted as output)."""
    live: Iterator[str] | None = field(default=None, repr=False, compare=False)
    """While the language model is still generating: its pieces as they come (reading it runs the
    model); the other fields are complete once it is exhausted."""

    def text_pieces(self) -> Iterator[str]:
        """The text's pieces: as they are generated when :attr:`live`, else the finished ones."""
        return self.live if self.live is not None else iter(self.pieces)

    @property
    def usage(self) -> dict[str, int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "total_tokens": self.prompt_tokens + self.completion_tokens,
        }
