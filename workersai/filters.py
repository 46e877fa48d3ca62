"""Evaluate a Vectorize metadata filter on one metadata object, client side.

Used where a filter must be applied to vectors read back by id (a scan), not by a query. Semantics
follow the service: keys are ANDed, dotted keys are nested paths, a bare value means ``$eq``, and
``$ne`` / ``$nin`` also match when the property is missing. (A query on the service filters only
properties with a metadata index; a scan sees all metadata.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

MISSING = object()
"""What :func:`path_value` returns for a property that is not there."""


def path_value(metadata: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in nested metadata, or :data:`MISSING`."""
    value: Any = metadata
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return MISSING
        value = value[part]
    return value


def _equal(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    return bool(have == want) and type(have) in (int, float, str) and type(want) in (int, float, str)


def _test(op: str, have: Any, want: Any) -> bool:
    if op == "$ne":
        return have is MISSING or not _equal(have, want)
    if op == "$nin":
        return have is MISSING or not any(_equal(have, w) for w in want)
    if have is MISSING:
        return False
    if op == "$eq":
        return _equal(have, want)
    if op == "$in":
        return any(_equal(have, w) for w in want)
    comparable = (isinstance(have, str) and isinstance(want, str)) or (
        isinstance(have, (int, float))
        and isinstance(want, (int, float))
        and not isinstance(have, bool)
        and not isinstance(want, bool)
    )
    if not comparable:
        return False
    return bool({"$lt": have < want, "$lte": have <= want, "$gt": have > want, "$gte": have >= want}[op])


def matches_filter(metadata: Mapping[str, Any] | None, flt: Mapping[str, Any] | None) -> bool:
    """True when ``metadata`` passes ``flt`` (a checked Vectorize filter)."""
    if not flt:
        return True
    meta = metadata or {}
    for key, cond in flt.items():
        have = path_value(meta, key)
        ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
        if not all(_test(op, have, want) for op, want in ops.items()):
            return False
    return True
