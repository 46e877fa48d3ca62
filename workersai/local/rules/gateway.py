"""AI Gateway's per-request headers, in the service's terms.

Sources: the AI Gateway REST API page (https://developers.cloudflare.com/ai-gateway/usage/rest-api/,
"Per-request configuration", 2026) and the changelog of 2026-05-21 ("Call any AI model through AI
Gateway's new REST API"): a request on the standard API path (``/ai/run/{model}``, ``/ai/v1/...``)
goes through the gateway named in ``cf-aig-gateway-id``; the older URL form
``gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai/{model}`` still works. Per request:

- ``cf-aig-skip-cache`` (boolean), ``cf-aig-cache-ttl`` (seconds), ``cf-aig-cache-key`` (a custom key);
- ``cf-aig-collect-log`` (boolean: log this request or not), ``cf-aig-metadata`` (a JSON object attached
  to the log entry; the custom-metadata page allows five entries, later ones are dropped);
- ``cf-aig-request-timeout`` (ms), ``cf-aig-max-attempts`` (at most 5), ``cf-aig-retry-delay`` (ms, at
  most 5000), ``cf-aig-backoff`` (constant | linear | exponential): retries of the upstream call. The
  emulator's upstream is itself and never fails on its own, so these are accepted and have no effect.

The answer carries ``cf-aig-log-id`` (the log entry's id, read back with ``GET
/accounts/{a}/ai-gateway/gateways/{gateway}/logs/{id}``) and ``cf-aig-cache-status`` (``HIT`` or
``MISS``; ``BYPASS`` when the request may not be cached: no TTL, or skip-cache). Session affinity
(``x-session-affinity``, prefix caching on the model's servers) is accepted and has no effect here.

A header value that does not parse is ignored (the gateway's behaviour for it is not documented),
except ``cf-aig-cache-ttl``: not documented either, so chosen here and said so: a value that is not a
whole number of seconds (>= 0) is refused 400 with code 5006 (bad input) naming the header, before the
request is run (a typo would otherwise silently turn caching off).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from . import Rejected
from .ai import BAD_INPUT

GATEWAY_ID_HEADER = "cf-aig-gateway-id"
MAX_METADATA_ENTRIES = 5


@dataclass(frozen=True)
class GatewayRequest:
    """What a request asks of the gateway, read from its headers."""

    cache_ttl: int | None
    skip_cache: bool
    cache_key: str | None
    collect_log: bool
    metadata: dict[str, Any] | None

    @property
    def cacheable(self) -> bool:
        return self.cache_ttl is not None and self.cache_ttl > 0 and not self.skip_cache


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    lowered = value.strip().lower()
    return {"true": True, "false": False}.get(lowered, default)


def read(headers: Mapping[str, str]) -> GatewayRequest:
    """The gateway settings of a request's headers."""
    ttl = cache_ttl(headers.get("cf-aig-cache-ttl"))
    metadata: dict[str, Any] | None = None
    raw = headers.get("cf-aig-metadata")
    if raw:
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            metadata = dict(list(parsed.items())[:MAX_METADATA_ENTRIES])
    key = headers.get("cf-aig-cache-key")
    return GatewayRequest(
        cache_ttl=ttl,
        skip_cache=_bool(headers.get("cf-aig-skip-cache"), False),
        cache_key=key.strip() or None if key is not None else None,
        collect_log=_bool(headers.get("cf-aig-collect-log"), True),
        metadata=metadata,
    )


def cache_ttl(header: str | None) -> int | None:
    """The seconds to cache an answer for (None: no header; 0: not cached)."""
    if header is None or not header.strip():
        return None
    value = header.strip()
    if not value.isascii() or not value.isdigit():
        raise Rejected(400, BAD_INPUT, "Bad input: cf-aig-cache-ttl must be a whole number of seconds")
    return int(value)
