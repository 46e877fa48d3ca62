"""The emulator's in-memory vector index: one float32 matrix per Vectorize index, per-row ids, metadata
and namespaces, filter columns built from the metadata indexes, and exact search (no SQLite here; the
store in :mod:`workersai.local.vectorize_store` persists rows and feeds them in).

Filtering follows the service: only properties with a metadata index can be filtered, and a vector is
filterable on a property only if the index existed when the vector was written (its indexed values are
captured at that time; strings on their first 64 bytes, and only values of the index's type). ``$ne``
and ``$nin`` also match vectors that lack the property.

Scores: cosine similarity and dot product (higher is closer), euclidean distance (lower is closer).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from numpy.typing import NDArray

_MISSING = object()


def path_value(metadata: Mapping[str, Any], path: str) -> Any:
    """The value at a dotted ``path`` in nested metadata (dots nest, as in the service's filters), or
    ``_MISSING``."""
    value: Any = metadata
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def indexed_values(metadata: Any, props: Mapping[str, str]) -> dict[str, Any]:
    """The values of ``metadata`` a vector is filterable on, given the metadata indexes ``props``."""
    out = {}
    for prop, kind in props.items():
        value = _indexed_value(path_value(metadata or {}, prop), kind)
        if value is not _MISSING:
            out[prop] = value
    return out


def _indexed_value(value: Any, kind: str) -> Any:
    if kind == "string" and isinstance(value, str):
        return _prefix(value)
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    return _MISSING


def _prefix(text: str) -> str:
    """Strings are indexed on their first 64 bytes."""
    return text.encode()[:64].decode(errors="ignore")


def _want(kind: str, value: Any) -> Any:
    """A filter operand as the column of ``kind`` holds it, or _MISSING when the types differ."""
    if kind == "string":
        return _prefix(value) if isinstance(value, str) else _MISSING
    if kind == "number":
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        return float(value) if ok else _MISSING
    return value if isinstance(value, bool) else _MISSING


@dataclass
class Column:
    """One filterable property over every row: its values and where it is present."""

    kind: str
    values: NDArray[Any]
    present: NDArray[np.bool_]

    def mask(self, op: str, operand: Any) -> NDArray[np.bool_]:
        if op in ("$ne", "$nin"):
            return ~self.mask("$eq" if op == "$ne" else "$in", operand)
        if op in ("$in", "$eq"):
            candidates = operand if op == "$in" else [operand]
            wants = [w for w in (_want(self.kind, c) for c in candidates) if w is not _MISSING]
            if not wants:
                return np.zeros(len(self.present), dtype=bool)
            return self.present & np.isin(self.values, np.asarray(wants, dtype=self.values.dtype))
        want = _want(self.kind, operand)
        if want is _MISSING or self.kind == "boolean":
            return np.zeros(len(self.present), dtype=bool)
        compare = {"$lt": np.less, "$lte": np.less_equal, "$gt": np.greater, "$gte": np.greater_equal}[op]
        result: NDArray[np.bool_] = self.present & compare(self.values, want).astype(bool)
        return result


@dataclass
class LiveIndex:
    """An index's rows held in memory for search: a growing matrix plus per-row bookkeeping."""

    dimensions: int
    ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    metadata: list[dict[str, Any] | None] = field(default_factory=list)
    indexed: list[dict[str, Any]] = field(default_factory=list)
    namespaces: list[str | None] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        self.matrix = np.zeros((16, self.dimensions), dtype=np.float32)
        self.norms = np.zeros(16, dtype=np.float64)  # float64: float32-range values overflow a float32 norm
        self.ns_codes = np.full(16, -1, dtype=np.int32)
        self.ns_ids: dict[str, int] = {}
        self._columns: dict[str, Column] = {}

    def _grow(self, needed: int) -> None:
        capacity = len(self.matrix)
        if needed <= capacity:
            return
        while capacity < needed:
            capacity *= 2
        for name in ("matrix", "norms", "ns_codes"):
            # Rows past `size` are never read (searches slice [:size]), so they need no filling.
            old = getattr(self, name)
            new = np.empty((capacity, *old.shape[1:]), dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def put_many(
        self,
        ids: list[str],
        values: NDArray[np.float32],
        namespaces: list[str | None],
        metadata: list[dict[str, Any] | None],
        indexed: list[dict[str, Any]],
    ) -> None:
        self._grow(self.size + len(ids))
        targets = np.empty(len(ids), dtype=np.int64)
        for k, vid in enumerate(ids):
            row = self.rows.get(vid)
            ns = namespaces[k]
            if row is None:
                row = self.size
                self.size += 1
                self.rows[vid] = row
                self.ids.append(vid)
                self.metadata.append(metadata[k])
                self.indexed.append(indexed[k])
                self.namespaces.append(ns)
            else:
                self.metadata[row], self.indexed[row], self.namespaces[row] = metadata[k], indexed[k], ns
            self.ns_codes[row] = -1 if ns is None else self.ns_ids.setdefault(ns, len(self.ns_ids))
            targets[k] = row
        self.matrix[targets] = values
        self.norms[targets] = np.linalg.norm(values.astype(np.float64), axis=1)
        self._columns.clear()

    def remove(self, vid: str) -> None:
        row = self.rows.pop(vid, None)
        if row is None:
            return
        last = self.size - 1
        if row != last:
            moved = self.ids[last]
            self.rows[moved] = row
            for name in ("ids", "metadata", "indexed", "namespaces"):
                getattr(self, name)[row] = getattr(self, name)[last]
            for array in (self.matrix, self.norms, self.ns_codes):
                array[row] = array[last]
        for name in ("ids", "metadata", "indexed", "namespaces"):
            getattr(self, name).pop()
        self.size -= 1
        self._columns.clear()

    def column(self, prop: str, kind: str) -> Column:
        col = self._columns.get(prop)
        if col is None or col.kind != kind:
            raw = [ix.get(prop, _MISSING) for ix in self.indexed]
            present = np.fromiter((v is not _MISSING for v in raw), dtype=bool, count=self.size)
            if kind == "number":
                values: NDArray[Any] = np.array([0.0 if v is _MISSING else v for v in raw], dtype=np.float64)
            elif kind == "boolean":
                values = np.array([False if v is _MISSING else v for v in raw], dtype=bool)
            else:
                values = np.array(["" if v is _MISSING else v for v in raw], dtype=object)
            col = self._columns[prop] = Column(kind, values, present)
        return col

    def filter_mask(self, flt: Mapping[str, Any], kinds: Mapping[str, str]) -> NDArray[np.bool_]:
        mask = np.ones(self.size, dtype=bool)
        for key, cond in flt.items():
            ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
            kind = kinds.get(key)
            for op, operand in ops.items():
                if kind is None:  # no metadata index: nothing is filterable on it
                    if op not in ("$ne", "$nin"):
                        mask[:] = False
                    continue
                mask &= self.column(key, kind).mask(op, operand)
        return mask

    def search(
        self,
        vector: list[float],
        metric: str,
        top_k: int,
        flt: Mapping[str, Any] | None,
        kinds: Mapping[str, str],
        namespace: str | None,
    ) -> list[tuple[int, float]]:
        """The ``top_k`` closest rows to ``vector`` as ``(row, score)``, best first (ties by row)."""
        n = self.size
        mask: NDArray[np.bool_] | None = None
        if namespace is not None:
            code = self.ns_ids.get(namespace, -2)
            mask = self.ns_codes[:n] == code
        if flt:
            fmask = self.filter_mask(flt, kinds)
            mask = fmask if mask is None else mask & fmask
        rows = np.arange(n) if mask is None else np.flatnonzero(mask)
        sub = self.matrix[:n] if mask is None else self.matrix[rows]
        # Values near float32's limit can overflow a product: such scores become inf, never a warning
        # that kills the caller, and never NaN on the wire.
        q = np.asarray(vector, dtype=np.float32)
        scores: NDArray[np.floating[Any]]
        with np.errstate(over="ignore", invalid="ignore"):
            if metric == "euclidean":
                scores = np.sqrt(
                    np.maximum(0.0, (self.norms[rows] ** 2) - 2 * (sub @ q) + float(q.astype(np.float64) @ q))
                )
                key = scores
            else:
                scores = sub @ q
                if metric == "cosine":
                    norms = self.norms[rows] * (float(np.linalg.norm(q.astype(np.float64))) or 1.0)
                    scores = scores / np.where(norms == 0, 1.0, norms)
                key = -scores
            scores = np.nan_to_num(scores, nan=0.0)
            key = np.nan_to_num(key, nan=np.inf)
        k = min(top_k, len(rows))
        best = np.argpartition(key, k - 1)[:k] if 0 < k < len(rows) else np.arange(len(rows))
        order = best[np.lexsort((best, key[best]))]
        return [(int(rows[j]), float(scores[j])) for j in order]

    def match(self, row: int, score: float, return_values: bool, return_metadata: str) -> dict[str, Any]:
        """One query match in the service's shape."""
        item: dict[str, Any] = {"id": self.ids[row], "score": score}
        if return_values:
            item["values"] = self.matrix[row].tolist()
        if return_metadata == "all" and self.metadata[row] is not None:
            item["metadata"] = self.metadata[row]
        elif return_metadata == "indexed":
            item["metadata"] = {k: v for k, v in (self.metadata[row] or {}).items() if k in self.indexed[row]}
        if self.namespaces[row] is not None:
            item["namespace"] = self.namespaces[row]
        return item
