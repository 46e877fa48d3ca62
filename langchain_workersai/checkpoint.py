"""LangGraph checkpointers on D1: ``WorkersAID1Saver`` (sync and async) and ``AsyncWorkersAID1Saver``.

Each operation is one D1 request (``client.d1.batch``: one ``/query`` call, one transaction). ``put``
writes the new channel values (a row per channel and version, shared by later checkpoints that keep the
channel) and the checkpoint row together; the tables are created by the first request a saver sends,
not by one of their own. ``get_tuple`` reads the checkpoint, its values (joined through ``json_each``
over its versions) and its writes with three ``SELECT``s in one batch; ``list`` reads pages of
:data:`LIST_PAGE` checkpoints, a batch each.

D1's facts relied on: a batch runs in order as one transaction
(developers.cloudflare.com/d1/worker-api/d1-database/#batch); ``json_each`` and ``json_extract``
(developers.cloudflare.com/d1/sql-api/query-json/); 100 bound parameters per statement, strings of at
most 1,000,000 bytes (developers.cloudflare.com/d1/platform/limits/). Values travel as JSON, so bytes
are stored base64-encoded. Keys are bound parameters (:func:`~langchain_workersai._d1keys.check_key`).
"""

# ruff: noqa: E402  (the extra is checked before its imports)
from __future__ import annotations

from workersai.lazy import require_extra

require_extra("langchain_workersai", "langgraph.checkpoint.base", "langgraph", "LangGraph")

import json
import re
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from typing import Any

from langchain_core.runnables import RunnableConfig
from langgraph.checkpoint.base import (
    WRITES_IDX_MAP,
    BaseCheckpointSaver,
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_id,
    get_serializable_checkpoint_metadata,
)
from langgraph.checkpoint.serde.base import SerializerProtocol

from workersai.client import WorkersAI
from workersai.d1 import MAX_BOUND_PARAMETERS, QueryResult, Statement
from workersai.errors import BadInput, BindingUnsupported

from ._d1keys import b64, check_key, check_table_prefix, chunks, next_version, unb64

__all__ = ["AsyncWorkersAID1Saver", "WorkersAID1Saver"]

LIST_PAGE = 25
"""Checkpoints read per request by ``list`` (each with its channel values and writes)."""


class WorkersAID1Saver(BaseCheckpointSaver[str]):
    """A LangGraph checkpointer on a D1 database, through ``client.d1`` (REST).

    ``WorkersAID1Saver(client, database_id)``: ``client`` is a :class:`~workersai.WorkersAI` (built from
    the environment when omitted), ``database_id`` a D1 database's uuid
    (``client.d1.create_database("graphs").uuid``). The tables, named with ``table_prefix``, are created
    on first use. Sync and async methods both work; every operation is one D1 request (see the module).
    Implements the base capabilities of ``BaseCheckpointSaver`` and ``delete_for_runs``,
    ``copy_thread`` and ``prune``.
    """

    def __init__(
        self,
        client: WorkersAI | None = None,
        database_id: str | None = None,
        *,
        table_prefix: str = "langgraph_",
        serde: SerializerProtocol | None = None,
    ) -> None:
        super().__init__(serde=serde)
        if not database_id or not isinstance(database_id, str):
            raise BadInput("WorkersAID1Saver needs database_id=, a D1 database's uuid")
        check_table_prefix(table_prefix)
        self.client = client if client is not None else WorkersAI()
        self.database_id = database_id
        p = table_prefix
        self._cp, self._blobs, self._writes = (
            f"{p}checkpoints",
            f"{p}checkpoint_blobs",
            f"{p}checkpoint_writes",
        )
        self._ready = False

    # -- schema -------------------------------------------------------------------------------------
    def _schema(self) -> list[Statement]:
        return [
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self._cp} (thread_id TEXT NOT NULL, checkpoint_ns"
                " TEXT NOT NULL,"
                " checkpoint_id TEXT NOT NULL, parent_checkpoint_id TEXT, type TEXT, checkpoint"
                " TEXT NOT NULL,"
                " metadata TEXT NOT NULL, versions TEXT NOT NULL, run_id TEXT,"
                " PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id))"
            ),
            Statement(f"CREATE INDEX IF NOT EXISTS {self._cp}_run ON {self._cp} (run_id)"),
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self._blobs} (thread_id TEXT NOT NULL,"
                " checkpoint_ns TEXT NOT NULL,"
                " channel TEXT NOT NULL, version TEXT NOT NULL, type TEXT NOT NULL, blob TEXT,"
                " PRIMARY KEY (thread_id, checkpoint_ns, channel, version))"
            ),
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self._writes} (thread_id TEXT NOT NULL,"
                " checkpoint_ns TEXT NOT NULL, checkpoint_id TEXT NOT NULL, task_id TEXT NOT NULL,"
                " idx INTEGER NOT NULL, channel TEXT NOT NULL, type TEXT, blob TEXT,"
                " task_path TEXT NOT NULL DEFAULT '',"
                " PRIMARY KEY (thread_id, checkpoint_ns, checkpoint_id, task_id, idx))"
            ),
        ]

    def _with_schema(self, statements: list[Statement]) -> list[Statement]:
        return statements if self._ready else [*self._schema(), *statements]

    def _run(self, statements: list[Statement]) -> list[QueryResult]:
        """One request; every statement a saver sends is idempotent (``INSERT OR REPLACE`` / ``IGNORE``,
        ``DELETE``, ``CREATE ... IF NOT EXISTS``), so a lost answer is safely retried."""
        results = self.client.d1.batch(self.database_id, self._with_schema(statements), retry=True)
        return self._after(results, statements)

    async def _arun(self, statements: list[Statement]) -> list[QueryResult]:
        results = await self.client.d1.abatch(self.database_id, self._with_schema(statements), retry=True)
        return self._after(results, statements)

    def _after(self, results: list[QueryResult], statements: list[Statement]) -> list[QueryResult]:
        self._ready = True
        return results[len(results) - len(statements) :]

    def setup(self) -> None:
        """Create the tables now (else the first operation does, in its own request)."""
        self.client.d1.batch(self.database_id, self._schema(), retry=True)
        self._ready = True

    async def asetup(self) -> None:
        await self.client.d1.abatch(self.database_id, self._schema(), retry=True)
        self._ready = True

    # -- keys ---------------------------------------------------------------------------------------
    @staticmethod
    def _keys(config: RunnableConfig) -> tuple[str, str, str | None]:
        configurable = config.get("configurable") or {}
        if "thread_id" not in configurable:
            raise BadInput('a checkpointer needs config["configurable"]["thread_id"]')
        thread = check_key(configurable["thread_id"], "thread_id")
        ns = check_key(configurable.get("checkpoint_ns") or "", "checkpoint_ns", empty_ok=True)
        checkpoint_id = get_checkpoint_id(config)
        return thread, ns, check_key(checkpoint_id, "checkpoint_id") if checkpoint_id else None

    # -- put ----------------------------------------------------------------------------------------
    def _put_statements(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> tuple[list[Statement], RunnableConfig]:
        thread, ns, parent = self._keys(config)
        body = dict(checkpoint)
        values: dict[str, Any] = body.pop("channel_values", {})  # type: ignore[assignment]
        rows: list[tuple[Any, ...]] = []
        for channel, version in new_versions.items():
            if channel in values:
                kind, data = self.serde.dumps_typed(values[channel])
                rows.append((thread, ns, channel, str(version), kind, b64(data)))
            else:
                rows.append((thread, ns, channel, str(version), "empty", None))
        statements = [
            Statement(
                f"INSERT OR REPLACE INTO {self._blobs} (thread_id, checkpoint_ns, channel,"
                " version, type, blob)"
                f" VALUES {', '.join(['(?, ?, ?, ?, ?, ?)'] * len(chunk))}",
                tuple(v for row in chunk for v in row),
            )
            for chunk in chunks(rows, MAX_BOUND_PARAMETERS // 6)
        ]
        kind, data = self.serde.dumps_typed(body)
        meta = get_serializable_checkpoint_metadata(config, metadata)
        versions = {k: str(v) for k, v in checkpoint["channel_versions"].items()}
        run_id = meta.get("run_id")
        statements.append(
            Statement(
                f"INSERT OR REPLACE INTO {self._cp} (thread_id, checkpoint_ns, checkpoint_id,"
                " parent_checkpoint_id, type, checkpoint, metadata, versions, run_id)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    thread,
                    ns,
                    check_key(checkpoint["id"], "checkpoint id"),
                    parent,
                    kind,
                    b64(data),
                    json.dumps(meta, ensure_ascii=False, default=str),
                    json.dumps(versions, ensure_ascii=False),
                    str(run_id) if run_id is not None else None,
                ),
            )
        )
        stored: RunnableConfig = {
            "configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": checkpoint["id"]}
        }
        return statements, stored

    def put(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statements, stored = self._put_statements(config, checkpoint, metadata, new_versions)
        self._run(statements)
        return stored

    async def aput(
        self,
        config: RunnableConfig,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> RunnableConfig:
        statements, stored = self._put_statements(config, checkpoint, metadata, new_versions)
        await self._arun(statements)
        return stored

    # -- put_writes ---------------------------------------------------------------------------------
    def _writes_statements(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str
    ) -> list[Statement]:
        thread, ns, checkpoint_id = self._keys(config)
        if checkpoint_id is None:
            raise BadInput('put_writes needs config["configurable"]["checkpoint_id"]')
        task = check_key(task_id, "task_id")
        special = all(channel in WRITES_IDX_MAP for channel, _ in writes)
        rows = []
        for idx, (channel, value) in enumerate(writes):
            kind, data = self.serde.dumps_typed(value)
            rows.append(
                (
                    thread,
                    ns,
                    checkpoint_id,
                    task,
                    WRITES_IDX_MAP.get(channel, idx),
                    channel,
                    kind,
                    b64(data),
                    task_path,
                )
            )
        # As LangGraph's own savers: special writes (errors, interrupts) replace, others are kept once.
        verb = "INSERT OR REPLACE" if special else "INSERT OR IGNORE"
        return [
            Statement(
                f"{verb} INTO {self._writes} (thread_id, checkpoint_ns, checkpoint_id, task_id, idx, channel,"
                f" type, blob, task_path) VALUES {', '.join(['(?, ?, ?, ?, ?, ?, ?, ?, ?)'] * len(chunk))}",
                tuple(v for row in chunk for v in row),
            )
            for chunk in chunks(rows, MAX_BOUND_PARAMETERS // 9)
        ]

    def put_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        statements = self._writes_statements(config, writes, task_id, task_path)
        if statements:
            self._run(statements)

    async def aput_writes(
        self, config: RunnableConfig, writes: Sequence[tuple[str, Any]], task_id: str, task_path: str = ""
    ) -> None:
        statements = self._writes_statements(config, writes, task_id, task_path)
        if statements:
            await self._arun(statements)

    # -- reads --------------------------------------------------------------------------------------
    def _read_statements(
        self, where: str, params: tuple[Any, ...], tail: str, tail_params: tuple[Any, ...]
    ) -> list[Statement]:
        """Three statements over the same selection of checkpoints: the rows, their channel values and
        their writes."""
        selection = (
            "SELECT thread_id, checkpoint_ns, checkpoint_id, parent_checkpoint_id, type, checkpoint,"
            f" metadata, versions FROM {self._cp} WHERE {where}"
            f" ORDER BY checkpoint_id DESC, thread_id DESC, checkpoint_ns DESC {tail}"
        )
        both = params + tail_params
        return [
            Statement(selection, both),
            Statement(
                f"WITH sel AS ({selection}) SELECT sel.thread_id, sel.checkpoint_ns, sel.checkpoint_id,"
                f" b.channel, b.type, b.blob FROM sel, json_each(sel.versions) AS j JOIN {self._blobs} AS b"
                " ON b.thread_id = sel.thread_id AND b.checkpoint_ns = sel.checkpoint_ns"
                " AND b.channel = j.key AND b.version = j.value",
                both,
            ),
            Statement(
                f"WITH sel AS ({selection}) SELECT w.thread_id, w.checkpoint_ns, w.checkpoint_id, w.task_id,"
                f" w.channel, w.type, w.blob FROM sel JOIN {self._writes} AS w"
                " ON w.thread_id = sel.thread_id AND w.checkpoint_ns = sel.checkpoint_ns"
                " AND w.checkpoint_id = sel.checkpoint_id ORDER BY w.task_path, w.task_id, w.idx",
                both,
            ),
        ]

    def _tuples(self, results: list[QueryResult]) -> list[CheckpointTuple]:
        rows, blobs, writes = (r.results for r in results)
        values: dict[tuple[str, str, str], dict[str, Any]] = {}
        for b in blobs:
            if b["type"] != "empty":
                key = (b["thread_id"], b["checkpoint_ns"], b["checkpoint_id"])
                values.setdefault(key, {})[b["channel"]] = self.serde.loads_typed(
                    (b["type"], unb64(b["blob"]))
                )
        pending: dict[tuple[str, str, str], list[tuple[str, str, Any]]] = {}
        for w in writes:
            key = (w["thread_id"], w["checkpoint_ns"], w["checkpoint_id"])
            value = self.serde.loads_typed((w["type"], unb64(w["blob"])))
            pending.setdefault(key, []).append((w["task_id"], w["channel"], value))
        out = []
        for row in rows:
            key = (row["thread_id"], row["checkpoint_ns"], row["checkpoint_id"])
            checkpoint = self.serde.loads_typed((row["type"], unb64(row["checkpoint"])))
            thread, ns = row["thread_id"], row["checkpoint_ns"]
            parent = row["parent_checkpoint_id"]
            out.append(
                CheckpointTuple(
                    config={
                        "configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": key[2]}
                    },
                    checkpoint={**checkpoint, "channel_values": values.get(key, {})},  # type: ignore[typeddict-item]
                    metadata=json.loads(row["metadata"]),
                    parent_config=(
                        {"configurable": {"thread_id": thread, "checkpoint_ns": ns, "checkpoint_id": parent}}
                        if parent
                        else None
                    ),
                    pending_writes=pending.get(key, []),
                )
            )
        return out

    def _get_statements(self, config: RunnableConfig) -> list[Statement]:
        thread, ns, checkpoint_id = self._keys(config)
        if checkpoint_id is not None:
            return self._read_statements(
                "thread_id = ? AND checkpoint_ns = ? AND checkpoint_id = ?",
                (thread, ns, checkpoint_id),
                "",
                (),
            )
        return self._read_statements("thread_id = ? AND checkpoint_ns = ?", (thread, ns), "LIMIT 1", ())

    def get_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = self._tuples(self._run(self._get_statements(config)))
        return found[0] if found else None

    async def aget_tuple(self, config: RunnableConfig) -> CheckpointTuple | None:
        found = self._tuples(await self._arun(self._get_statements(config)))
        return found[0] if found else None

    # -- list ---------------------------------------------------------------------------------------
    def _list_query(
        self, config: RunnableConfig | None, filter: dict[str, Any] | None, before: RunnableConfig | None
    ) -> tuple[str, tuple[Any, ...], dict[str, Any]]:
        """The WHERE clause, its parameters, and the filters left to check in Python (values that are not
        plain JSON scalars, keys a JSON path cannot name)."""
        where: list[str] = ["1 = 1"]
        params: list[Any] = []
        if config is not None:
            thread, _, checkpoint_id = self._keys(config)
            where.append("thread_id = ?")
            params.append(thread)
            ns = (config.get("configurable") or {}).get("checkpoint_ns")
            if ns is not None:
                where.append("checkpoint_ns = ?")
                params.append(check_key(ns, "checkpoint_ns", empty_ok=True))
            if checkpoint_id is not None:
                where.append("checkpoint_id = ?")
                params.append(checkpoint_id)
        if before is not None and (before_id := get_checkpoint_id(before)):
            where.append("checkpoint_id < ?")
            params.append(check_key(before_id, "before checkpoint_id"))
        left: dict[str, Any] = {}
        for key, value in (filter or {}).items():
            simple = isinstance(value, (str, int, float, bool)) or value is None
            if not simple or not re.fullmatch(r"[A-Za-z0-9_\-]+", key) or len(params) > 80:
                left[key] = value
            elif value is None:
                where.append(f"json_extract(metadata, '$.\"{key}\"') IS NULL")
            else:
                where.append(f"json_extract(metadata, '$.\"{key}\"') = ?")
                params.append(int(value) if isinstance(value, bool) else value)
        return " AND ".join(where), tuple(params), left

    def _listing(
        self,
        config: RunnableConfig | None,
        filter: dict[str, Any] | None,
        before: RunnableConfig | None,
        limit: int | None,
    ) -> tuple[
        Iterator[tuple[list[Statement], int]], Callable[[list[CheckpointTuple]], list[CheckpointTuple]]
    ]:
        """The statements of each page with its size (a page that comes back short is the last), and
        what to keep of a page (filters left to Python, the limit)."""
        where, params, left = self._list_query(config, filter, before)
        given = 0

        def keep(page: list[CheckpointTuple]) -> list[CheckpointTuple]:
            nonlocal given
            out = [t for t in page if all(t.metadata.get(k) == v for k, v in left.items())]
            out = out[: limit - given] if limit is not None else out
            given += len(out)
            return out

        def pages() -> Iterator[tuple[list[Statement], int]]:
            offset = 0
            while limit is None or given < limit:
                size = LIST_PAGE if limit is None or left else min(LIST_PAGE, limit - given)
                yield self._read_statements(where, params, "LIMIT ? OFFSET ?", (size, offset)), size
                offset += size

        return pages(), keep

    # -- deletes, copies, pruning -------------------------------------------------------------------
    def _collect_blobs(self, threads: str, params: tuple[Any, ...]) -> Statement:
        """Channel values no remaining checkpoint of the threads refers to."""
        return Statement(
            f"DELETE FROM {self._blobs} AS b WHERE b.thread_id IN ({threads}) AND NOT EXISTS (SELECT 1 FROM"
            f" {self._cp} AS c, json_each(c.versions) AS j WHERE c.thread_id = b.thread_id"
            " AND c.checkpoint_ns = b.checkpoint_ns AND j.key = b.channel AND j.value = b.version)",
            params,
        )

    def _delete_thread_statements(self, thread_ids: Sequence[Any]) -> list[Statement]:
        out = []
        for chunk in chunks([check_key(t, "thread_id") for t in thread_ids], MAX_BOUND_PARAMETERS):
            marks = ", ".join("?" * len(chunk))
            out += [
                Statement(f"DELETE FROM {table} WHERE thread_id IN ({marks})", tuple(chunk))
                for table in (self._cp, self._blobs, self._writes)
            ]
        return out

    def delete_thread(self, thread_id: str) -> None:
        self._run(self._delete_thread_statements([thread_id]))

    async def adelete_thread(self, thread_id: str) -> None:
        await self._arun(self._delete_thread_statements([thread_id]))

    def _delete_runs_statements(self, run_ids: Sequence[str]) -> list[Statement]:
        out = []
        for chunk in chunks([check_key(r, "run_id") for r in run_ids], MAX_BOUND_PARAMETERS // 2):
            marks, params = ", ".join("?" * len(chunk)), tuple(chunk)
            uses = (
                f"SELECT 1 FROM {self._cp} AS c, json_each(c.versions) AS j WHERE c.thread_id = b.thread_id"
                " AND c.checkpoint_ns = b.checkpoint_ns AND j.key = b.channel AND j.value = b.version"
            )
            out += [
                Statement(
                    f"DELETE FROM {self._writes} WHERE (thread_id, checkpoint_ns, checkpoint_id) IN"
                    f" (SELECT thread_id, checkpoint_ns, checkpoint_id FROM {self._cp} WHERE run_id"
                    f" IN ({marks}))",
                    params,
                ),
                # channel values only these runs' checkpoints refer to, before the checkpoints go
                Statement(
                    f"DELETE FROM {self._blobs} AS b WHERE EXISTS ({uses} AND c.run_id IN ({marks}))"
                    f" AND NOT EXISTS ({uses} AND (c.run_id IS NULL OR c.run_id NOT IN ({marks})))",
                    params + params,
                ),
                Statement(f"DELETE FROM {self._cp} WHERE run_id IN ({marks})", params),
            ]
        return out

    def delete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            self._run(self._delete_runs_statements(run_ids))

    async def adelete_for_runs(self, run_ids: Sequence[str]) -> None:
        if run_ids:
            await self._arun(self._delete_runs_statements(run_ids))

    def _copy_statements(self, source: str, target: str) -> list[Statement]:
        params = (check_key(target, "target thread_id"), check_key(source, "source thread_id"))
        return [
            Statement(
                f"INSERT OR REPLACE INTO {self._cp} (thread_id, checkpoint_ns, checkpoint_id,"
                " parent_checkpoint_id,"
                " type, checkpoint, metadata, versions, run_id) SELECT ?, checkpoint_ns, checkpoint_id,"
                f" parent_checkpoint_id, type, checkpoint, metadata, versions, run_id FROM {self._cp}"
                " WHERE thread_id = ?",
                params,
            ),
            Statement(
                f"INSERT OR REPLACE INTO {self._blobs} (thread_id, checkpoint_ns, channel,"
                " version, type, blob)"
                f" SELECT ?, checkpoint_ns, channel, version, type, blob FROM {self._blobs} WHERE"
                " thread_id = ?",
                params,
            ),
            Statement(
                f"INSERT OR REPLACE INTO {self._writes} (thread_id, checkpoint_ns, checkpoint_id,"
                " task_id, idx,"
                " channel, type, blob, task_path) SELECT ?, checkpoint_ns, checkpoint_id, task_id, idx,"
                f" channel, type, blob, task_path FROM {self._writes} WHERE thread_id = ?",
                params,
            ),
        ]

    def copy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        self._run(self._copy_statements(source_thread_id, target_thread_id))

    async def acopy_thread(self, source_thread_id: str, target_thread_id: str) -> None:
        await self._arun(self._copy_statements(source_thread_id, target_thread_id))

    def _prune_statements(self, thread_ids: Sequence[str], strategy: str) -> list[Statement]:
        if strategy == "delete":
            return self._delete_thread_statements(thread_ids)
        if strategy != "keep_latest":
            raise BadInput(f'prune strategy must be "keep_latest" or "delete", got {strategy!r}')
        out = []
        for chunk in chunks([check_key(t, "thread_id") for t in thread_ids], MAX_BOUND_PARAMETERS):
            marks, params = ", ".join("?" * len(chunk)), tuple(chunk)
            older = (
                f"thread_id IN ({marks}) AND checkpoint_id < (SELECT MAX(l.checkpoint_id) FROM"
                f" {self._cp} AS l"
                f" WHERE l.thread_id = {{t}}.thread_id AND l.checkpoint_ns = {{t}}.checkpoint_ns)"
            )
            out += [
                Statement(
                    f"DELETE FROM {self._writes} WHERE (thread_id, checkpoint_ns, checkpoint_id) IN"
                    f" (SELECT thread_id, checkpoint_ns, checkpoint_id FROM {self._cp} AS c"
                    f" WHERE {older.format(t='c')})",
                    params,
                ),
                Statement(f"DELETE FROM {self._cp} AS c WHERE {older.format(t='c')}", params),
                self._collect_blobs(marks, params),
            ]
        return out

    def prune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            self._run(self._prune_statements(thread_ids, strategy))

    async def aprune(self, thread_ids: Sequence[str], *, strategy: str = "keep_latest") -> None:
        if thread_ids:
            await self._arun(self._prune_statements(thread_ids, strategy))

    # -- versions -----------------------------------------------------------------------------------
    def get_next_version(self, current: str | None, channel: None) -> str:
        return next_version(current)

    # -- list (last: the name shadows the builtin in the class body) ----------------------------
    def list(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> Iterator[CheckpointTuple]:
        pages, keep = self._listing(config, filter, before, limit)
        for statements, size in pages:
            page = self._tuples(self._run(statements))
            yield from keep(page)
            if len(page) < size:
                return

    async def alist(
        self,
        config: RunnableConfig | None,
        *,
        filter: dict[str, Any] | None = None,
        before: RunnableConfig | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        pages, keep = self._listing(config, filter, before, limit)
        for statements, size in pages:
            page = self._tuples(await self._arun(statements))
            for found in keep(page):
                yield found
            if len(page) < size:
                return


class AsyncWorkersAID1Saver(WorkersAID1Saver):
    """:class:`WorkersAID1Saver` for async code only (``ainvoke``, ``astream``; a Python Worker, whose
    isolate cannot block): sync methods raise :class:`~workersai.errors.BindingUnsupported`."""

    def _run(self, statements: list[Statement]) -> list[QueryResult]:
        raise BindingUnsupported(
            "AsyncWorkersAID1Saver is async only: use the graph's async methods (ainvoke, astream), or "
            "WorkersAID1Saver for sync code"
        )

    def setup(self) -> None:
        self._run([])
