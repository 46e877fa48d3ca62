"""Embeddings for the emulator: the local encoder, a per-text cache, and the projection to each catalog
model's dimensions (see :mod:`workersai.local.encoder`)."""

from __future__ import annotations

import threading
from collections import OrderedDict

import numpy as np

from .encoder import MODEL_DIMENSIONS, Array, SentenceEncoder, projection, shared_encoder


class Embedder:
    """Embeds texts with an LRU cache of unit vectors (the same text always gets the same vector)."""

    def __init__(self, encoder: SentenceEncoder | None = None, cache_size: int = 50_000) -> None:
        self._encoder = encoder
        self._cache: OrderedDict[tuple[str, str], Array] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self._inference = threading.Lock()

    @property
    def encoder(self) -> SentenceEncoder:
        if self._encoder is None:
            self._encoder = shared_encoder()
        return self._encoder

    def embed_unit(self, texts: list[str], pooling: str = "mean") -> Array:
        """``(n, 384)`` unit vectors."""
        out = np.empty((len(texts), MODEL_DIMENSIONS), dtype=np.float32)
        missing: dict[str, list[int]] = {}
        with self._lock:
            for i, text in enumerate(texts):
                hit = self._cache.get((pooling, text))
                if hit is None:
                    missing.setdefault(text, []).append(i)
                else:
                    self._cache.move_to_end((pooling, text))
                    out[i] = hit
        if missing:
            # One inference at a time: concurrent requests queue here instead of oversubscribing the
            # cores (numpy's BLAS already uses them all), which keeps throughput and latency steady.
            with self._inference:
                fresh = self.encoder.encode(list(missing), pooling)
            with self._lock:
                for (text, rows), vector in zip(missing.items(), fresh, strict=True):
                    out[rows] = vector
                    self._cache[(pooling, text)] = vector
                while len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        return out

    def embed(self, texts: list[str], dimensions: int, pooling: str = "mean") -> Array:
        """``(n, dimensions)`` vectors for a model of that size."""
        unit = self.embed_unit(texts, pooling)
        return unit if dimensions == MODEL_DIMENSIONS else unit @ projection(dimensions)
