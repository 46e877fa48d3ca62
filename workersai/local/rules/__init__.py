"""The emulator's own statement of the service's rules, in the service's terms (HTTP status, Cloudflare
error code, message), written from Cloudflare's documentation rather than shared with the client: a client
bug and an emulator bug should not agree by construction. Only data is shared (the model catalog).

- :mod:`.vectorize`: Vectorize v2 limits and request checks;
- :mod:`.ai`: Workers AI model ids and input checks;
- :mod:`.rate_limits`: Workers AI's requests per minute per model (``--rate-limits``);
- :mod:`.lifecycle`: models past their deprecation date (410/5028).

Every check raises :class:`Rejected`; the routes answer it in the Cloudflare envelope.
"""

from __future__ import annotations

from typing import Any

import orjson


class Rejected(Exception):
    """A request the service refuses: its HTTP status, Cloudflare error code (or None) and message."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def parse_json(raw: bytes, code: int, prefix: str) -> Any:
    """A JSON document, strictly: no NaN/Infinity literals, no lone surrogates, no numbers beyond a
    double, at most 1024 levels deep (orjson's parser). Anything else is a 400 with ``code``."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise Rejected(400, code, f"{prefix}: the body is not valid JSON ({exc.msg})") from exc
