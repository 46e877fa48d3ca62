"""AI Gateway's request headers as the emulator checks them.

Source: developers.cloudflare.com/ai-gateway/features/caching/ (``cf-aig-cache-ttl``: the cache's
time-to-live for this request, in seconds; ``cf-aig-skip-cache: true`` bypasses the cache).

Not documented, so chosen here and said so: a ``cf-aig-cache-ttl`` that is not a whole number of
seconds (>= 0) is refused 400 with code 5006 (bad input) and a message naming the header, in the
envelope, before the request is run; 0 means "do not cache", as no header does.
"""

from __future__ import annotations

from . import Rejected
from .ai import BAD_INPUT


def cache_ttl(header: str | None) -> int:
    """The seconds to cache an answer for (0: not cached)."""
    value = (header or "").strip()
    if not value:
        return 0
    if not value.isascii() or not value.isdigit():
        raise Rejected(400, BAD_INPUT, "Bad input: cf-aig-cache-ttl must be a whole number of seconds")
    return int(value)
