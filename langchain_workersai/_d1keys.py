"""Keys and encodings shared by the D1-backed LangGraph and LlamaIndex stores.

Keys (thread ids, namespaces, chat keys) are bound parameters, never spliced into SQL, so any text D1 can
store is kept as given; :func:`check_key` refuses, before any request, what it cannot carry. Bytes go
base64-encoded in TEXT columns: the REST API carries values as JSON."""

from __future__ import annotations

import base64
import random
import re
from collections.abc import Iterator, Sequence
from typing import Any

from workersai.d1 import MAX_KEY_CHARS, check_key
from workersai.errors import BadInput

__all__ = ["MAX_KEY_CHARS", "b64", "check_key", "check_table_prefix", "chunks", "next_version", "unb64"]

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}\Z")


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def unb64(text: str | None) -> bytes:
    return base64.b64decode(text) if text else b""


def chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def check_table_prefix(prefix: str) -> str:
    """A table-name prefix (spliced into SQL, so letters, digits and underscores only)."""
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise BadInput(f"table_prefix must be letters, digits and underscores, got {prefix!r}")
    return prefix


def next_version(current: str | int | None) -> str:
    """LangGraph's own savers' channel versions: a zero-padded counter and a random tie-breaker, so
    versions sort as text."""
    number = (
        0 if current is None else current if isinstance(current, int) else int(str(current).split(".")[0])
    )
    return f"{number + 1:032}.{random.random():016}"
