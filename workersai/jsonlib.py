"""JSON in one place: orjson when it is installed (fast: ingestion's hot path on CPython), the standard
library's ``json`` otherwise. orjson has no wheel for Pyodide (Cloudflare Python Workers), so the core
must import and run without it; ``pyproject.toml`` keeps it a dependency on CPython."""

from __future__ import annotations

import json
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


def dumps(value: Any, *, numpy: bool = False, line: bool = False) -> bytes:
    """Compact UTF-8 JSON bytes. ``numpy`` serializes numpy arrays and scalars too; ``line`` appends a
    newline (an NDJSON line, without another copy). Raises ``TypeError`` for a type JSON cannot carry
    and ``ValueError`` for text that is not valid Unicode."""
    if HAVE_ORJSON:
        option = (orjson.OPT_SERIALIZE_NUMPY if numpy else 0) | (orjson.OPT_APPEND_NEWLINE if line else 0)
        return orjson.dumps(value, option=option or None)
    text = json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_plain if numpy else None
    )
    return text.encode() + (b"\n" if line else b"")


def loads(data: bytes | bytearray | memoryview | str) -> Any:
    """The value of a JSON document; ``ValueError`` when it is not JSON."""
    if HAVE_ORJSON:
        return orjson.loads(data)
    return json.loads(bytes(data) if isinstance(data, memoryview) else data)
