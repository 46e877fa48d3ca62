"""The emulator's AI Gateway response cache: bounded by bytes, least recently used out first.

The service keeps cached answers in Cloudflare's cache for ``cf-aig-cache-ttl`` seconds
(developers.cloudflare.com/ai-gateway/features/caching/); the emulator keeps them in memory, so it
bounds them: expired answers are dropped whenever an answer is stored (and when one is looked up),
and when the answers still alive would hold more than :data:`MAX_BYTES`, the least recently used go
first. An answer larger than the whole budget is not kept (the request is answered ``MISS`` either
way).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

MAX_BYTES = 64 * 1024 * 1024
"""The cache's budget: the bodies it holds, in bytes (64 MB)."""


@dataclass(frozen=True)
class Cached:
    """One cached answer: its body, media type and when it expires (the cache's clock)."""

    expires: float
    body: bytes
    media_type: str


class GatewayCache:
    """Answers by key (gateway, model, body), each kept until its TTL ends or room is needed."""

    def __init__(self, max_bytes: int = MAX_BYTES, clock: Callable[[], float] = time.monotonic) -> None:
        self.max_bytes = max_bytes
        self._clock = clock
        self._entries: OrderedDict[str, Cached] = OrderedDict()
        self._lock = threading.Lock()
        self.bytes = 0
        """The bytes of the bodies held now (what :attr:`max_bytes` bounds)."""

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: str) -> Cached | None:
        """The live answer for ``key`` (now the most recently used), or None."""
        with self._lock:
            found = self._entries.get(key)
            if found is None:
                return None
            if found.expires <= self._clock():
                self._drop(key)
                return None
            self._entries.move_to_end(key)
            return found

    def put(self, key: str, body: bytes, media_type: str, ttl: float) -> None:
        """Keep ``body`` for ``ttl`` seconds; every expired answer goes, then the least recently used
        until the new one fits."""
        if len(body) > self.max_bytes:
            return
        with self._lock:
            if key in self._entries:
                self._drop(key)
            now = self._clock()
            for old in [k for k, v in self._entries.items() if v.expires <= now]:
                self._drop(old)
            while self.bytes + len(body) > self.max_bytes:
                self._drop(next(iter(self._entries)))
            self._entries[key] = Cached(now + ttl, body, media_type)
            self.bytes += len(body)

    def _drop(self, key: str) -> None:
        self.bytes -= len(self._entries.pop(key).body)
