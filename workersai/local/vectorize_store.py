"""The emulator's Vectorize: indexes persisted in SQLite, asynchronous mutations, exact numpy search.

Durability: a write is acknowledged (its ``mutationId`` returned) only after the mutation is committed
to SQLite (WAL, ``synchronous=FULL``). A background worker applies pending mutations in order, each
after ``mutation_delay_ms``, and records ``processedUpToMutation``. A crash after the acknowledgement
loses nothing: on restart the worker applies what is still pending.

Filtering follows the service: only properties with a metadata index can be filtered, and a vector is
filterable on a property only if the index existed when the vector was written (its indexed values are
captured at that time; strings on their first 64 bytes, and only values of the index's type). ``$ne``
and ``$nin`` also match vectors that lack the property.

Scores: cosine similarity and dot product (higher is closer), euclidean distance (lower is closer).
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..vectorize_limits import MAX_TOP_K, MAX_TOP_K_WITH_DATA, check_vector

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (
    account TEXT, name TEXT, description TEXT, dimensions INTEGER, metric TEXT,
    created_on TEXT, modified_on TEXT, processed_mutation TEXT, processed_at TEXT,
    PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS vectors (
    account TEXT, idx TEXT, id TEXT, namespace TEXT, vals BLOB, metadata TEXT, indexed TEXT,
    PRIMARY KEY (account, idx, id));
CREATE TABLE IF NOT EXISTS metadata_indexes (
    account TEXT, idx TEXT, property TEXT, type TEXT, PRIMARY KEY (account, idx, property));
CREATE TABLE IF NOT EXISTS mutations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, idx TEXT, mutation_id TEXT, kind TEXT,
    payload TEXT, created REAL, applied INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS pending ON mutations (applied, seq);
"""


class VectorizeError(Exception):
    """An error with the service's status and code."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _path_value(metadata: Mapping[str, Any], path: str) -> Any:
    value: Any = metadata
    for part in path.split("."):
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


_MISSING = object()


def _indexed_value(value: Any, kind: str) -> Any:
    if kind == "string" and isinstance(value, str):
        return value.encode()[:64].decode(errors="ignore")
    if kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if kind == "boolean" and isinstance(value, bool):
        return value
    return _MISSING


def _compare(op: str, have: Any, want: Any) -> bool:
    if op in ("$ne", "$nin"):
        if have is _MISSING:
            return True
        return not _compare("$eq" if op == "$ne" else "$in", have, want)
    if have is _MISSING:
        return False
    if op == "$eq":
        return _same(have, want)
    if op == "$in":
        return any(_same(have, w) for w in want)
    if isinstance(have, bool) or isinstance(want, bool):
        return False
    if isinstance(have, str) != isinstance(want, str):
        return False
    if isinstance(want, str):
        want = want.encode()[:64].decode(errors="ignore")
    if op == "$lt":
        return bool(have < want)
    if op == "$lte":
        return bool(have <= want)
    if op == "$gt":
        return bool(have > want)
    return bool(have >= want)  # $gte


def _same(have: Any, want: Any) -> bool:
    if isinstance(have, bool) or isinstance(want, bool):
        return isinstance(have, bool) and isinstance(want, bool) and have == want
    if isinstance(have, str):
        return isinstance(want, str) and have == want.encode()[:64].decode(errors="ignore")
    return isinstance(want, (int, float)) and float(have) == float(want)


def matches(indexed: Mapping[str, Any], flt: Mapping[str, Any]) -> bool:
    """Does a vector with these indexed values pass the filter? (keys ANDed)"""
    for key, cond in flt.items():
        have = indexed.get(key, _MISSING)
        ops = cond if isinstance(cond, Mapping) else {"$eq": cond}
        for op, want in ops.items():
            if not _compare(op, have, want):
                return False
    return True


@dataclass
class _Live:
    """An index's rows held in memory for search."""

    dimensions: int
    ids: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)
    matrix: NDArray[np.float32] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.float32))
    namespaces: list[str | None] = field(default_factory=list)
    metadata: list[dict[str, Any] | None] = field(default_factory=list)
    indexed: list[dict[str, Any]] = field(default_factory=list)
    size: int = 0

    def __post_init__(self) -> None:
        self.matrix = np.zeros((16, self.dimensions), dtype=np.float32)

    def put(
        self,
        vid: str,
        values: NDArray[np.float32],
        namespace: str | None,
        metadata: Any,
        indexed: dict[str, Any],
    ) -> None:
        row = self.rows.get(vid)
        if row is None:
            if self.size == len(self.matrix):
                grown = np.zeros((max(16, 2 * len(self.matrix)), self.dimensions), dtype=np.float32)
                grown[: self.size] = self.matrix[: self.size]
                self.matrix = grown
            row = self.size
            self.size += 1
            self.rows[vid] = row
            self.ids.append(vid)
            self.namespaces.append(namespace)
            self.metadata.append(metadata)
            self.indexed.append(indexed)
        else:
            self.namespaces[row], self.metadata[row], self.indexed[row] = namespace, metadata, indexed
        self.matrix[row] = values

    def remove(self, vid: str) -> None:
        row = self.rows.pop(vid, None)
        if row is None:
            return
        last = self.size - 1
        if row != last:
            moved = self.ids[last]
            self.ids[row] = moved
            self.rows[moved] = row
            self.matrix[row] = self.matrix[last]
            self.namespaces[row] = self.namespaces[last]
            self.metadata[row] = self.metadata[last]
            self.indexed[row] = self.indexed[last]
        self.ids.pop()
        self.namespaces.pop()
        self.metadata.pop()
        self.indexed.pop()
        self.size -= 1


class VectorizeStore:
    """All indexes of all accounts, in one SQLite file (or in memory without a data directory)."""

    def __init__(self, data_dir: Path | None, mutation_delay_ms: float = 50.0) -> None:
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            target = str(data_dir / "vectorize.sqlite3")
        else:
            target = f"file:vectorize-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self._db = sqlite3.connect(
            target, uri=data_dir is None, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self.delay = mutation_delay_ms / 1000.0
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._live: dict[tuple[str, str], _Live] = {}
        self._stopped = False
        self._worker = threading.Thread(target=self._run, name="vectorize-mutations", daemon=True)
        self._worker.start()

    def close(self) -> None:
        with self._wake:
            self._stopped = True
            self._wake.notify_all()
        self._worker.join(timeout=5)

    # -- indexes --------------------------------------------------------------------------------
    def _index_row(self, account: str, name: str) -> tuple[Any, ...]:
        row = self._db.execute(
            "SELECT name, description, dimensions, metric, created_on, modified_on, processed_mutation, "
            "processed_at FROM indexes WHERE account=? AND name=?",
            (account, name),
        ).fetchone()
        if row is None:
            raise VectorizeError(404, 3000, f"vectorize.index.not_found: index {name!r} not found")
        return tuple(row)

    @staticmethod
    def _describe(row: tuple[Any, ...]) -> dict[str, Any]:
        name, description, dimensions, metric, created, modified = row[:6]
        return {
            "name": name,
            "description": description or "",
            "config": {"dimensions": dimensions, "metric": metric},
            "created_on": created,
            "modified_on": modified,
        }

    def create_index(
        self, account: str, name: str, dimensions: int, metric: str, description: str | None
    ) -> dict[str, Any]:
        with self._lock:
            exists = self._db.execute(
                "SELECT 1 FROM indexes WHERE account=? AND name=?", (account, name)
            ).fetchone()
            if exists:
                raise VectorizeError(
                    409, 3002, f"vectorize.index.duplicate_name: index {name!r} already exists"
                )
            now = _now()
            self._db.execute(
                "INSERT INTO indexes VALUES (?,?,?,?,?,?,?,?,?)",
                (account, name, description, dimensions, metric, now, now, None, None),
            )
            return self._describe(self._index_row(account, name))

    def get_index(self, account: str, name: str) -> dict[str, Any]:
        with self._lock:
            return self._describe(self._index_row(account, name))

    def list_indexes(self, account: str) -> list[dict[str, Any]]:
        with self._lock:
            names = [
                r[0]
                for r in self._db.execute(
                    "SELECT name FROM indexes WHERE account=? ORDER BY name", (account,)
                )
            ]
            return [self._describe(self._index_row(account, n)) for n in names]

    def delete_index(self, account: str, name: str) -> None:
        with self._lock:
            self._index_row(account, name)
            self._db.execute("BEGIN IMMEDIATE")
            for table in ("vectors", "metadata_indexes", "mutations"):
                self._db.execute(f"DELETE FROM {table} WHERE account=? AND idx=?", (account, name))
            self._db.execute("DELETE FROM indexes WHERE account=? AND name=?", (account, name))
            self._db.execute("COMMIT")
            self._live.pop((account, name), None)

    def info(self, account: str, name: str) -> dict[str, Any]:
        with self._lock:
            row = self._index_row(account, name)
            count = self._db.execute(
                "SELECT COUNT(*) FROM vectors WHERE account=? AND idx=?", (account, name)
            ).fetchone()[0]
            return {
                "dimensions": row[2],
                "vectorCount": count,
                "processedUpToMutation": row[6],
                "processedUpToDatetime": row[7],
            }

    # -- metadata indexes -----------------------------------------------------------------------
    def metadata_indexes(self, account: str, name: str) -> dict[str, str]:
        with self._lock:
            self._index_row(account, name)
            rows = self._db.execute(
                "SELECT property, type FROM metadata_indexes WHERE account=? AND idx=? ORDER BY property",
                (account, name),
            )
            return {p: t for p, t in rows}

    def create_metadata_index(self, account: str, name: str, prop: str, kind: str) -> str:
        existing = self.metadata_indexes(account, name)
        if prop in existing:
            raise VectorizeError(409, 40020, f"metadata index for {prop!r} already exists")
        if len(existing) >= 10:
            raise VectorizeError(400, 40021, "an index has at most 10 metadata indexes")
        return self._enqueue(account, name, "metadata_create", {"propertyName": prop, "indexType": kind})

    def delete_metadata_index(self, account: str, name: str, prop: str) -> str:
        if prop not in self.metadata_indexes(account, name):
            raise VectorizeError(404, 40022, f"no metadata index for {prop!r}")
        return self._enqueue(account, name, "metadata_delete", {"propertyName": prop})

    # -- writes ---------------------------------------------------------------------------------
    def write(self, account: str, name: str, kind: str, vectors: list[dict[str, Any]]) -> str:
        """Validate and durably enqueue an insert or upsert; returns its mutation id."""
        dims = self._index_row(account, name)[2]
        for v in vectors:
            if len(v.get("values") or []) != dims:
                raise VectorizeError(
                    400,
                    40012,
                    f"VECTOR_INSERT_DIMENSION_MISMATCH: vector {v.get('id')!r} has "
                    f"{len(v.get('values') or [])} dimensions, the index expects {dims}",
                )
        return self._enqueue(account, name, kind, vectors)

    def delete_ids(self, account: str, name: str, ids: list[str]) -> str:
        return self._enqueue(account, name, "delete", ids)

    def _enqueue(self, account: str, name: str, kind: str, payload: Any) -> str:
        mutation = str(uuid.uuid4())
        with self._wake:
            self._index_row(account, name)
            self._db.execute(
                "INSERT INTO mutations (account, idx, mutation_id, kind, payload, created) "
                "VALUES (?,?,?,?,?,?)",
                (account, name, mutation, kind, json.dumps(payload), time.monotonic()),
            )
            self._wake.notify_all()
        return mutation

    def _run(self) -> None:
        while True:
            with self._wake:
                if self._stopped:
                    return
                row = self._db.execute(
                    "SELECT seq, account, idx, mutation_id, kind, payload, created FROM mutations "
                    "WHERE applied=0 ORDER BY seq LIMIT 1"
                ).fetchone()
                if row is None:
                    self._wake.wait(0.5)
                    continue
                seq, account, name, mutation, kind, payload, created = row
                due = (created if created <= time.monotonic() else 0) + self.delay - time.monotonic()
                if due > 0:
                    self._wake.wait(min(due, 0.5))
                    continue
                self._apply(seq, account, name, mutation, kind, json.loads(payload))

    def _apply(self, seq: int, account: str, name: str, mutation: str, kind: str, payload: Any) -> None:
        live = self._load(account, name)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            if kind in ("insert", "upsert"):
                props = self.metadata_indexes(account, name)
                for v in payload:
                    vid = v["id"]
                    if kind == "insert" and vid in live.rows:
                        continue
                    meta = v.get("metadata")
                    indexed = {}
                    for prop, ptype in props.items():
                        value = _indexed_value(_path_value(meta or {}, prop), ptype)
                        if value is not _MISSING:
                            indexed[prop] = value
                    values = np.asarray(v["values"], dtype=np.float32)
                    db.execute(
                        "INSERT OR REPLACE INTO vectors VALUES (?,?,?,?,?,?,?)",
                        (
                            account,
                            name,
                            vid,
                            v.get("namespace"),
                            values.tobytes(),
                            json.dumps(meta) if meta is not None else None,
                            json.dumps(indexed),
                        ),
                    )
                    live.put(vid, values, v.get("namespace"), meta, indexed)
            elif kind == "delete":
                for vid in payload:
                    db.execute("DELETE FROM vectors WHERE account=? AND idx=? AND id=?", (account, name, vid))
                    live.remove(vid)
            elif kind == "metadata_create":
                db.execute(
                    "INSERT OR REPLACE INTO metadata_indexes VALUES (?,?,?,?)",
                    (account, name, payload["propertyName"], payload["indexType"]),
                )
            elif kind == "metadata_delete":
                db.execute(
                    "DELETE FROM metadata_indexes WHERE account=? AND idx=? AND property=?",
                    (account, name, payload["propertyName"]),
                )
            now = _now()
            db.execute(
                "UPDATE indexes SET processed_mutation=?, processed_at=?, modified_on=? "
                "WHERE account=? AND name=?",
                (mutation, now, now, account, name),
            )
            db.execute("UPDATE mutations SET applied=1 WHERE seq=?", (seq,))
            db.execute("COMMIT")
        except Exception:
            db.execute("ROLLBACK")
            self._live.pop((account, name), None)
            raise

    def _load(self, account: str, name: str) -> _Live:
        live = self._live.get((account, name))
        if live is None:
            dims = self._index_row(account, name)[2]
            live = _Live(dims)
            rows = self._db.execute(
                "SELECT id, namespace, vals, metadata, indexed FROM vectors WHERE account=? AND idx=?",
                (account, name),
            )
            for vid, ns, blob, meta, indexed in rows:
                values = np.frombuffer(blob, dtype=np.float32)
                live.put(vid, values, ns, json.loads(meta) if meta else None, json.loads(indexed or "{}"))
            self._live[(account, name)] = live
        return live

    # -- reads ----------------------------------------------------------------------------------
    def query(
        self,
        account: str,
        name: str,
        vector: list[float],
        top_k: int,
        return_values: bool,
        return_metadata: str,
        flt: Mapping[str, Any] | None,
        namespace: str | None,
    ) -> dict[str, Any]:
        with self._lock:
            row = self._index_row(account, name)
            dims, metric = row[2], row[3]
            if len(vector) != dims:
                raise VectorizeError(
                    400,
                    40006,
                    f"VECTOR_QUERY_DIMENSION_MISMATCH: query has {len(vector)} dimensions, the index {dims}",
                )
            ceiling = MAX_TOP_K_WITH_DATA if (return_values or return_metadata == "all") else MAX_TOP_K
            if not 1 <= top_k <= ceiling:
                raise VectorizeError(400, 40025, f"topK must be between 1 and {ceiling} for this query")
            live = self._load(account, name)
            n = live.size
            keep = np.ones(n, dtype=bool)
            if namespace is not None:
                keep &= np.fromiter((ns == namespace for ns in live.namespaces), dtype=bool, count=n)
            if flt:
                candidates = np.flatnonzero(keep)
                keep[:] = False
                for c in candidates:
                    keep[c] = matches(live.indexed[c], flt)
            rows = np.flatnonzero(keep)
            q = np.asarray(vector, dtype=np.float32)
            sub = live.matrix[rows]
            scores: NDArray[np.floating[Any]]
            if metric == "cosine":
                norms = np.linalg.norm(sub, axis=1) * (np.linalg.norm(q) or 1.0)
                scores = (sub @ q) / np.where(norms == 0, 1.0, norms)
                order = np.argsort(-scores, kind="stable")
            elif metric == "dot-product":
                scores = sub @ q
                order = np.argsort(-scores, kind="stable")
            else:
                scores = np.linalg.norm(sub - q, axis=1)
                order = np.argsort(scores, kind="stable")
            matches_out = []
            for j in order[:top_k]:
                i = int(rows[j])
                item: dict[str, Any] = {"id": live.ids[i], "score": float(scores[j])}
                if return_values:
                    item["values"] = live.matrix[i].tolist()
                if return_metadata == "all" and live.metadata[i] is not None:
                    item["metadata"] = live.metadata[i]
                elif return_metadata == "indexed":
                    item["metadata"] = {
                        k: v for k, v in (live.metadata[i] or {}).items() if k in live.indexed[i]
                    }
                if live.namespaces[i] is not None:
                    item["namespace"] = live.namespaces[i]
                matches_out.append(item)
            return {"count": len(matches_out), "matches": matches_out}

    def get_by_ids(self, account: str, name: str, ids: list[str]) -> list[dict[str, Any]]:
        with self._lock:
            self._index_row(account, name)
            live = self._load(account, name)
            out = []
            for vid in ids:
                i = live.rows.get(vid)
                if i is None:
                    continue
                item: dict[str, Any] = {
                    "id": vid,
                    "values": live.matrix[i].tolist(),
                    "metadata": live.metadata[i] or {},
                }
                if live.namespaces[i] is not None:
                    item["namespace"] = live.namespaces[i]
                out.append(item)
            return out

    def list_ids(self, account: str, name: str, count: int, cursor: str | None) -> dict[str, Any]:
        with self._lock:
            self._index_row(account, name)
            after = cursor or ""
            rows = [
                r[0]
                for r in self._db.execute(
                    "SELECT id FROM vectors WHERE account=? AND idx=? AND id > ? ORDER BY id LIMIT ?",
                    (account, name, after, count + 1),
                )
            ]
            total = self._db.execute(
                "SELECT COUNT(*) FROM vectors WHERE account=? AND idx=?", (account, name)
            ).fetchone()[0]
            truncated = len(rows) > count
            rows = rows[:count]
            return {
                "count": len(rows),
                "totalCount": total,
                "isTruncated": truncated,
                "nextCursor": rows[-1] if truncated and rows else None,
                "cursorExpirationTimestamp": None,
                "vectors": [{"id": r} for r in rows],
            }


def parse_ndjson(body: bytes) -> list[dict[str, Any]]:
    """Vectors from an NDJSON body, each line checked; raises VectorizeError 40026 on anything malformed."""
    vectors = []
    for number, line in enumerate(body.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as exc:
            raise VectorizeError(400, 40026, f"invalid vector on line {number}: not JSON") from exc
        if not isinstance(item, dict):
            raise VectorizeError(400, 40026, f"invalid vector on line {number}: not an object")
        try:
            check_vector(item.get("id"), item.get("values"), item.get("metadata"), item.get("namespace"))
        except ValueError as exc:
            raise VectorizeError(400, 40026, f"invalid vector on line {number}: {exc}") from exc
        vectors.append(item)
    return vectors
