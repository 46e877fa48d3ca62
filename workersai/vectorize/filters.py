"""Vectorize metadata filters: checked before a query, and evaluated on metadata client side.

:func:`check_filter` checks one before a query. :func:`matches_filter` applies one to vectors read
back by id (a scan), not by a query. Semantics follow the service: keys are ANDed, dotted keys are
nested paths, a bare value means ``$eq``, and ``$ne`` / ``$nin`` also match when the property is
missing. (A query on the service filters only
properties with a metadata index; a scan sees all metadata.)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..errors import BadInput
from .checks import MAX_FILTER_BYTES, compact

FILTER_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")


class FilterNotIndexed(BadInput):
    """A filter names a property that has no metadata index: Vectorize would match nothing, silently."""

    def __init__(self, index: str, properties: list[str]) -> None:
        names = ", ".join(repr(p) for p in properties)
        super().__init__(
            f"filter on {names}, which index {index!r} has no metadata index for: Vectorize filters only "
            f"indexed properties and would return nothing. Create one with "
            f"create_metadata_index({index!r}, {properties[0]!r}, 'string' | 'number' | 'boolean'); "
            "vectors written before it existed stay unfilterable until written again"
        )
        self.index = index
        self.properties = properties


MISSING = object()
"""What :func:`path_value` returns for a property that is not there."""


def _check_operand(op: str, value: Any, key: str) -> None:
    scalar = (str, int, float, bool)
    if op in ("$in", "$nin"):
        if not isinstance(value, list) or not value or not all(isinstance(v, scalar) for v in value):
            raise BadInput(f"filter {key!r}: {op} takes a non-empty list of strings, numbers or booleans")
    elif op in ("$lt", "$lte", "$gt", "$gte"):
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise BadInput(f"filter {key!r}: {op} takes a string or a number")
    elif value is not None and not isinstance(value, scalar):
        raise BadInput(f"filter {key!r}: {op} takes a string, number, boolean or null")
    if isinstance(value, float) and not math.isfinite(value):
        raise BadInput(f"filter {key!r}: numbers must be finite")


def check_filter(flt: Any) -> dict[str, Any] | None:
    """Check a Vectorize metadata filter; returns it as a plain dict."""
    if flt is None:
        return None
    if not isinstance(flt, Mapping):
        raise BadInput("filter must be an object of {property: value | {operator: value}}")
    for key, cond in flt.items():
        if not isinstance(key, str) or not key or key.startswith("$") or '"' in key:
            raise BadInput(
                f"filter key {key!r} is not a property name (operators go inside: {{key: {{'$eq': v}}}})"
            )
        if any(not part for part in key.split(".")):
            raise BadInput(f"filter key {key!r} has an empty path segment")
        if isinstance(cond, Mapping):
            if not cond:
                raise BadInput(f"filter {key!r}: empty operator object")
            for op, value in cond.items():
                if op not in FILTER_OPERATORS:
                    raise BadInput(
                        f"filter {key!r}: unknown operator {op!r}; use one of {', '.join(FILTER_OPERATORS)}"
                    )
                _check_operand(op, value, key)
        else:
            _check_operand("$eq", cond, key)
    try:
        size = len(compact(dict(flt)))
    except ValueError as exc:
        raise BadInput(f"filter cannot be sent as JSON: {exc}") from None
    if size >= MAX_FILTER_BYTES:
        raise BadInput(f"filter is {size} bytes as compact JSON; it must be under {MAX_FILTER_BYTES}")
    return dict(flt)


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
