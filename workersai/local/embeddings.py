"""Embeddings for the emulator: the local encoder, a per-text cache, and the projection to each catalog
model's dimensions (see :mod:`workersai.local.minilm`)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

from .minilm import MODEL_DIMENSIONS, Array, SentenceEncoder, projection, shared_encoder


class Embedder:
    """Embeds texts with an LRU cache of vectors (the same text always gets the same vector); the
    cache holds both the model's unit vectors and their projections (``cache_size`` entries in all)."""

    def __init__(self, encoder: SentenceEncoder | None = None, cache_size: int = 50_000) -> None:
        self._encoder = encoder
        self._cache: OrderedDict[tuple[str, int, str], Array] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._inference = threading.Lock()

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def _cached(
        self, texts: list[str], pooling: str, dimensions: int, compute: Callable[[list[str]], Array]
    ) -> Array:
        """Rows for ``texts`` from the cache (keyed by pooling, dimensions and text), computing the
        missing ones in one call."""
        out = np.empty((len(texts), dimensions), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get((pooling, dimensions, text))
                if hit is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end((pooling, dimensions, text))
                    out[i] = hit
        if missing:
            fresh = compute(list(missing))
            with self._lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._cache[(pooling, dimensions, text)] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    def _encode(self, texts: list[str], pooling: str) -> Array:
        # One inference at a time: concurrent requests queue here instead of oversubscribing the
        # cores (numpy's BLAS already uses them all), which keeps throughput and latency steady.
        with self._inference:
            return self.encoder.encode(texts, pooling)

    def embed_unit(self, texts: list[str], pooling: str = "mean") -> Array:
        """``(n, 384)`` unit vectors."""
        return self._cached(texts, pooling, MODEL_DIMENSIONS, lambda missing: self._encode(missing, pooling))

    def embed(self, texts: list[str], dimensions: int, pooling: str = "mean") -> Array:
        """``(n, dimensions)`` vectors for a model of that size (projected rows are cached too, so a
        repeated text costs no matrix product)."""
        if dimensions == MODEL_DIMENSIONS:
            return self.embed_unit(texts, pooling)

        def project(missing: list[str]) -> Array:
            unit = self.embed_unit(missing, pooling)
            with self._inference:
                projected: Array = unit @ projection(dimensions)
            return projected

        return self._cached(texts, pooling, dimensions, project)
