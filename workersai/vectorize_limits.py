"""Vectorize's limits, checked before any request (and by the emulator, the same way).

- index names match ``^[a-z][a-z0-9_-]*[a-z0-9]$`` and are at most 64 bytes;
- vector ids are 1..64 bytes; values are finite numbers; namespaces are at most 64 bytes;
- metadata is an object of at most 10 KiB (compact JSON), with keys that are not empty and contain no
  ``.`` or ``"`` and do not start with ``$``;
- filters use ``$eq $ne $in $nin $lt $lte $gt $gte`` (a bare value means ``$eq``), on keys that may be
  dotted paths, and are under 2048 bytes as compact JSON;
- topK is at most 100, or 50 with values or all metadata returned; a write takes at most 5000 vectors.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import orjson

from .errors import BadInput

MAX_ID_BYTES = 64
MAX_NAMESPACE_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
MAX_FILTER_BYTES = 2048
MAX_TOP_K = 100
MAX_TOP_K_WITH_DATA = 50
MAX_VECTORS_PER_WRITE = 5000
MAX_BYTES_PER_WRITE = 100 * 1000 * 1000
MAX_DIMENSIONS = 1536
METRICS = ("cosine", "euclidean", "dot-product")
METADATA_INDEX_TYPES = ("string", "number", "boolean")
FILTER_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")
RETURN_METADATA = ("none", "indexed", "all")

_INDEX_NAME = re.compile(r"^[a-z][a-z0-9_-]*[a-z0-9]$")


def compact(value: Any) -> bytes:
    """Compact UTF-8 JSON, as the service measures sizes (orjson: ingestion's hot path)."""
    try:
        return orjson.dumps(value, option=orjson.OPT_SERIALIZE_NUMPY)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


def check_index_name(name: Any) -> str:
    if not isinstance(name, str) or not _INDEX_NAME.match(name) or len(name.encode()) > 64:
        raise BadInput(
            f"invalid index name {name!r}: lowercase letters, digits, '-' and '_', starting with a letter, "
            "at most 64 bytes"
        )
    return name


def check_id(vector_id: Any) -> str:
    if not isinstance(vector_id, str) or not vector_id:
        raise BadInput(f"vector id must be a non-empty string, got {vector_id!r}")
    if len(vector_id.encode()) > MAX_ID_BYTES:
        raise BadInput(f"vector id {vector_id[:20]!r}... is {len(vector_id.encode())} bytes; the limit is 64")
    return vector_id


def check_metadata_keys(value: Any, where: str = "metadata") -> None:
    if isinstance(value, Mapping):
        for key, sub in value.items():
            if not isinstance(key, str) or not key:
                raise BadInput(f"{where}: keys must be non-empty strings")
            if "." in key or '"' in key or key.startswith("$"):
                raise BadInput(f"{where}: key {key!r} may not contain '.' or '\"' or start with '$'")
            check_metadata_keys(sub, f"{where}.{key}")
    elif isinstance(value, list):
        for item in value:
            check_metadata_keys(item, where)


def check_metadata(metadata: Any, vector_id: str = "") -> None:
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise BadInput(f"metadata of {vector_id!r} must be an object")
    check_metadata_keys(metadata, f"metadata of {vector_id!r}")
    try:
        size = len(compact(metadata))
    except (TypeError, ValueError) as exc:
        raise BadInput(f"metadata of {vector_id!r} is not JSON-serializable: {exc}") from exc
    if size > MAX_METADATA_BYTES:
        raise BadInput(
            f"metadata of {vector_id!r} is {size} bytes; the limit is {MAX_METADATA_BYTES} (10 KiB)"
        )


_NUMBER_TYPES = {float, int}


def check_values(values: Any, dimensions: int | None = None, vector_id: str = "") -> None:
    if not isinstance(values, (list, tuple)) or not values:
        raise BadInput(f"values of {vector_id!r} must be a non-empty list of numbers")
    if dimensions is not None and len(values) != dimensions:
        raise BadInput(f"vector {vector_id!r} has {len(values)} dimensions; the index has {dimensions}")
    # Fast path at C speed: only floats and ints, and a finite sum means no NaN or infinity.
    if set(map(type, values)) <= _NUMBER_TYPES and math.isfinite(sum(values)):
        return
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)) or not math.isfinite(x):
            raise BadInput(f"values of {vector_id!r} must be finite numbers; found {x!r}")
    if dimensions is not None and len(values) != dimensions:
        raise BadInput(f"vector {vector_id!r} has {len(values)} dimensions; the index has {dimensions}")


def check_namespace(namespace: Any) -> None:
    if namespace is None:
        return
    if not isinstance(namespace, str) or not namespace or len(namespace.encode()) > MAX_NAMESPACE_BYTES:
        raise BadInput(f"namespace must be a non-empty string of at most 64 bytes, got {namespace!r}")


def check_vector(
    vector_id: Any, values: Any, metadata: Any, namespace: Any, dimensions: int | None = None
) -> None:
    """Check one vector record before it is sent (or, in the emulator, stored)."""
    vid = check_id(vector_id)
    check_values(values, dimensions, vid)
    check_metadata(metadata, vid)
    check_namespace(namespace)


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
    size = len(compact(dict(flt)))
    if size >= MAX_FILTER_BYTES:
        raise BadInput(f"filter is {size} bytes as compact JSON; it must be under {MAX_FILTER_BYTES}")
    return dict(flt)


def check_top_k(top_k: int, return_values: bool, return_metadata: str) -> None:
    if return_metadata not in RETURN_METADATA:
        raise BadInput(f"returnMetadata must be one of {RETURN_METADATA}, got {return_metadata!r}")
    ceiling = MAX_TOP_K_WITH_DATA if (return_values or return_metadata == "all") else MAX_TOP_K
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= ceiling:
        raise BadInput(f"top_k must be between 1 and {ceiling} for this query, got {top_k!r}")
