"""Usage accounting: tokens per call and an estimate of neurons, summed per model.

Wrap any code in :func:`track_usage` to add up what the calls inside it used::

    with track_usage() as usage:
        client.chat(...)
        client.embed([...])
    print(usage.total_neurons, usage.estimated_cost_usd)

Chat answers report their token counts; embedding responses do not, so their input tokens are
estimated (about four characters a token) and marked as estimates. Neurons come from the per-model
prices in the catalog (``data/models.json``).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from .catalog import get_model, neuron_price_usd


@dataclass
class ModelUsage:
    """What one model used."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    neurons: float = 0.0
    estimated_tokens: bool = False

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_neurons(model: str, prompt_tokens: int, completion_tokens: int = 0) -> float:
    """Neurons for that many tokens on ``model`` (0 for models without a known price)."""
    info = get_model(model)
    if info is None:
        return 0.0
    return (prompt_tokens * info.neurons_per_m_input + completion_tokens * info.neurons_per_m_output) / 1e6


def estimate_tokens(text: str) -> int:
    """A rough token count for text whose real count the service does not report."""
    return max(1, (len(text) + 3) // 4)


@dataclass
class UsageTracker:
    """Totals per model, safe to update from several threads."""

    by_model: dict[str, ModelUsage] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(
        self, model: str, prompt_tokens: int, completion_tokens: int = 0, *, estimated: bool = False
    ) -> None:
        with self._lock:
            entry = self.by_model.setdefault(model, ModelUsage())
            entry.requests += 1
            entry.prompt_tokens += prompt_tokens
            entry.completion_tokens += completion_tokens
            entry.neurons += estimate_neurons(model, prompt_tokens, completion_tokens)
            entry.estimated_tokens = entry.estimated_tokens or estimated

    @property
    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.by_model.values())

    @property
    def total_neurons(self) -> float:
        return sum(u.neurons for u in self.by_model.values())

    @property
    def estimated_cost_usd(self) -> float:
        """Cost at the paid rate, before the free daily allocation."""
        return self.total_neurons * neuron_price_usd()


_active: ContextVar[tuple[UsageTracker, ...]] = ContextVar("workersai_usage", default=())


def record_usage(
    model: str, prompt_tokens: int, completion_tokens: int = 0, *, estimated: bool = False
) -> None:
    """Add a call's usage to every tracker active in this context."""
    for tracker in _active.get():
        tracker.record(model, prompt_tokens, completion_tokens, estimated=estimated)


@contextmanager
def track_usage() -> Iterator[UsageTracker]:
    """Sum the usage of every call made inside the block (threads and tasks started inside it too,
    where the context is carried over)."""
    tracker = UsageTracker()
    token = _active.set((*_active.get(), tracker))
    try:
        yield tracker
    finally:
        _active.reset(token)
