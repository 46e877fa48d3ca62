"""The emulator's Vectorize: indexes persisted in SQLite, asynchronous mutations, exact numpy search.

Durability: a write is acknowledged (its ``mutationId`` returned) only after the mutation is committed
to SQLite (WAL, ``synchronous=FULL``). A background worker applies pending mutations in order, each
after ``mutation_delay_ms``, and records ``processedUpToMutation``. A crash after the acknowledgement
loses nothing: on restart the worker applies what is still pending.

Failures: a mutation that cannot be applied (a blob of the wrong size, a COMMIT that fails) changes
nothing, in SQLite or in memory (memory follows only what has committed); it is dropped from the queue,
counted in ``info`` (``failedMutations``, ``lastFailure``) and logged, and the worker goes on.

Search, filtering and scoring happen in memory, in :mod:`workersai.local.vectorize_index`.

(About 500 lines: the schema, the index operations and the mutation worker share one connection, one
lock and one transaction discipline; split, each half would have to know the other's.)
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from .rules import Rejected
from .rules.vectorize import (
    DUPLICATE_INDEX,
    INDEX_NOT_FOUND,
    INSERT_DIMENSIONS,
    MAX_METADATA_INDEXES,
    QUERY_DIMENSIONS,
)
from .vectorize_batch import VectorBatch, pack
from .vectorize_index import LiveIndex, indexed_values

log = logging.getLogger("workersai.local.vectorize")
DATABASE_FILE = "vectorize.sqlite3"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS indexes (
    account TEXT, name TEXT, description TEXT, dimensions INTEGER, metric TEXT,
    created_on TEXT, modified_on TEXT, processed_mutation TEXT, processed_at TEXT,
    failed_mutations INTEGER DEFAULT 0, last_failure TEXT,
    PRIMARY KEY (account, name));
CREATE TABLE IF NOT EXISTS vectors (
    account TEXT, idx TEXT, id TEXT, namespace TEXT, vals BLOB, metadata TEXT, indexed TEXT,
    PRIMARY KEY (account, idx, id));
CREATE TABLE IF NOT EXISTS metadata_indexes (
    account TEXT, idx TEXT, property TEXT, type TEXT, PRIMARY KEY (account, idx, property));
CREATE TABLE IF NOT EXISTS mutations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, account TEXT, idx TEXT, mutation_id TEXT, kind TEXT,
    payload TEXT, vals BLOB, created REAL, applied INTEGER DEFAULT 0);
CREATE INDEX IF NOT EXISTS pending ON mutations (applied, seq);
"""


VectorizeError = Rejected
"""An error with the service's status and code."""


def _rollback(db: sqlite3.Connection) -> None:
    """Roll back the open transaction, if any (a failed COMMIT may or may not have closed it)."""
    if db.in_transaction:
        try:
            db.execute("ROLLBACK")
        except sqlite3.Error:
            log.exception("vectorize: rollback failed")


def _dumps(value: Any) -> str:
    """Compact JSON text (orjson: every write stores each vector's metadata)."""
    return orjson.dumps(value).decode()


def _check_dimensions(batch: VectorBatch, expected: int) -> None:
    """40012 for the first vector whose length differs from the first one's, or for the first vector
    when they all differ from the index's ``expected`` dimensions."""
    lengths = batch.lengths
    if not lengths:
        return
    odd = next((k for k, n in enumerate(lengths) if n != lengths[0]), None)
    if odd is None and lengths[0] != expected:
        odd = 0
    if odd is not None:
        raise VectorizeError(
            400,
            INSERT_DIMENSIONS,
            f"VECTOR_INSERT_DIMENSION_MISMATCH: vector {batch.records[odd]['id']!r} has {lengths[odd]} "
            f"dimensions, the index expects {expected}",
        )


def _kept_rows(kind: str, payload: list[dict[str, Any]], live: LiveIndex) -> list[int]:
    """The rows of a write that change the index: every row of an upsert (a later row with the same id
    wins when applied), and for an insert only the first row of each id not in the index yet (insert
    leaves existing ids as they are, also within one batch)."""
    if kind == "upsert":
        return list(range(len(payload)))
    seen: set[str] = set()
    first = []
    for k, r in enumerate(payload):
        if r["id"] not in live.rows and r["id"] not in seen:
            seen.add(r["id"])
            first.append(k)
    return first


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class VectorizeStore:
    """All indexes of all accounts, in one SQLite file (or in memory without a data directory)."""

    def __init__(self, data_dir: Path | None, mutation_delay_ms: float = 50.0) -> None:
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
            target = str(data_dir / DATABASE_FILE)
        else:
            target = f"file:vectorize-{uuid.uuid4().hex}?mode=memory&cache=shared"
        self._db = sqlite3.connect(
            target, uri=data_dir is None, check_same_thread=False, isolation_level=None
        )
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(indexes)")}
        for column, kind in (("failed_mutations", "INTEGER DEFAULT 0"), ("last_failure", "TEXT")):
            if column not in columns:  # a data directory written before failures were recorded
                self._db.execute(f"ALTER TABLE indexes ADD COLUMN {column} {kind}")
        self.delay = mutation_delay_ms / 1000.0
        self._lock = threading.RLock()
        self._wake = threading.Condition(self._lock)
        self._live: dict[tuple[str, str], LiveIndex] = {}
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
            "processed_at, failed_mutations, last_failure FROM indexes WHERE account=? AND name=?",
            (account, name),
        ).fetchone()
        if row is None:
            raise VectorizeError(404, INDEX_NOT_FOUND, f"vectorize.index.not_found: index {name!r} not found")
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
                    409, DUPLICATE_INDEX, f"vectorize.index.duplicate_name: index {name!r} already exists"
                )
            now = _now()
            self._db.execute(
                "INSERT INTO indexes VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (account, name, description, dimensions, metric, now, now, None, None, 0, None),
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

    def every_index(self) -> list[tuple[str, str]]:
        """(account, name) of every index of every account (the dashboard's list)."""
        with self._lock:
            return [tuple(r) for r in self._db.execute("SELECT account, name FROM indexes ORDER BY 1, 2")]

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
                # Not in the service's answer: mutations the emulator could not apply (see _fail).
                "failedMutations": row[8] or 0,
                "lastFailure": orjson.loads(row[9]) if row[9] else None,
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
        if len(existing) >= MAX_METADATA_INDEXES:
            raise VectorizeError(400, 40021, "an index has at most 10 metadata indexes")
        return self._enqueue(account, name, "metadata_create", {"propertyName": prop, "indexType": kind})

    def delete_metadata_index(self, account: str, name: str, prop: str) -> str:
        if prop not in self.metadata_indexes(account, name):
            raise VectorizeError(404, 40022, f"no metadata index for {prop!r}")
        return self._enqueue(account, name, "metadata_delete", {"propertyName": prop})

    # -- writes ---------------------------------------------------------------------------------
    def write(self, account: str, name: str, kind: str, vectors: list[dict[str, Any]] | VectorBatch) -> str:
        """Durably enqueue an insert or upsert of checked vectors (or of a batch already packed, see
        :mod:`.vectorize_batch`); returns its mutation id. The values are kept as one float32 blob, the
        rest (ids, metadata, namespaces) as JSON."""
        batch = vectors if isinstance(vectors, VectorBatch) else pack(vectors)
        with self._lock:
            # Checked under the lock that also guards delete + re-create: the index this mutation is
            # queued for has the dimensions its blob was made for.
            _check_dimensions(batch, self._index_row(account, name)[2])
            blob = batch.values.tobytes() if batch.values is not None else b""
            return self._enqueue(account, name, kind, batch.records, blob)

    def delete_ids(self, account: str, name: str, ids: list[str]) -> str:
        return self._enqueue(account, name, "delete", ids)

    def _enqueue(self, account: str, name: str, kind: str, payload: Any, blob: bytes | None = None) -> str:
        mutation = str(uuid.uuid4())
        with self._wake:
            self._index_row(account, name)
            self._db.execute(
                "INSERT INTO mutations (account, idx, mutation_id, kind, payload, vals, created) "
                "VALUES (?,?,?,?,?,?,?)",
                (account, name, mutation, kind, _dumps(payload), blob, time.monotonic()),
            )
            self._wake.notify_all()
        return mutation

    def _run(self) -> None:
        """The mutation worker: applies pending mutations in the order they were accepted. It never
        dies of a mutation: one that cannot be applied is recorded as failed (see :meth:`_fail`) and the
        queue goes on; an unexpected error anywhere else is logged and the loop retried."""
        while True:
            try:
                if self._step():
                    return
            except Exception:
                log.exception("vectorize mutation worker: unexpected error; retrying in 0.5 s")
                time.sleep(0.5)

    def _step(self) -> bool:
        """Apply the next due mutation, or wait for one; True when the store is closing."""
        with self._wake:
            if self._stopped:
                return True
            row = self._db.execute(
                "SELECT seq, account, idx, mutation_id, kind, payload, vals, created FROM mutations "
                "WHERE applied=0 ORDER BY seq LIMIT 1"
            ).fetchone()
            if row is None:
                self._wake.wait(0.5)
                return False
            seq, account, name, mutation, kind, payload, blob, created = row
            # `created` is this process's monotonic clock; after a restart it means nothing, so
            # mutations left over from a previous run are due at once.
            due = (created if created <= time.monotonic() else 0) + self.delay - time.monotonic()
            if due > 0:
                self._wake.wait(min(due, 0.5))
                return False
            try:
                self._apply(seq, account, name, mutation, kind, orjson.loads(payload), blob)
            except Exception as exc:
                self._fail(seq, account, name, mutation, kind, exc)
            return False

    def _fail(self, seq: int, account: str, name: str, mutation: str, kind: str, exc: Exception) -> None:
        """Record a mutation that could not be applied: it leaves the queue (never replayed), the
        index's ``processedUpToMutation`` moves past it (waiters are not left hanging) and
        ``failedMutations`` / ``lastFailure`` in ``info`` say what happened. If even that cannot be
        committed (a full disk), the mutation stays queued and is tried again after a pause."""
        log.error("vectorize: mutation %s (%s on %s) failed and is dropped: %r", mutation, kind, name, exc)
        db = self._db
        failure = _dumps({"mutationId": mutation, "kind": kind, "error": repr(exc)[:500], "at": _now()})
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                "UPDATE indexes SET processed_mutation=?, processed_at=?, "
                "failed_mutations=COALESCE(failed_mutations, 0) + 1, last_failure=? "
                "WHERE account=? AND name=?",
                (mutation, _now(), failure, account, name),
            )
            db.execute("DELETE FROM mutations WHERE seq=?", (seq,))
            db.execute("COMMIT")
        except Exception:
            _rollback(db)
            log.exception("vectorize: could not record the failure of mutation %s; retrying later", mutation)
            self._wake.wait(1.0)

    def _apply(
        self, seq: int, account: str, name: str, mutation: str, kind: str, payload: Any, blob: bytes | None
    ) -> None:
        """Apply one mutation: to SQLite first, in one transaction with the bookkeeping, and to the
        in-memory index only once that transaction has committed, so memory never runs ahead of what is
        stored. Raises (with nothing changed) when the mutation cannot be applied."""
        live = self._load(account, name)
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            to_memory = self._store_mutation(live, account, name, kind, payload, blob)
            self._mark_applied(seq, account, name, mutation)
            db.execute("COMMIT")
        except BaseException:
            _rollback(db)
            raise
        if to_memory is not None:
            self._follow_in_memory(account, name, to_memory)

    def _store_mutation(
        self, live: LiveIndex, account: str, name: str, kind: str, payload: Any, blob: bytes | None
    ) -> Callable[[], None] | None:
        """Write one mutation's rows in the open transaction; returns what then changes the in-memory
        index (None when nothing there does)."""
        if kind in ("insert", "upsert"):
            return self._store_vectors(live, account, name, kind, payload, blob)
        if kind == "delete":
            return self._delete_vectors(live, account, name, payload)
        if kind == "metadata_create":
            self._db.execute(
                "INSERT OR REPLACE INTO metadata_indexes VALUES (?,?,?,?)",
                (account, name, payload["propertyName"], payload["indexType"]),
            )
            return None
        if kind == "metadata_delete":
            self._db.execute(
                "DELETE FROM metadata_indexes WHERE account=? AND idx=? AND property=?",
                (account, name, payload["propertyName"]),
            )
            return None
        raise ValueError(f"unknown mutation kind {kind!r}")

    def _store_vectors(
        self,
        live: LiveIndex,
        account: str,
        name: str,
        kind: str,
        payload: list[dict[str, Any]],
        blob: bytes | None,
    ) -> Callable[[], None]:
        """An insert or upsert: the rows it keeps (:func:`_kept_rows`), with their filterable values
        captured under the metadata indexes that exist now."""
        values = np.frombuffer(blob or b"", dtype=np.float32).reshape(len(payload), live.dimensions)
        keep = _kept_rows(kind, payload, live)
        props = self.metadata_indexes(account, name)
        records = [payload[k] for k in keep]
        indexed = [indexed_values(r.get("metadata"), props) for r in records]
        self._db.executemany(
            "INSERT OR REPLACE INTO vectors VALUES (?,?,?,?,?,?,?)",
            (
                (
                    account,
                    name,
                    r["id"],
                    r.get("namespace"),
                    values[k].tobytes(),
                    _dumps(r["metadata"]) if r.get("metadata") is not None else None,
                    _dumps(ix),
                )
                for k, r, ix in zip(keep, records, indexed, strict=True)
            ),
        )

        def to_memory() -> None:
            live.put_many(
                [r["id"] for r in records],
                values[keep],
                [r.get("namespace") for r in records],
                [r.get("metadata") for r in records],
                indexed,
            )

        return to_memory

    def _delete_vectors(self, live: LiveIndex, account: str, name: str, ids: list[str]) -> Callable[[], None]:
        self._db.executemany(
            "DELETE FROM vectors WHERE account=? AND idx=? AND id=?", ((account, name, v) for v in ids)
        )

        def to_memory() -> None:
            for vid in ids:
                live.remove(vid)

        return to_memory

    def _mark_applied(self, seq: int, account: str, name: str, mutation: str) -> None:
        """The bookkeeping of an applied mutation, in its transaction: ``processedUpToMutation`` moves
        to it and it leaves the queue (applied: nothing left to keep)."""
        now = _now()
        self._db.execute(
            "UPDATE indexes SET processed_mutation=?, processed_at=?, modified_on=? "
            "WHERE account=? AND name=?",
            (mutation, now, now, account, name),
        )
        self._db.execute("DELETE FROM mutations WHERE seq=?", (seq,))

    def _follow_in_memory(self, account: str, name: str, to_memory: Callable[[], None]) -> None:
        """Bring the in-memory index up to what has committed; if it cannot follow, drop it: the next
        read reloads the index from SQLite."""
        try:
            to_memory()
        except Exception:
            log.exception("vectorize: reloading index %s after a failed in-memory update", name)
            self._live.pop((account, name), None)

    def _load(self, account: str, name: str) -> LiveIndex:
        live = self._live.get((account, name))
        if live is None:
            dims = self._index_row(account, name)[2]
            live = LiveIndex(dims)
            rows = self._db.execute(
                "SELECT id, namespace, vals, metadata, indexed FROM vectors WHERE account=? AND idx=?",
                (account, name),
            ).fetchall()
            if rows:
                values = np.frombuffer(b"".join(r[2] for r in rows), dtype=np.float32).reshape(
                    len(rows), dims
                )
                live.put_many(
                    [r[0] for r in rows],
                    values,
                    [r[1] for r in rows],
                    [orjson.loads(r[3]) if r[3] else None for r in rows],
                    [orjson.loads(r[4] or "{}") for r in rows],
                )
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
                    QUERY_DIMENSIONS,
                    f"VECTOR_QUERY_DIMENSION_MISMATCH: query has {len(vector)} dimensions, the index {dims}",
                )
            live = self._load(account, name)
            kinds = self.metadata_indexes(account, name) if flt else {}
            found = live.search(vector, metric, top_k, flt, kinds, namespace)
            matches_out = [live.match(i, score, return_values, return_metadata) for i, score in found]
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
