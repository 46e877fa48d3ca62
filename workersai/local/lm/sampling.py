"""Choosing the next token as Workers AI's text-generation options describe.

``temperature`` 0 is greedy. Otherwise logits are penalized, divided by the temperature, cut to
``top_k`` and to the ``top_p`` nucleus, and sampled from a generator seeded by ``seed`` (the same seed
gives the same text; no seed draws one). Penalties look at the completion's own tokens, not the
prompt's, so a RAG answer may still repeat its context: ``repetition_penalty`` divides positive
logits and multiplies negative ones (as in CTRL/HF), ``frequency_penalty`` subtracts per occurrence
and ``presence_penalty`` once per token seen (as in OpenAI's API).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from .weights import Array

_NUCLEUS_FIRST = 1024  # tokens sorted first when looking for the top_p nucleus


@dataclass(frozen=True)
class SamplingParams:
    temperature: float = 0.6
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None


class Sampler:
    """Picks tokens for one request; holds its random generator and the completion's token counts."""

    def __init__(self, params: SamplingParams, vocab_size: int) -> None:
        self.params = params
        self.rng = np.random.default_rng(params.seed)
        self.counts: NDArray[np.int32] = np.zeros(vocab_size, dtype=np.int32)

    def accept(self, token: int) -> None:
        """Record a token of the completion (for the penalties)."""
        if token < len(self.counts):
            self.counts[token] += 1

    def _penalize(self, logits: Array) -> Array:
        p = self.params
        if not any(x not in (None, 0.0, 1.0) for x in (p.repetition_penalty, p.frequency_penalty)) and not (
            p.presence_penalty
        ):
            return logits
        seen = np.nonzero(self.counts)[0]
        if len(seen) == 0:
            return logits
        logits = logits.copy()
        values = logits[seen]
        if p.repetition_penalty is not None and p.repetition_penalty > 0 and p.repetition_penalty != 1.0:
            r = float(p.repetition_penalty)
            values = np.where(values > 0, values / r, values * r).astype(np.float32)
        if p.frequency_penalty:
            values = values - float(p.frequency_penalty) * self.counts[seen].astype(np.float32)
        if p.presence_penalty:
            values = values - float(p.presence_penalty)
        logits[seen] = values
        return logits

    def __call__(self, logits: Array) -> int:
        """The next token for ``logits`` (vocab,), float32; masked tokens are -inf."""
        logits = self._penalize(logits)
        p = self.params
        if p.temperature <= 0.0 or p.top_k == 1:
            return int(np.argmax(logits))
        scaled = logits.astype(np.float64) / float(p.temperature)
        candidates = np.arange(len(scaled))
        if p.top_k is not None and 0 < p.top_k < len(scaled):
            candidates = np.argpartition(-scaled, p.top_k - 1)[: p.top_k]
        values = scaled[candidates]
        probs = np.exp(values - values.max())
        probs /= probs.sum()
        if p.top_p is not None and 0.0 < p.top_p < 1.0:
            candidates, probs = _nucleus(candidates, probs, float(p.top_p))
        return int(candidates[self.rng.choice(len(probs), p=probs)])


def _nucleus(
    candidates: NDArray[np.intp], probs: NDArray[np.float64], top_p: float
) -> tuple[NDArray[np.intp], NDArray[np.float64]]:
    """The smallest set of most likely tokens whose probability reaches ``top_p``, renormalized.

    Sorting the whole vocabulary each step costs milliseconds, so the most likely few are sorted first;
    when they already hold ``top_p`` the nucleus is among them (exactly the same set).
    """
    order: NDArray[np.intp]
    if len(probs) > _NUCLEUS_FIRST:
        first = np.argpartition(-probs, _NUCLEUS_FIRST - 1)[:_NUCLEUS_FIRST]
        order = first[np.argsort(-probs[first], kind="stable")]
        if probs[order].sum() < top_p:
            order = np.argsort(-probs, kind="stable")
    else:
        order = np.argsort(-probs, kind="stable")
    cumulative = np.cumsum(probs[order])
    keep = int(np.searchsorted(cumulative, top_p)) + 1
    chosen = order[:keep]
    kept = probs[chosen]
    return candidates[chosen], kept / kept.sum()
