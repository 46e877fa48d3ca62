"""JSON in one place: orjson when it is installed (fast: ingestion's hot path on CPython), the standard
library's ``json`` otherwise. orjson has no wheel for Pyodide (Cloudflare Python Workers), so the core
must import and run without it; ``pyproject.toml`` keeps it a dependency on CPython."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

try:
    import orjson
except ImportError:  # Pyodide: no orjson wheel
    HAVE_ORJSON = False
else:
    HAVE_ORJSON = True


def _plain(value: Any) -> Any:
    """What the standard library cannot serialize but orjson's ``OPT_SERIALIZE_NUMPY`` does: arrays and
    numpy scalars, by their ``tolist``."""
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def fragment(data: bytes) -> Any:
    """JSON bytes that :func:`dumps` writes verbatim (an ``orjson.Fragment``); needs orjson."""
    return orjson.Fragment(data)


def dumps(
    value: Any, *, numpy: bool = False, line: bool = False, default: Callable[[Any], Any] | None = None
) -> bytes:
    """Compact UTF-8 JSON bytes. ``numpy`` serializes numpy arrays and scalars too; ``line`` appends a
    newline (an NDJSON line, without another copy); ``default`` turns other objects into something JSON
    can carry (with orjson, an ``orjson.Fragment`` is written verbatim). Raises ``TypeError`` for a type
    JSON cannot carry and ``ValueError`` for text that is not valid Unicode."""
    if HAVE_ORJSON:
        option = (orjson.OPT_SERIALIZE_NUMPY if numpy else 0) | (orjson.OPT_APPEND_NEWLINE if line else 0)
        return orjson.dumps(value, default=default, option=option or None)

    def fallback(obj: Any) -> Any:
        if default is not None:
            try:
                return default(obj)
            except TypeError:
                if not numpy:
                    raise
        if numpy:
            return _plain(obj)
        raise TypeError(f"Type is not JSON serializable: {type(obj).__name__}")

    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=fallback)
    return text.encode() + (b"\n" if line else b"")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of a JSON document; ``ValueError`` when it is not JSON."""
    if HAVE_ORJSON:
        return orjson.loads(data)
    return json.loads(bytes(data) if isinstance(data, memoryview) else data)
