"""Vectorize v2's rules as the service states them.

Sources (read 2026-11-28):

- Limits: https://developers.cloudflare.com/vectorize/platform/limits/ (dimensions 1536, float32
  precision, id 64 bytes, metadata 10 KiB, topK 100 / with values or metadata 20, 5000 vectors and
  100 MB per HTTP write, index and namespace names 64 bytes, 10 metadata indexes, 1000 vectors per
  list page). The topK ceiling with values or all metadata is 50 here, not the page's 20: the
  service's own answer is ``VECTOR_QUERY_ERROR (code = 40025): max top K is 50, but got 60``
  (https://github.com/rahilp/second-brain-cloudflare/pull/89, 2026-05-27; the same 50 in
  https://github.com/doobidoo/mcp-memory-service/pull/1259).
- Metadata keys: https://developers.cloudflare.com/vectorize/best-practices/insert-vectors/ ("Metadata
  keys cannot be empty, contain the dot character (.), contain the double-quote character ("), or start
  with the dollar character ($)"); values are stored as float32.
- Filters: https://developers.cloudflare.com/vectorize/reference/metadata-filtering/ (operators
  ``$eq $ne $in $nin $lt $lte $gt $gte``; the filter is a non-empty object whose compact JSON is under
  2048 bytes; keys are not empty, do not start with ``$`` or contain ``"``, dots nest; operands are
  strings, numbers, booleans or null; ``$in``/``$nin`` take lists).
- Index names: ``^[a-z][a-z0-9_-]*[a-z0-9]$``, at most 64 bytes (the limits page gives the length;
  the pattern is the API's OpenAPI schema ``vectorize_index-name``, ``^([a-z]+[a-z0-9_-]*[a-z0-9]+)$``,
  the same set of names, as published from Cloudflare's schema in
  https://raw.githubusercontent.com/api-evangelist/engineering-platform/refs/heads/main/json-schema/apis-io-engineering-platform-vectorize-index-name-schema.json;
  newer copies of the schema declare the name a plain string, so the service's own check may be
  looser). Matched with ``fullmatch``: ``$`` would let a trailing newline through.
- Dimensions: 1..1536 (the limits page, and the API's OpenAPI schema ``vectorize_index-dimensions``:
  integer, minimum 1, maximum 1536); a create over the cap is refused as an invalid config (40026: the
  service's own code for it is not documented).
- ``unparsable-behavior`` (API reference "Vectorize > Indexes > Insert Vectors" / "Upsert Vectors"):
  a query parameter, ``"error"`` (the default) or ``"discard"``, "Behavior for ndjson parse failures".
  With ``discard`` a line that does not parse as JSON is skipped; a line that parses but breaks a rule
  is still refused (40026). The answer is only ``{mutationId}`` (v2 has no count to reflect skips).
- Error codes: 3000 index not found and 3002 duplicate name, probed on the live API in
  https://github.com/alchemy-run/distilled/pull/308 (2026-05-28; it also saw the duplicate answered
  with HTTP 400 where the emulator answers 409, and ``vectorize.index.duplicate_name`` in the message,
  https://github.com/alchemy-run/alchemy-async/pull/650); 40025 topK over the ceiling (above). 40006
  query dimension mismatch, 40012 insert dimension mismatch, 40026 invalid body and 40023 NDJSON that
  does not parse are the codes this project recorded from the service's answers; no public page or
  report states them (searched 2026-12-06), so they are the emulator's best knowledge, not a cited
  fact.
- ``delete_by_ids``: at most :data:`MAX_DELETE_IDS` (100) ids a request; more are refused whole with
  40007, "too many ids in payload; max id count is 100, got N" (not on the limits page; the service's
  answers as users report them: ``VECTOR_DELETE_ERROR (code = 40007): too many ids in payload; max id
  count is 100, got 173`` in JSONbored/metagraphed#11137, the same limit in wevm/vocs#577 and
  get-engram/engram#437). ``get_by_ids`` has no documented or reported limit: none is enforced.

Not documented by the service, chosen here (and why):

- metadata nesting: at most :data:`MAX_METADATA_DEPTH` (200) levels. The emulator stores and answers
  metadata as JSON written by orjson, which writes at most 254 levels, and the deepest answer (a query
  match) wraps metadata in 4 more; deeper documents are refused with a 400 instead of failing later.
- values: the service stores float32, so a finite number beyond float32's range (|v| > 3.4028235e38,
  e.g. 1e39) cannot be stored; it is refused with a 400 rather than turned into infinity.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

import numpy as np
import orjson

from . import Rejected, parse_json

MAX_INDEX_NAME_BYTES = 64
MAX_DIMENSIONS = 1536
MAX_ID_BYTES = 64
MAX_NAMESPACE_BYTES = 64
MAX_METADATA_BYTES = 10 * 1024
MAX_METADATA_DEPTH = 200
MAX_FILTER_BYTES = 2048
MAX_TOP_K = 100
MAX_TOP_K_WITH_DATA = 50
MAX_VECTORS_PER_WRITE = 5000
MAX_DELETE_IDS = 100
MAX_BYTES_PER_WRITE = 100 * 1000 * 1000
MAX_METADATA_INDEXES = 10
MAX_LIST_COUNT = 1000
FLOAT32_MAX = 3.4028235e38
METRICS = ("cosine", "euclidean", "dot-product")
METADATA_INDEX_TYPES = ("string", "number", "boolean")
FILTER_OPERATORS = ("$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte")
RETURN_METADATA = ("none", "indexed", "all")

INVALID_BODY = 40026
BAD_NDJSON = 40023
TOP_K_CEILING = 40025
QUERY_DIMENSIONS = 40006
INSERT_DIMENSIONS = 40012
TOO_MANY_DELETE_IDS = 40007
INDEX_NOT_FOUND = 3000
DUPLICATE_INDEX = 3002

_INDEX_NAME = re.compile(r"[a-z][a-z0-9_-]*[a-z0-9]")


def invalid(message: str) -> Rejected:
    return Rejected(400, INVALID_BODY, f"vectorize.invalid_body: {message}")


def json_object(raw: bytes) -> dict[str, Any]:
    """A request body that must be a JSON object."""
    body = parse_json(raw, INVALID_BODY, "vectorize.invalid_body")
    if not isinstance(body, dict):
        raise invalid("the body must be an object")
    return body


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _utf8_size(text: str) -> int | None:
    """Bytes of ``text`` in UTF-8, or None when it is not encodable (a lone surrogate)."""
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        return None


def _name_text(value: Any, what: str, limit: int) -> str:
    if not isinstance(value, str) or not value:
        raise invalid(f"{what} must be a non-empty string")
    size = _utf8_size(value)
    if size is None:
        raise invalid(f"{what} is not valid UTF-8")
    if size > limit:
        raise invalid(f"{what} is {size} bytes; the limit is {limit}")
    return value


def index_name(value: Any) -> str:
    """``^[a-z][a-z0-9_-]*[a-z0-9]$`` matched in full (a trailing newline is not a name), <= 64 bytes."""
    if (
        not isinstance(value, str)
        or not _INDEX_NAME.fullmatch(value)
        or len(value.encode()) > MAX_INDEX_NAME_BYTES
    ):
        raise Rejected(
            400,
            INVALID_BODY,
            f"vectorize.invalid_name: {value!r}: lowercase letters, digits, '-' and '_', starting with a "
            f"letter and ending with a letter or digit, at most {MAX_INDEX_NAME_BYTES} bytes",
        )
    return value


def index_config(config: Any, preset_dimensions: int | None) -> tuple[int, str]:
    """``(dimensions, metric)`` of a create-index ``config``; ``preset_dimensions`` is the catalog's
    answer for ``config.preset`` (None when the preset is unknown)."""
    if not isinstance(config, dict):
        raise Rejected(400, INVALID_BODY, "vectorize.invalid_config: 'config' is required")
    if "preset" in config:
        if preset_dimensions is None:
            raise Rejected(
                400, INVALID_BODY, f"vectorize.invalid_config: unknown preset {config['preset']!r}"
            )
        return preset_dimensions, "cosine"
    dims, metric = config.get("dimensions"), config.get("metric")
    if isinstance(dims, bool) or not isinstance(dims, int) or not 1 <= dims <= MAX_DIMENSIONS:
        raise Rejected(400, INVALID_BODY, f"vectorize.invalid_config: dimensions must be 1..{MAX_DIMENSIONS}")
    if metric not in METRICS:
        raise Rejected(400, INVALID_BODY, f"vectorize.invalid_config: metric must be one of {METRICS}")
    return dims, str(metric)


_NUMBER_TYPES = frozenset({int, float})


def values(value: Any, what: str) -> list[float]:
    """A vector's values: a non-empty list of finite numbers that fit in float32.

    Checked at C speed (every element's type, then the finite range in numpy): a Python loop over
    every float of every vector was most of the emulator's CPU when ingesting. The loop below runs
    only to name the first bad value."""
    if not isinstance(value, list) or not value:
        raise invalid(f"{what}: values must be a non-empty list of numbers")
    if set(map(type, value)) <= _NUMBER_TYPES:  # exact types: bool (an int subclass) is refused
        try:
            arr = np.array(value, dtype=np.float64)
        except OverflowError:  # an int past float64's range
            arr = None
        if arr is not None and np.abs(arr, out=arr).max() <= FLOAT32_MAX:  # a NaN max compares False
            return value
    for x in value:
        if not _is_number(x):
            raise invalid(f"{what}: values must be numbers, found {x!r}")
        if isinstance(x, float) and not math.isfinite(x):
            raise invalid(f"{what}: values must be finite, found {x!r}")
        if abs(x) > FLOAT32_MAX:
            raise invalid(f"{what}: value {x!r} does not fit in float32")
    return value


def _metadata_keys(value: Any, depth: int, what: str) -> None:
    """Key rules on every level, and the nesting ceiling (iterative: no recursion to exhaust)."""
    stack: list[tuple[Any, int]] = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if level > MAX_METADATA_DEPTH:
            raise invalid(f"{what}: metadata is nested deeper than {MAX_METADATA_DEPTH} levels")
        if isinstance(item, dict):
            for key, sub in item.items():
                if not key or "." in key or '"' in key or key.startswith("$"):
                    raise invalid(
                        f"{what}: metadata key {key!r} is empty, contains '.' or '\"', or starts with '$'"
                    )
                if _utf8_size(key) is None:
                    raise invalid(f"{what}: metadata key is not valid UTF-8")
                stack.append((sub, level + 1))
        elif isinstance(item, list):
            stack.extend((sub, level + 1) for sub in item)
        elif isinstance(item, str) and _utf8_size(item) is None:
            raise invalid(f"{what}: metadata string is not valid UTF-8")


def metadata(value: Any, what: str) -> None:
    """An object of at most 10 KiB as compact JSON, with keys that follow the key rules."""
    if value is None:
        return
    if not isinstance(value, dict):
        raise invalid(f"{what}: metadata must be an object")
    _metadata_keys(value, 1, what)
    size = len(orjson.dumps(value))
    if size > MAX_METADATA_BYTES:
        raise invalid(f"{what}: metadata is {size} bytes; the limit is {MAX_METADATA_BYTES} (10 KiB)")


def namespace(value: Any, what: str = "namespace") -> str | None:
    if value is None:
        return None
    return _name_text(value, what, MAX_NAMESPACE_BYTES)


def vector(item: Any, what: str) -> dict[str, Any]:
    """One vector record of an insert or upsert."""
    if not isinstance(item, dict):
        raise invalid(f"{what}: a vector must be an object")
    _name_text(item.get("id"), f"{what}: id", MAX_ID_BYTES)
    values(item.get("values"), what)
    metadata(item.get("metadata"), what)
    namespace(item.get("namespace"), f"{what}: namespace")
    return item


def _lines(body: bytes) -> Iterator[tuple[int, bytes]]:
    for number, line in enumerate(body.splitlines(), 1):
        if line.strip():
            yield number, line


UNPARSABLE_BEHAVIORS = ("error", "discard")


def unparsable_behavior(value: str | None) -> bool:
    """Whether ``?unparsable-behavior=`` asks to discard lines that do not parse (default ``error``)."""
    if value is None:
        return False
    if value not in UNPARSABLE_BEHAVIORS:
        raise invalid(f"unparsable-behavior must be one of {UNPARSABLE_BEHAVIORS}, got {value!r}")
    return value == "discard"


def ndjson(body: bytes, discard_unparsable: bool = False) -> list[dict[str, Any]]:
    """The vectors of an NDJSON write body, each line checked. A line that does not parse is 40023
    (the service's "failed to parse ... ndjson"), or skipped with ``discard_unparsable``; a parsed line
    that breaks a rule is 40026."""
    vectors = []
    for number, line in _lines(body):
        try:
            item = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            if discard_unparsable:
                continue
            raise Rejected(
                400,
                BAD_NDJSON,
                f"vectorize.upstream_error - failed to parse line {number} of the ndjson body: {exc.msg}",
            ) from exc
        vectors.append(vector(item, f"line {number}"))
    if not vectors:
        raise invalid("no vectors in the body")
    if len(vectors) > MAX_VECTORS_PER_WRITE:
        raise Rejected(
            400, INVALID_BODY, f"vectorize.too_many_vectors: at most {MAX_VECTORS_PER_WRITE} a request"
        )
    return vectors


def _operand(op: str, value: Any, key: str) -> None:
    def scalar(v: Any) -> bool:
        if isinstance(v, str):
            return _utf8_size(v) is not None
        return isinstance(v, (bool, int)) or (isinstance(v, float) and math.isfinite(v))

    if op in ("$in", "$nin"):
        if not isinstance(value, list) or not value or not all(scalar(v) for v in value):
            raise invalid(f"filter {key!r}: {op} takes a non-empty list of strings, numbers or booleans")
    elif op in ("$lt", "$lte", "$gt", "$gte"):
        if isinstance(value, bool) or not (isinstance(value, str) or _is_number(value)) or not scalar(value):
            raise invalid(f"filter {key!r}: {op} takes a string or a number")
    elif value is not None and not scalar(value):
        raise invalid(f"filter {key!r}: {op} takes a string, number, boolean or null")


def metadata_filter(flt: Any) -> dict[str, Any] | None:
    """A query's ``filter`` (None when absent)."""
    if flt is None:
        return None
    if not isinstance(flt, dict) or not flt:
        raise invalid("filter must be a non-empty object of {property: value | {operator: value}}")
    for key, cond in flt.items():
        if not key or key.startswith("$") or '"' in key or any(not part for part in key.split(".")):
            raise invalid(f"filter key {key!r} is not a property path")
        if _utf8_size(key) is None:
            raise invalid("filter key is not valid UTF-8")
        if isinstance(cond, dict):
            if not cond:
                raise invalid(f"filter {key!r}: empty operator object")
            for op, operand in cond.items():
                if op not in FILTER_OPERATORS:
                    raise invalid(f"filter {key!r}: unsupported operator {op!r}")
                _operand(op, operand, key)
        else:
            _operand("$eq", cond, key)
    size = len(orjson.dumps(flt))
    if size >= MAX_FILTER_BYTES:
        raise invalid(f"filter is {size} bytes as compact JSON; it must be under {MAX_FILTER_BYTES}")
    return flt


def top_k(value: Any, return_values: bool, return_metadata: str) -> int:
    """``topK``: 1..100, or 1..50 when values or all metadata come back (40025 above the ceiling)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise invalid("'topK' must be an integer")
    ceiling = MAX_TOP_K_WITH_DATA if (return_values or return_metadata == "all") else MAX_TOP_K
    if not 1 <= value <= ceiling:
        raise Rejected(400, TOP_K_CEILING, f"topK must be between 1 and {ceiling} for this query")
    return value


def query(body: dict[str, Any]) -> dict[str, Any]:
    """A query body, checked, as ``{vector, top_k, return_values, return_metadata, filter, namespace}``
    (the vector's length is checked against the index by the store: 40006)."""
    return_metadata = body.get("returnMetadata", "none")
    if return_metadata is True:
        return_metadata = "all"
    elif return_metadata is False:
        return_metadata = "none"
    if return_metadata not in RETURN_METADATA:
        raise invalid("'returnMetadata' must be none, indexed or all")
    return_values = body.get("returnValues", False)
    if not isinstance(return_values, bool):
        raise invalid("'returnValues' must be a boolean")
    return {
        "vector": values(body.get("vector"), "query vector"),
        "top_k": top_k(body.get("topK", 5), return_values, return_metadata),
        "return_values": return_values,
        "return_metadata": return_metadata,
        "filter": metadata_filter(body.get("filter")),
        "namespace": namespace(body.get("namespace")),
    }


def ids(body: dict[str, Any]) -> list[str]:
    found = body.get("ids")
    if not isinstance(found, list) or not all(isinstance(i, str) for i in found):
        raise invalid("'ids' must be a list of strings")
    return found


def delete_ids(body: dict[str, Any]) -> list[str]:
    """The ids of a ``delete_by_ids`` request: at most :data:`MAX_DELETE_IDS` (40007 beyond)."""
    found = ids(body)
    if len(found) > MAX_DELETE_IDS:
        raise Rejected(
            400,
            TOO_MANY_DELETE_IDS,
            f"too many ids in payload; max id count is {MAX_DELETE_IDS}, got {len(found)}",
        )
    return found


def list_count(raw: str | None) -> int:
    try:
        count = int(raw if raw is not None else "100")
    except ValueError as exc:
        raise Rejected(400, INVALID_BODY, "count must be an integer") from exc
    if not 1 <= count <= MAX_LIST_COUNT:
        raise Rejected(400, INVALID_BODY, f"count must be between 1 and {MAX_LIST_COUNT}")
    return count


def metadata_index(body: dict[str, Any], with_type: bool) -> tuple[str, str | None]:
    """``(propertyName, indexType)`` of a metadata-index create (``with_type``) or delete."""
    prop, kind = body.get("propertyName"), body.get("indexType")
    if not isinstance(prop, str) or not prop or (with_type and kind not in METADATA_INDEX_TYPES):
        raise invalid("propertyName and indexType (string|number|boolean)")
    return prop, (str(kind) if with_type else None)
