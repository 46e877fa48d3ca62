"""The model catalog, kept as data in ``data/models.json``: ids, task, dimensions, limits and prices.

The client uses it to check model ids and sizes before any request, the usage tracker to estimate
neurons, and the emulator to decide what it serves. Prices are Cloudflare's published neurons per
million tokens; Cloudflare bills $0.011 per 1,000 neurons.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources

EMBEDDING_TASK = "Text Embeddings"
GENERATION_TASK = "Text Generation"


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry."""

    name: str
    task: str
    dimensions: int | None = None
    max_input_tokens: int | None = None
    max_batch: int | None = None
    context_window: int | None = None
    rate_per_minute: int | None = None
    function_calling: bool = False
    neurons_per_m_input: float = 0.0
    neurons_per_m_output: float = 0.0

    @property
    def is_embedding(self) -> bool:
        return self.task == EMBEDDING_TASK

    @property
    def is_generation(self) -> bool:
        return self.task == GENERATION_TASK


@cache
def _data() -> dict[str, object]:
    text = resources.files("workersai").joinpath("data/models.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data


@cache
def models() -> dict[str, ModelInfo]:
    """Every model in the catalog, by id."""
    entries = _data()["models"]
    assert isinstance(entries, list)
    return {e["name"]: ModelInfo(**e) for e in entries}


def get_model(name: str) -> ModelInfo | None:
    """The catalog entry for ``name``, or None when the catalog does not know it."""
    return models().get(name)


def neuron_price_usd() -> float:
    """US dollars per neuron."""
    price = _data()["neuron_price_usd_per_1000"]
    assert isinstance(price, (int, float))
    return float(price) / 1000.0
