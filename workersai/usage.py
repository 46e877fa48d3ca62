"""Usage accounting: tokens per call and an estimate of neurons, summed per model.

Wrap any code in :func:`track_usage` to add up what the calls inside it used::

    with track_usage() as usage:
        client.chat(...)
        client.embed([...])
    print(usage.total_neurons, usage.estimated_cost_usd)

Chat answers report their token counts; embedding responses do not, so their input tokens are
estimated (about four characters a token) and marked as estimates. Neurons come from the per-model
prices in the catalog (``data/models.json``). A model without a known price (``None`` in the catalog,
or not in it) reports its tokens and ``neurons=None``, never a guess; totals that include it are
``None`` too, and :attr:`UsageTracker.unpriced_models` names it.
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
    neurons: float | None = 0.0
    """Neurons at the catalog's prices; ``None`` once a call of a model without a known price is in."""
    estimated_tokens: bool = False
    capacity_errors: int = 0
    """Capacity (3040) or rate (3021/429) refusals this model answered (:mod:`workersai.health`)."""
    fallbacks: int = 0
    """Calls that left this model for a fallback after it failed."""
    skipped: int = 0
    """Calls that went straight to a fallback because this model's breaker was open."""

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def estimate_neurons(model: str, prompt_tokens: int, completion_tokens: int = 0) -> float | None:
    """Neurons for that many tokens on ``model``; ``None`` when the catalog does not know the price
    (the model is not in it, its input price is unknown, or output tokens were used and their price
    is unknown)."""
    info = get_model(model)
    if info is None or info.input_neurons_per_m is None:
        return None
    output_price = info.output_neurons_per_m
    if completion_tokens and output_price is None:
        return None
    return (prompt_tokens * info.input_neurons_per_m + completion_tokens * (output_price or 0.0)) / 1e6


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
            neurons = estimate_neurons(model, prompt_tokens, completion_tokens)
            entry.neurons = None if neurons is None or entry.neurons is None else entry.neurons + neurons
            entry.estimated_tokens = entry.estimated_tokens or estimated

    def event(self, model: str, kind: str) -> None:
        """Count one ``capacity_errors``, ``fallbacks`` or ``skipped`` event of ``model``."""
        with self._lock:
            entry = self.by_model.setdefault(model, ModelUsage())
            setattr(entry, kind, getattr(entry, kind) + 1)

    @property
    def total_tokens(self) -> int:
        return sum(u.total_tokens for u in self.by_model.values())

    @property
    def unpriced_models(self) -> list[str]:
        """The models used whose price the catalog does not know (their ``neurons`` is ``None``)."""
        return [name for name, u in self.by_model.items() if u.neurons is None]

    @property
    def total_neurons(self) -> float | None:
        """Neurons of every call; ``None`` when a model without a known price was used."""
        total = 0.0
        for u in self.by_model.values():
            if u.neurons is None:
                return None
            total += u.neurons
        return total

    @property
    def estimated_cost_usd(self) -> float | None:
        """Cost at the paid rate, before the free daily allocation; ``None`` when
        :attr:`total_neurons` is."""
        total = self.total_neurons
        return None if total is None else total * neuron_price_usd()

    def summary(self) -> str:
        """One line for people: tokens, neurons and cost, or which models have no known price."""
        if not self.by_model:
            return "no calls"
        line = f"{self.total_tokens} tokens"
        neurons, cost = self.total_neurons, self.estimated_cost_usd
        if neurons is None or cost is None:
            return f"{line}; neurons unknown: no price in the catalog for {', '.join(self.unpriced_models)}"
        return f"{line}, about {neurons:.2f} neurons (${cost:.6f} at the paid rate)"


_active: ContextVar[tuple[UsageTracker, ...]] = ContextVar("workersai_usage", default=())


def record_usage(
    model: str, prompt_tokens: int, completion_tokens: int = 0, *, estimated: bool = False
) -> None:
    """Add a call's usage to every tracker active in this context."""
    for tracker in _active.get():
        tracker.record(model, prompt_tokens, completion_tokens, estimated=estimated)


def record_event(model: str, kind: str) -> None:
    """Count a retry/fallback event (``capacity_errors``, ``fallbacks``, ``skipped``) of ``model`` in
    every tracker active in this context."""
    for tracker in _active.get():
        tracker.event(model, kind)


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
