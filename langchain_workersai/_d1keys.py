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

from workersai.errors import BadInput

_PREFIX = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,40}\Z")

MAX_KEY_CHARS = 1024
"""Longest thread id, checkpoint namespace or run id accepted (a key, not a payload)."""


def check_key(value: Any, what: str, *, empty_ok: bool = False) -> str:
    """``value`` as the text stored for a thread id / namespace / run id, or :class:`BadInput`.

    Numbers and UUIDs are accepted as their ``str``; any character D1 can store is kept as given (it is a
    bound parameter, never part of the SQL): only an empty value, NUL (SQLite compares text up to it),
    a lone surrogate (not UTF-8, so not JSON for the REST API) and overlong keys are refused."""
    if isinstance(value, bool) or value is None or isinstance(value, (bytes, dict, list, tuple, set)):
        raise BadInput(f"{what} must be a string, not {type(value).__name__}")
    text = value if isinstance(value, str) else str(value)
    if not text and not empty_ok:
        raise BadInput(f"{what} must not be empty")
    if len(text) > MAX_KEY_CHARS:
        raise BadInput(f"{what} is {len(text)} characters; at most {MAX_KEY_CHARS} are accepted")
    if "\x00" in text:
        raise BadInput(f"{what} contains a NUL character, which D1 cannot store in a key: {text!r}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise BadInput(f"{what} is not valid Unicode text (a lone surrogate): {text!r}") from None
    return text


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
