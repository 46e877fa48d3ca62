"""D1 databases on real SQLite: one file per database under ``<data dir>/d1/`` (in memory without a
data directory), and a registry of names per account next to them.

Each database runs its statements under its own lock; a request's statements run in one transaction
(D1 runs a batch as one), rolled back when one fails. D1's limits are set as SQLite's own on every
connection (see :mod:`workersai.local.rules.d1`).
"""

from __future__ import annotations

import datetime
import json
import sqlite3
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from .rules import d1 as rules


def _value(value: Any) -> Any:
    """A column value as JSON carries it (BLOBs as arrays of byte values, as D1 answers them)."""
    return list(value) if isinstance(value, bytes) else value


_LIMITS = {
    "SQLITE_LIMIT_VARIABLE_NUMBER": rules.MAX_BOUND_PARAMETERS,
    "SQLITE_LIMIT_SQL_LENGTH": rules.MAX_SQL_BYTES,
    "SQLITE_LIMIT_LENGTH": rules.MAX_VALUE_BYTES,
    "SQLITE_LIMIT_ATTACHED": 0,  # no second database file, whatever the authorizer lets through
}


def _size(conn: sqlite3.Connection) -> int:
    """The database's size in bytes (its pages)."""
    pages: int = conn.execute("PRAGMA page_count").fetchone()[0]
    page_size: int = conn.execute("PRAGMA page_size").fetchone()[0]
    return pages * page_size


class D1Store:
    """Every account's D1 databases."""

    def __init__(self, data_dir: Path | None) -> None:
        self._dir = data_dir / "d1" if data_dir is not None else None
        if self._dir is not None:
            self._dir.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._registry: dict[str, dict[str, Any]] = self._load()
        self._conns: dict[str, tuple[sqlite3.Connection, threading.Lock]] = {}

    # -- the registry -----------------------------------------------------------------------------
    def _registry_file(self) -> Path | None:
        return self._dir / "databases.json" if self._dir is not None else None

    def _load(self) -> dict[str, dict[str, Any]]:
        path = self._registry_file()
        if path is None or not path.exists():
            return {}
        loaded: dict[str, dict[str, Any]] = json.loads(path.read_text("utf-8"))
        return loaded

    def _save(self) -> None:
        path = self._registry_file()
        if path is not None:
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self._registry), "utf-8")
            tmp.replace(path)

    def _entry(self, account: str, database_id: str) -> dict[str, Any]:
        entry = self._registry.get(database_id)
        if entry is None or entry["account"] != account:
            raise rules.not_found(database_id)
        return entry

    def _describe(self, entry: dict[str, Any]) -> dict[str, Any]:
        conn, lock = self._conn(entry["uuid"])
        with lock:
            tables = conn.execute("SELECT count(*) FROM sqlite_master WHERE type = 'table'").fetchone()[0]
            size = _size(conn)
        return {
            "uuid": entry["uuid"],
            "name": entry["name"],
            "created_at": entry["created_at"],
            "version": "production",
            "num_tables": tables,
            "file_size": size,
        }

    # -- connections ------------------------------------------------------------------------------
    def _conn(self, database_id: str) -> tuple[sqlite3.Connection, threading.Lock]:
        with self._lock:
            found = self._conns.get(database_id)
            if found is None:
                target = str(self._dir / f"{database_id}.sqlite3") if self._dir is not None else ":memory:"
                conn = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
                disable = getattr(conn, "enable_load_extension", None)  # absent: no loading at all
                if disable is not None:
                    disable(False)  # off by default; said here so it stays off
                setlimit = getattr(conn, "setlimit", None)  # Python 3.11+: D1's limits as SQLite's own
                if setlimit is not None:
                    for limit, value in _LIMITS.items():
                        setlimit(getattr(sqlite3, limit), value)
                found = self._conns[database_id] = (conn, threading.Lock())
            return found

    # -- databases --------------------------------------------------------------------------------
    def create(self, account: str, name: str) -> dict[str, Any]:
        with self._lock:
            if any(e["account"] == account and e["name"] == name for e in self._registry.values()):
                raise rules.duplicate_name(name)
            database_id = str(uuid.uuid4())
            created = datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")
            entry = {"uuid": database_id, "name": name, "account": account, "created_at": created}
            self._registry[database_id] = entry
            self._save()
        return self._describe(entry)

    def list_databases(
        self, account: str, name: str | None, page: int, per_page: int
    ) -> tuple[list[Any], int]:
        with self._lock:
            entries = [
                e
                for e in self._registry.values()
                if e["account"] == account and (name is None or e["name"] == name)
            ]
        entries.sort(key=lambda e: (e["created_at"], e["uuid"]))
        chosen = entries[(page - 1) * per_page : page * per_page]
        return [self._describe(e) for e in chosen], len(entries)

    def every_database(self) -> list[tuple[str, dict[str, Any]]]:
        """(account, description) of every database of every account (the dashboard's list)."""
        with self._lock:
            entries = sorted(self._registry.values(), key=lambda e: (e["account"], e["name"]))
        return [(e["account"], self._describe(e)) for e in entries]

    def get(self, account: str, database_id: str) -> dict[str, Any]:
        return self._describe(self._entry(account, database_id))

    def delete(self, account: str, database_id: str) -> None:
        with self._lock:
            self._entry(account, database_id)
            del self._registry[database_id]
            self._save()
            found = self._conns.pop(database_id, None)
        if found is not None:
            with found[1]:
                found[0].close()
        if self._dir is not None:
            for suffix in ("", "-wal", "-shm", "-journal"):
                (self._dir / f"{database_id}.sqlite3{suffix}").unlink(missing_ok=True)

    # -- queries ----------------------------------------------------------------------------------
    def run(
        self, account: str, database_id: str, statements: list[tuple[str, list[Any]]], raw: bool
    ) -> list[dict[str, Any]]:
        """Every statement in order, in one transaction; rows as objects, or (``raw``) as arrays."""
        self._entry(account, database_id)
        conn, lock = self._conn(database_id)
        out: list[dict[str, Any]] = []
        with lock:
            conn.execute("BEGIN")
            try:
                conn.set_authorizer(rules.authorize)  # the user's SQL only: not our BEGIN / COMMIT
                try:
                    for sql, params in statements:
                        out.append(self._one(conn, sql, params, raw))
                finally:
                    conn.set_authorizer(None)
                conn.execute("COMMIT")
            except (sqlite3.Error, OverflowError) as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                name = getattr(exc, "sqlite_errorname", None) or "SQLITE_ERROR"
                raise rules.invalid(f"{exc}: {name}") from None
            size = _size(conn)
        for item in out:
            item["meta"]["size_after"] = size
        return out

    @staticmethod
    def _one(conn: sqlite3.Connection, sql: str, params: list[Any], raw: bool) -> dict[str, Any]:
        if len(params) > rules.MAX_BOUND_PARAMETERS:
            raise sqlite3.OperationalError("too many SQL variables")
        if len(sql.encode("utf-8", "surrogatepass")) > rules.MAX_SQL_BYTES:
            raise sqlite3.DataError("statement too long")
        start = time.perf_counter()
        before = conn.total_changes
        cursor = conn.execute(sql, params)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description] if cursor.description else []
        changes = conn.total_changes - before
        if raw:
            results: Any = {"columns": columns, "rows": [[_value(v) for v in row] for row in rows]}
        else:
            results = [{c: _value(v) for c, v in zip(columns, row, strict=True)} for row in rows]
        meta = {
            "served_by": "workersai-local",
            "duration": (time.perf_counter() - start) * 1000,
            "changes": changes,
            "last_row_id": cursor.lastrowid or 0,
            "changed_db": changes > 0,
            "rows_read": len(rows),
            "rows_written": changes,
        }
        return {"results": results, "success": True, "meta": meta}
