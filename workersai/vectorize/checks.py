"""Vectorize's limits, checked before any request (developers.cloudflare.com/vectorize/platform/limits/).

- index names match ``[a-z][a-z0-9_-]*[a-z0-9]`` whole (no trailing newline) and are at most 64 bytes;
- vector ids are 1..64 bytes of UTF-8; values are finite numbers within float32's range (Vectorize
  stores float32); namespaces are 1..64 bytes;
- metadata is an object of at most 10 KiB (compact JSON), with keys that are not empty and contain no
  ``.`` or ``"`` and do not start with ``$``, and no NaN or infinity (JSON has none: orjson would
  write ``null``, a silently different value);
- topK is at most 100, or 50 with values or all metadata returned; a write takes at most 5000 vectors.

Text that cannot be UTF-8 (a lone surrogate) and metadata nested too deep to serialize are
:class:`~workersai.errors.BadInput`, like any other bad value. Filters are checked in
:mod:`workersai.vectorize.filters`. The emulator states the service's rules on its own
(``workersai/local``) and a contract test holds the two together.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping
from typing import Any

from .. import jsonlib
from ..catalog import get_model, models
from ..errors import BadInput, DimensionMismatch, MetadataTooLarge
from ..raw_vectors import FLOAT32_OVERFLOW, MAX_FLOAT32, RawVector

MAX_ID_BYTES = 64
MAX_NAMESPACE_BYTES = 64
MAX_INDEX_NAME_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
MAX_FILTER_BYTES = 2048
MAX_TOP_K = 100
MAX_TOP_K_WITH_DATA = 50
"""The topK ceiling when values or all metadata are returned (the stores' ``k`` ceiling too)."""
MAX_VECTORS_PER_WRITE = 5000
MAX_BYTES_PER_WRITE = 100 * 1000 * 1000
MAX_DIMENSIONS = 1536
_NUMBER_TYPES = {float, int}
METRICS = ("cosine", "euclidean", "dot-product")
METADATA_INDEX_TYPES = ("string", "number", "boolean")
RETURN_METADATA = ("none", "indexed", "all")

_INDEX_NAME = re.compile(r"[a-z][a-z0-9_-]*[a-z0-9]")


def compact(value: Any, *, line: bool = False) -> bytes:
    """Compact UTF-8 JSON, as the service measures sizes (:mod:`workersai.jsonlib`: orjson when it is
    installed, ingestion's hot path); ``line`` appends a newline (an NDJSON line, without copying it
    again). Raises ``ValueError`` for what JSON cannot carry (lone surrogates, nesting past the JSON
    library's limit, other types, a :class:`~workersai.raw_vectors.RawVector`: see
    :func:`~.batching.ndjson_line`)."""
    try:
        return jsonlib.dumps(value, numpy=True, line=line)
    except TypeError as exc:
        raise ValueError(str(exc)) from exc


def utf8_size(text: str, what: str) -> int:
    """The UTF-8 length of ``text``; a string that is not valid Unicode text is ``BadInput``."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        raise BadInput(f"{what} is not valid Unicode text (it holds a lone surrogate)") from None


def _index_name_fault(name: str) -> str:
    """Which of the name rules ``name`` breaks, in words."""
    if len(name) < 2:
        return f"it is {len(name)} character{'s' if len(name) != 1 else ''} long"
    if len(name) > MAX_INDEX_NAME_BYTES:
        return f"it is {len(name)} characters long"
    if not name[0].isascii() or not name[0].islower():
        return f"it starts with {name[0]!r}"
    bad = sorted({c for c in name if not (c.isascii() and (c.islower() or c.isdigit() or c in "-_"))})
    if bad:
        return f"it contains {', '.join(map(repr, bad))}"
    return f"it ends with {name[-1]!r}"


def check_index_name(name: Any) -> str:
    if (
        not isinstance(name, str)
        or not _INDEX_NAME.fullmatch(name)
        or utf8_size(name, "index name") > MAX_INDEX_NAME_BYTES
    ):
        why = _index_name_fault(name) if isinstance(name, str) else f"it is a {type(name).__name__}"
        raise BadInput(
            f"invalid index name {name!r} ({why}): an index name is 2 to 64 characters of lowercase "
            "letters, digits, '-' and '_', starting with a letter and ending with a letter or digit"
        )
    return name


def check_id(vector_id: Any) -> str:
    if not isinstance(vector_id, str) or not vector_id:
        raise BadInput(f"vector id must be a non-empty string, got {vector_id!r}")
    size = utf8_size(vector_id, "vector id")
    if size > MAX_ID_BYTES:
        raise BadInput(f"vector id {vector_id[:20]!r}... is {size} bytes; the limit is {MAX_ID_BYTES}")
    return vector_id


def _not_finite(value: Any) -> bool:
    """True for a float NaN or infinity (numpy's too): JSON has no such number, and orjson writes it as
    ``null``, so the stored metadata would silently differ from what was given."""
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, (str, int, Mapping, list)) or value is None:
        return False
    return isinstance(value, numbers.Real) and not math.isfinite(value)


def check_metadata_keys(value: Any, where: str = "metadata") -> None:
    """Every key at every depth is a non-empty string without ``.`` or ``"`` and not starting with
    ``$``, and no number is NaN or infinite (walked without recursion, so depth alone cannot raise
    ``RecursionError``)."""
    stack: list[tuple[Any, str]] = [(value, where)]
    while stack:
        item, path = stack.pop()
        if isinstance(item, Mapping):
            for key, sub in item.items():
                if not isinstance(key, str) or not key:
                    raise BadInput(f"{path}: keys must be non-empty strings")
                if "." in key or '"' in key or key.startswith("$"):
                    raise BadInput(f"{path}: key {key!r} may not contain '.' or '\"' or start with '$'")
                if isinstance(sub, (Mapping, list)):
                    stack.append((sub, f"{path}.{key}"))
                elif _not_finite(sub):
                    raise BadInput(
                        f"{path}: {key!r} is {sub}, which JSON cannot carry (it would be stored as null)"
                    )
        elif isinstance(item, list):
            for sub in item:
                if isinstance(sub, (Mapping, list)):
                    stack.append((sub, path))
                elif _not_finite(sub):
                    raise BadInput(
                        f"{path}: a list holds {sub}, which JSON cannot carry (it would be stored as null)"
                    )


def check_metadata(metadata: Any, vector_id: str = "", size: int | None = None) -> None:
    """Metadata Vectorize takes: an object with valid keys, at most 10 KiB as compact JSON (``size``
    when the caller has measured it already)."""
    if metadata is None:
        return
    if not isinstance(metadata, Mapping):
        raise BadInput(f"metadata of {vector_id!r} must be an object")
    check_metadata_keys(metadata, f"metadata of {vector_id!r}")
    try:
        size = len(compact(metadata)) if size is None else size
    except ValueError as exc:
        raise BadInput(f"metadata of {vector_id!r} cannot be sent as JSON: {exc}") from None
    if size > MAX_METADATA_BYTES:
        raise MetadataTooLarge(
            f"metadata of {vector_id!r} is {size} bytes; the limit is {MAX_METADATA_BYTES} (10 KiB)"
        )


def _real(x: Any) -> bool:
    return isinstance(x, numbers.Real) and not isinstance(x, bool) and type(x).__name__ != "bool_"


def plain_values(values: Any) -> Any:
    """``values`` as a list or tuple of Python numbers where it is an array (numpy: ``tolist``), a
    list of numpy scalars, or another iterable; anything else is returned as it is, for
    :func:`check_values` to refuse."""
    if isinstance(values, (list, tuple)):
        if set(map(type, values)) <= _NUMBER_TYPES or not all(map(_real, values)):
            return values
        return [float(x) for x in values]
    if hasattr(values, "tolist"):
        return values.tolist()
    if isinstance(values, (str, bytes, Mapping)) or not hasattr(values, "__iter__"):
        return values
    return list(values)


def check_values(values: Any, dimensions: int | None = None, vector_id: str = "") -> None:
    """A non-empty list of finite numbers within float32's range, of ``dimensions`` if given; or an
    embedding answer's row kept as JSON (:class:`~workersai.raw_vectors.RawVector`, its numbers checked
    when it was cut out), of ``dimensions``."""
    if isinstance(values, RawVector):
        if dimensions is not None and values.dimensions != dimensions:
            raise dimension_mismatch(dimensions, values.dimensions, vector_id=vector_id)
        return
    if not isinstance(values, (list, tuple)) or not values:
        raise BadInput(f"values of {vector_id!r} must be a non-empty list of numbers")
    if dimensions is not None and len(values) != dimensions:
        raise dimension_mismatch(dimensions, len(values), vector_id=vector_id)
    # Fast path at C speed: only floats and ints, a finite sum (no NaN or infinity) and the extremes
    # within float32 (1e39 would be stored as infinity). An int too large for a float overflows the
    # sum: the loop below names it.
    try:
        if (
            set(map(type, values)) <= _NUMBER_TYPES
            and math.isfinite(sum(values))
            and min(values) >= -MAX_FLOAT32
            and max(values) <= MAX_FLOAT32
        ):
            return
    except OverflowError:
        pass
    for x in values:
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise BadInput(f"values of {vector_id!r} must be finite numbers; found {x!r}")
        if isinstance(x, float) and not math.isfinite(x):
            raise BadInput(f"values of {vector_id!r} must be finite numbers; found {x!r}")
        if abs(x) >= FLOAT32_OVERFLOW:  # compared exactly for an int of any size
            found = f"an integer of {x.bit_length()} bits" if isinstance(x, int) else repr(x)
            raise BadInput(f"values of {vector_id!r} must fit in float32 (|v| <= 3.4e38); found {found}")


def check_namespace(namespace: Any) -> None:
    if namespace is None:
        return
    if (
        not isinstance(namespace, str)
        or not namespace
        or utf8_size(namespace, "namespace") > MAX_NAMESPACE_BYTES
    ):
        raise BadInput(f"namespace must be a non-empty string of at most 64 bytes, got {namespace!r}")


def check_vector(
    vector_id: Any, values: Any, metadata: Any, namespace: Any, dimensions: int | None = None
) -> None:
    """Check one vector record before it is sent."""
    vid = check_id(vector_id)
    check_values(values, dimensions, vid)
    check_metadata(metadata, vid)
    check_namespace(namespace)


def check_top_k(top_k: int, return_values: bool, return_metadata: str) -> None:
    if return_metadata not in RETURN_METADATA:
        raise BadInput(f"returnMetadata must be one of {RETURN_METADATA}, got {return_metadata!r}")
    ceiling = MAX_TOP_K_WITH_DATA if (return_values or return_metadata == "all") else MAX_TOP_K
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= ceiling:
        raise BadInput(f"top_k must be between 1 and {ceiling} for this query, got {top_k!r}")


def check_dimensions(dimensions: Any) -> int:
    if (
        isinstance(dimensions, bool)
        or not isinstance(dimensions, int)
        or not 1 <= dimensions <= MAX_DIMENSIONS
    ):
        raise BadInput(
            f"dimensions must be between 1 and {MAX_DIMENSIONS} (or give a preset), got {dimensions!r}"
        )
    return dimensions


def model_dimensions(model: str | None) -> int | None:
    """The dimensions of an embedding model's vectors by the catalog (None: not an embedding model the
    catalog knows), so that a mismatch with an index is told before anything is embedded."""
    info = get_model(model) if model else None
    return info.dimensions if info is not None and info.is_embedding else None


def dimension_mismatch(
    index_dims: int, got: int, *, index: str | None = None, model: str | None = None, vector_id: str = ""
) -> DimensionMismatch:
    """Vectors of ``got`` dimensions for an index of ``index_dims``: both dimensions and both fixes."""
    which = f"index {index!r}" if index else "the index"
    made = f"the embedding model {model} makes {got}" if model else f"vector {vector_id!r} has {got}"
    same = [
        m.name
        for m in models().values()
        if m.is_embedding and m.dimensions == index_dims and not m.is_deprecated()
    ]
    like = f" (such as {', '.join(sorted(same)[:2])})" if same else ""
    return DimensionMismatch(
        f"{made} dimensions but {which} has {index_dims}: use an embedding model of {index_dims}"
        f" dimensions{like}, or create the index with {got} dimensions (a new index name, or delete"
        " this index first)"
    )


def check_model_fits(index: str, index_dims: int | None, model: str | None, got: int | None) -> None:
    """:func:`dimension_mismatch` when both sides are known and differ (nothing is sent or embedded)."""
    if index_dims is not None and got is not None and index_dims != got:
        raise dimension_mismatch(index_dims, got, index=index, model=model)
