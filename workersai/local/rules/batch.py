"""The Batch API's rules as the service states them.

Sources: https://developers.cloudflare.com/workers-ai/features/batch-api/rest-api/ (a submission is
``{"requests": [...]}`` on ``/ai/run/{model}?queueRequest=true``, each request may carry an
``external_reference``; polling is ``{"request_id": ...}`` on the same URL) and
https://developers.cloudflare.com/workers-ai/features/batch-api/workers-binding/ (the payload must be
under 10 MB: the emulator's JSON body cap, 413/3006, applies as for every AI request).

Not documented, so chosen here and said so: a body with neither ``requests`` nor ``request_id``, an
empty ``requests``, a request that is not an object, a non-string ``external_reference`` and a
``request_id`` the service does not know (never queued, for another model or another account, or
expired) are 400/5006 bad input, each with a message naming what is wrong.
"""

from __future__ import annotations

from typing import Any

from .ai import bad_input


def submission(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The requests of a submission (``{"requests": [...]}``), checked."""
    requests = body.get("requests")
    if not isinstance(requests, list):
        raise bad_input("a queued request needs 'requests' (a list) or 'request_id'")
    if not requests:
        raise bad_input("'requests' must hold at least one request")
    for i, item in enumerate(requests):
        if not isinstance(item, dict):
            raise bad_input(f"requests[{i}] must be an object")
        ref = item.get("external_reference")
        if ref is not None and not isinstance(ref, str):
            raise bad_input(f"requests[{i}].external_reference must be a string")
    return requests


def request_id(body: dict[str, Any]) -> str | None:
    """The ``request_id`` of a poll, or None for a submission."""
    if "request_id" not in body:
        return None
    value = body["request_id"]
    if not isinstance(value, str) or not value:
        raise bad_input("'request_id' must be a non-empty string")
    return value


def unknown(request_id: str, model: str) -> Exception:
    return bad_input(f"no queued request with request_id {request_id!r} for {model}")
