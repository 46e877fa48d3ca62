"""AI Gateway on the client side: the per-request ``cf-aig-*`` headers, and what the gateway says back.

Sources: the AI Gateway REST API page (https://developers.cloudflare.com/ai-gateway/usage/rest-api/,
2026) and the changelog of 2026-05-21: a Workers AI request on the standard API path goes through the
gateway named in ``cf-aig-gateway-id`` (what :class:`~workersai.WorkersAI` sends by default when it has a
``gateway_id``); the older URL form ``gateway.ai.cloudflare.com/v1/{account}/{gateway}/workers-ai/{model}``
is kept (``gateway_route="url"``). Per request, :class:`GatewayOptions` sends ``cf-aig-skip-cache``,
``cf-aig-cache-ttl``, ``cf-aig-cache-key``, ``cf-aig-collect-log``, ``cf-aig-metadata`` (at most 5
entries: the custom-metadata page), ``cf-aig-request-timeout`` and ``cf-aig-max-attempts`` (at most 5),
and ``x-session-affinity`` (``session_id``: requests of one conversation go to the same model instance
for prefix caching, as langchain-cloudflare and workers-ai-provider send it). The answer's
``cf-aig-log-id`` and ``cf-aig-cache-status`` are read back (:func:`gateway_info`).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from .errors import ConfigurationError
from .types import GatewayInfo

GATEWAY_ID_HEADER = "cf-aig-gateway-id"
SESSION_HEADER = "x-session-affinity"
MAX_METADATA_ENTRIES = 5
MAX_ATTEMPTS = 5

GatewayRoute = Literal["header", "url"]
"""How a client with a ``gateway_id`` reaches its gateway: the ``cf-aig-gateway-id`` header on the
standard API path (2026 docs), or the older gateway URL."""


@dataclass(frozen=True)
class GatewayOptions:
    """Per-request AI Gateway settings, sent as ``cf-aig-*`` headers (and ``session_id`` as
    ``x-session-affinity``, which also works without a gateway). None leaves a setting to the gateway."""

    cache_ttl: int | None = None
    skip_cache: bool = False
    metadata: Mapping[str, str | int | bool] | None = None
    request_timeout_ms: int | None = None
    max_attempts: int | None = None
    cache_key: str | None = None
    collect_log: bool | None = None
    session_id: str | None = None

    def headers(self) -> dict[str, str]:
        """The headers these settings are sent as; bad settings raise before any request."""
        out: dict[str, str] = {}
        if self.cache_ttl is not None:
            if self.cache_ttl < 0:
                raise ConfigurationError("AI Gateway cache_ttl must be >= 0 seconds")
            out["cf-aig-cache-ttl"] = str(int(self.cache_ttl))
        if self.skip_cache:
            out["cf-aig-skip-cache"] = "true"
        if self.cache_key is not None:
            out["cf-aig-cache-key"] = self.cache_key
        if self.collect_log is not None:
            out["cf-aig-collect-log"] = "true" if self.collect_log else "false"
        if self.metadata:
            if len(self.metadata) > MAX_METADATA_ENTRIES:
                raise ConfigurationError("AI Gateway metadata takes at most 5 entries")
            out["cf-aig-metadata"] = json.dumps(dict(self.metadata))
        if self.request_timeout_ms is not None:
            out["cf-aig-request-timeout"] = str(int(self.request_timeout_ms))
        if self.max_attempts is not None:
            if not 1 <= self.max_attempts <= MAX_ATTEMPTS:
                raise ConfigurationError("AI Gateway max_attempts must be between 1 and 5")
            out["cf-aig-max-attempts"] = str(int(self.max_attempts))
        if self.session_id is not None:
            out[SESSION_HEADER] = self.session_id
        for name, value in out.items():  # a newline would split the header: refuse it, never send it
            if any(c in value for c in "\r\n\0"):
                raise ConfigurationError(f"AI Gateway option for {name} contains a line break")
        return out


def gateway_info(headers: Mapping[str, str]) -> GatewayInfo | None:
    """The gateway's ``cf-aig-log-id`` and ``cf-aig-cache-status`` of an answer, or None when it did
    not go through a gateway."""
    log_id = headers.get("cf-aig-log-id")
    cache_status = headers.get("cf-aig-cache-status")
    if log_id is None and cache_status is None:
        return None
    return GatewayInfo(log_id=log_id, cache_status=cache_status)
