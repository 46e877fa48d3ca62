"""AI Search instances of the emulator: items chunked by the instance's size and overlap, embedded by the
emulator's encoder, searched by vector and keyword (SQLite FTS5) and fused.

What is real and what stands in (said here once, so the routes can stay short):

- Storage: one SQLite database (``ai_search.sqlite3`` under the data dir, else in memory). Each chunk's
  vector is stored beside its text and the search is an exact cosine over the instance's chunks (numpy);
  the service keeps them in a Vectorize index of its own. The emulator's vectors come from its one local
  encoder (384-d unit vectors) whatever ``embedding_model`` the instance names.
- Tokens: chunk sizes are counted in the local encoder's WordPiece tokens (the service counts in its
  embedding model's tokens; the two agree to within a few percent on English text). Chunks end at a
  sentence or paragraph end when one falls in the second half of the window, else at a word boundary
  (the service's "recursive chunking": natural boundaries first, then size). Overlap: the next chunk
  starts ``chunk_overlap`` percent of ``chunk_size`` tokens before the previous one ended.
- Keyword search: FTS5 with the instance's ``keyword_tokenizer`` (porter or trigram), ranked by bm25;
  ``exact_match`` needs every query term (English stop words dropped), ``fuzzy_match`` any term.
- Fusion: ``rrf`` scores 1/(60 + rank) summed over the two lists; ``max`` takes the larger of the vector
  score and the keyword score scaled to 0-1. As the service documents, ``match_threshold`` applies to the
  vector similarity, not to the fused score.
- Query rewrite: no model rewrites the query. Without it the search query is the last user message; with
  it, the user messages of the conversation (the last three) joined, so a follow-up question ("and who
  keeps it?") is searched with what it refers to. ``search_query`` in the answer says which was used.
- Reranking: the local encoder's cosine between the query and each chunk, ``reranking_score`` in
  ``scoring_details``; results below ``reranking.match_threshold`` are dropped. It is not a cross-encoder.
- Indexing happens before the upload is answered (status ``completed``); the service queues it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .embeddings import Embedder
from .rules import ai_search as rules

DB_FILE = "ai_search.sqlite3"
RRF_K = 60
_STOP = frozenset(
    re.findall(
        r"\w+",
        "a an and are as at be by for from has have how i in is it its of on or that the this to was were "
        "what when where which who why will with do does did can you your me my we our they their",
    )
)
"""English stop words left out of ``exact_match`` keyword queries (else every term, "what" included,
would have to appear in a chunk)."""
_SENTENCE_END = re.compile(r"[.!?]\s|\n\s*\n|\n#")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat().replace("+00:00", "Z")


_TABLES = {
    "instances": "account TEXT, namespace TEXT, id TEXT, settings TEXT, created_at TEXT, modified_at TEXT,"
    " last_activity TEXT, PRIMARY KEY (account, namespace, id)",
    "items": "account TEXT, namespace TEXT, instance TEXT, id TEXT, key TEXT, checksum TEXT,"
    " file_size INTEGER, chunks_count INTEGER, metadata TEXT, created_at TEXT, timestamp INTEGER,"
    " PRIMARY KEY (account, namespace, instance, id)",
    "chunks": "rowid INTEGER PRIMARY KEY, account TEXT, namespace TEXT, instance TEXT, item_id TEXT,"
    " chunk_id TEXT, position INTEGER, text TEXT, vector BLOB",
}


def _create_schema(db: sqlite3.Connection) -> None:
    """The tables, every row keyed by its account first. A file written before the account was kept
    (tables without an ``account`` column) is moved over, its rows given to the account the emulator
    prints at start-up (``LOCAL_ACCOUNT_ID``): the only one a client of that emulator would have used."""
    columns = [r[1] for r in db.execute("PRAGMA table_info(instances)")]
    legacy = bool(columns) and "account" not in columns
    if legacy:
        db.execute("DROP INDEX IF EXISTS chunks_by_instance")
        for table in _TABLES:
            db.execute(f"ALTER TABLE {table} RENAME TO {table}_unscoped")
    for table, schema in _TABLES.items():
        db.execute(f"CREATE TABLE IF NOT EXISTS {table} ({schema})")
    if legacy:
        from .server import LOCAL_ACCOUNT_ID

        for table in _TABLES:
            names = [r[1] for r in db.execute(f"PRAGMA table_info({table}_unscoped)")]
            listed = ", ".join(names)
            db.execute(
                f"INSERT INTO {table} (account, {listed}) SELECT ?, {listed} FROM {table}_unscoped",
                (LOCAL_ACCOUNT_ID,),
            )
            db.execute(f"DROP TABLE {table}_unscoped")
    db.execute("CREATE INDEX IF NOT EXISTS chunks_by_instance ON chunks (account, namespace, instance)")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts_porter USING fts5(text, tokenize='porter unicode61')")
    db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS fts_trigram USING fts5(text, tokenize='trigram')")


class AISearchStore:
    """Instances, items and chunks of every account and namespace; thread-safe (one lock, one
    connection). Every method takes the account of the request's path first: one account never reads
    or changes another's instances."""

    def __init__(self, embedder: Embedder, data_dir: Path | None = None) -> None:
        self.embedder = embedder
        path = str(data_dir / DB_FILE) if data_dir is not None else ":memory:"
        if data_dir is not None:
            data_dir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(path, check_same_thread=False)
        self.lock = threading.Lock()
        with self.db:
            _create_schema(self.db)

    # -- instances --------------------------------------------------------------------------------
    def _settings(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT settings FROM instances WHERE account=? AND namespace=? AND id=?",
            (account, namespace, instance),
        ).fetchone()
        if row is None:
            raise rules.not_found(instance)
        settings: dict[str, Any] = json.loads(row[0])
        return settings

    def _describe(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT settings, created_at, modified_at, last_activity FROM instances"
            " WHERE account=? AND namespace=? AND id=?",
            (account, namespace, instance),
        ).fetchone()
        if row is None:
            raise rules.not_found(instance)
        return {
            "id": instance,
            "namespace": namespace,
            **json.loads(row[0]),
            "created_at": row[1],
            "modified_at": row[2],
            "last_activity": row[3],
            "source": "builtin",
            "type": "builtin",
            "status": "ready",
            "paused": False,
        }

    def create(self, account: str, namespace: str, instance: str, settings: dict[str, Any]) -> dict[str, Any]:
        with self.lock, self.db:
            exists = self.db.execute(
                "SELECT 1 FROM instances WHERE account=? AND namespace=? AND id=?",
                (account, namespace, instance),
            ).fetchone()
            if exists:
                raise rules.Rejected(409, None, f"AI Search instance '{instance}' already exists")
            now = _now()
            self.db.execute(
                "INSERT INTO instances VALUES (?, ?, ?, ?, ?, ?, ?)",
                (account, namespace, instance, json.dumps(settings), now, now, now),
            )
            return self._describe(account, namespace, instance)

    def get(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        with self.lock:
            return self._describe(account, namespace, instance)

    def namespaces(self, account: str, always: str) -> list[dict[str, Any]]:
        """Every namespace that holds an instance, and ``always`` (the account's ``default``), by name;
        each dated by its first instance (namespaces are not created on their own here)."""
        with self.lock:
            rows = dict(
                self.db.execute(
                    "SELECT namespace, MIN(created_at) FROM instances WHERE account = ? GROUP BY namespace",
                    (account,),
                ).fetchall()
            )
        rows.setdefault(always, None)
        return [{"name": n, "description": None, "created_at": rows[n]} for n in sorted(rows)]

    def list_instances(self, account: str, namespace: str) -> list[dict[str, Any]]:
        with self.lock:
            ids = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM instances WHERE account=? AND namespace=? ORDER BY id",
                    (account, namespace),
                )
            ]
            return [self._describe(account, namespace, i) for i in ids]

    def every_instance(self) -> list[tuple[str, str, str]]:
        """(account, namespace, id) of every instance of every account (the dashboard's list)."""
        with self.lock:
            rows = self.db.execute("SELECT account, namespace, id FROM instances ORDER BY 1, 2, 3")
            return [tuple(r) for r in rows]

    def update(self, account: str, namespace: str, instance: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock, self.db:
            settings = rules.settings(body, base=self._settings(account, namespace, instance))
            self.db.execute(
                "UPDATE instances SET settings=?, modified_at=? WHERE account=? AND namespace=? AND id=?",
                (json.dumps(settings), _now(), account, namespace, instance),
            )
            return self._describe(account, namespace, instance)

    def delete(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        with self.lock, self.db:
            described = self._describe(account, namespace, instance)
            self._drop_chunks("account=? AND namespace=? AND instance=?", (account, namespace, instance))
            self.db.execute(
                "DELETE FROM items WHERE account=? AND namespace=? AND instance=?",
                (account, namespace, instance),
            )
            self.db.execute(
                "DELETE FROM instances WHERE account=? AND namespace=? AND id=?",
                (account, namespace, instance),
            )
            return described

    # -- items ------------------------------------------------------------------------------------
    def _drop_chunks(self, where: str, args: tuple[Any, ...]) -> None:
        rowids = [r[0] for r in self.db.execute(f"SELECT rowid FROM chunks WHERE {where}", args)]
        for table in ("fts_porter", "fts_trigram", "chunks"):
            self.db.executemany(f"DELETE FROM {table} WHERE rowid=?", [(r,) for r in rowids])

    def _drop_item(self, account: str, namespace: str, instance: str, item_id: str) -> None:
        """An item's row and its chunks (with their full-text rows), under the caller's lock."""
        key = (account, namespace, instance, item_id)
        self._drop_chunks("account=? AND namespace=? AND instance=? AND item_id=?", key)
        self.db.execute("DELETE FROM items WHERE account=? AND namespace=? AND instance=? AND id=?", key)

    def chunk(self, text: str, chunk_size: int, overlap_percent: int) -> list[str]:
        """``text`` in chunks of at most ``chunk_size`` local tokens, ``overlap_percent`` of them shared."""
        spans = [s for s in self.embedder.encoder.token_spans(text) if s[1] > s[0]]
        if not spans:
            return []
        overlap = chunk_size * overlap_percent // 100
        out: list[str] = []
        start = 0
        while start < len(spans):
            end = min(start + chunk_size, len(spans))  # exclusive, in tokens
            if end < len(spans):
                end = self._boundary(text, spans, start, end)
            out.append(text[spans[start][0] : spans[end - 1][1]].strip())
            if end >= len(spans):
                break
            nxt = max(end - overlap, start + 1)
            while nxt < end and nxt > start + 1 and spans[nxt][0] == spans[nxt - 1][1]:
                nxt -= 1  # start the overlap on a word, not inside one
            start = nxt
        return [c for c in out if c]

    @staticmethod
    def _boundary(text: str, spans: list[tuple[int, int]], start: int, end: int) -> int:
        """Where a chunk ending at most at token ``end`` should end: after a sentence or paragraph in the
        window's second half, else at the last word boundary."""
        half = start + (end - start) // 2
        for cut in range(end, half, -1):
            between = text[spans[cut - 1][1] - 1 : spans[cut][0] + 2]
            if _SENTENCE_END.search(between):
                return cut
        for cut in range(end, start + 1, -1):
            if spans[cut][0] > spans[cut - 1][1]:  # whitespace before the next token
                return cut
        return end

    def upload(
        self,
        account: str,
        namespace: str,
        instance: str,
        key: str,
        text: str,
        size: int,
        metadata: dict[str, Any],
    ) -> dict[str, Any]:
        with self.lock:
            settings = self._settings(account, namespace, instance)
        chunks = self.chunk(text, int(settings["chunk_size"]), int(settings["chunk_overlap"]))
        vectors = self.embedder.embed_unit(chunks) if chunks else np.zeros((0, 384), np.float32)
        checksum = hashlib.sha256(text.encode()).hexdigest()
        item_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{namespace}/{instance}/{key}"))
        timestamp = int(time.time() * 1000)
        now = _now()
        with self.lock, self.db:
            self._settings(account, namespace, instance)  # still there
            self._drop_item(account, namespace, instance, item_id)
            self.db.execute(
                "INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    account,
                    namespace,
                    instance,
                    item_id,
                    key,
                    checksum,
                    size,
                    len(chunks),
                    json.dumps(metadata),
                    now,
                    timestamp,
                ),
            )
            for i, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
                cur = self.db.execute(
                    "INSERT INTO chunks (account, namespace, instance, item_id, chunk_id, position, text,"
                    " vector) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        account,
                        namespace,
                        instance,
                        item_id,
                        f"{item_id}-{i}",
                        i,
                        chunk,
                        np.asarray(vector, np.float32).tobytes(),
                    ),
                )
                for table in ("fts_porter", "fts_trigram"):
                    self.db.execute(
                        f"INSERT INTO {table} (rowid, text) VALUES (?, ?)", (cur.lastrowid, chunk)
                    )
            self.db.execute(
                "UPDATE instances SET last_activity=? WHERE account=? AND namespace=? AND id=?",
                (now, account, namespace, instance),
            )
            return self._item(account, namespace, instance, item_id)

    def _item(self, account: str, namespace: str, instance: str, item_id: str) -> dict[str, Any]:
        row = self.db.execute(
            "SELECT id, key, checksum, file_size, chunks_count, metadata, created_at FROM items"
            " WHERE account=? AND namespace=? AND instance=? AND id=?",
            (account, namespace, instance, item_id),
        ).fetchone()
        if row is None:
            raise rules.Rejected(404, None, f"item '{item_id}' not found")
        return {
            "id": row[0],
            "key": row[1],
            "checksum": row[2],
            "file_size": row[3],
            "chunks_count": row[4],
            "metadata": json.loads(row[5]),
            "created_at": row[6],
            "last_seen_at": row[6],
            "namespace": namespace,
            "next_action": None,
            "source_id": "builtin",
            "status": "completed",
        }

    def items(self, account: str, namespace: str, instance: str) -> list[dict[str, Any]]:
        with self.lock:
            self._settings(account, namespace, instance)
            ids = [
                r[0]
                for r in self.db.execute(
                    "SELECT id FROM items WHERE account=? AND namespace=? AND instance=? ORDER BY key",
                    (account, namespace, instance),
                )
            ]
            return [self._item(account, namespace, instance, i) for i in ids]

    def delete_item(self, account: str, namespace: str, instance: str, item_id: str) -> dict[str, Any]:
        with self.lock, self.db:
            self._settings(account, namespace, instance)
            item = self._item(account, namespace, instance, item_id)
            self._drop_item(account, namespace, instance, item_id)
            return item

    def chunks_of(self, account: str, namespace: str, instance: str, item_id: str) -> list[dict[str, Any]]:
        with self.lock:
            self._item(account, namespace, instance, item_id)
            rows = self.db.execute(
                "SELECT chunk_id, text FROM chunks"
                " WHERE account=? AND namespace=? AND instance=? AND item_id=? ORDER BY position",
                (account, namespace, instance, item_id),
            ).fetchall()
        return [{"id": r[0], "text": r[1]} for r in rows]

    def stats(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        with self.lock:
            described = self._describe(account, namespace, instance)
            items = self.db.execute(
                "SELECT COUNT(*) FROM items WHERE account=? AND namespace=? AND instance=?",
                (account, namespace, instance),
            ).fetchone()[0]
            chunks = self.db.execute(
                "SELECT COUNT(*) FROM chunks WHERE account=? AND namespace=? AND instance=?",
                (account, namespace, instance),
            ).fetchone()[0]
        return {
            "completed": items,
            "queued": 0,
            "running": 0,
            "error": 0,
            "skipped": 0,
            "outdated": 0,
            "file_embed_errors": {},
            "index_source_errors": {},
            "last_activity": described["last_activity"],
            "engine": {"vectorize": {"dimensions": 384, "vectors_count": chunks}},
        }

    # -- search -----------------------------------------------------------------------------------
    def search(
        self, account: str, namespace: str, instance: str, query: str, opts: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """The chunks for ``query`` under the effective options ``opts`` (:func:`rules.search_options`)."""
        with self.lock, self.db:  # last_activity is written: commit it
            settings = self._settings(account, namespace, instance)
            rows = self.db.execute(
                "SELECT c.rowid, c.chunk_id, c.text, c.vector, i.key, i.metadata, i.timestamp FROM chunks c"
                " JOIN items i ON i.account=c.account AND i.namespace=c.namespace"
                " AND i.instance=c.instance AND i.id=c.item_id"
                " WHERE c.account=? AND c.namespace=? AND c.instance=?",
                (account, namespace, instance),
            ).fetchall()
            rows = [r for r in rows if _matches(opts["filters"], _attributes(r[4], r[5], r[6]))]
            kinds = opts["retrieval_type"]
            keyword = self._keyword(settings, query, opts, {r[0] for r in rows}) if kinds != "vector" else {}
            self.db.execute(
                "UPDATE instances SET last_activity=? WHERE account=? AND namespace=? AND id=?",
                (_now(), account, namespace, instance),
            )
        if not rows:
            return []
        qvec = self.embedder.embed_unit([query])[0]
        matrix = np.stack([np.frombuffer(r[3], np.float32) for r in rows])
        sims = matrix @ qvec
        order = np.argsort(-sims, kind="stable")
        vector_rank = {int(rows[i][0]): rank + 1 for rank, i in enumerate(order)}
        vector_score = {int(rows[i][0]): float(sims[i]) for i in range(len(rows))}
        keyword_rank = {rowid: rank + 1 for rank, rowid in enumerate(keyword)}
        top_kw = max(keyword.values(), default=0.0) or 1.0
        scored = []
        for row in rows:
            rowid = int(row[0])
            vs = vector_score[rowid]
            if vs < opts["match_threshold"]:
                continue  # the threshold is on the vector similarity (result-controls page)
            if kinds == "keyword" and rowid not in keyword:
                continue
            details: dict[str, Any] = {"vector_score": vs, "vector_rank": vector_rank[rowid]}
            if rowid in keyword:
                details.update(keyword_score=keyword[rowid], keyword_rank=keyword_rank[rowid])
            if kinds == "vector":
                score = vs
            elif kinds == "keyword":
                score = keyword[rowid] / top_kw
            elif opts["fusion_method"] == "rrf":
                details["fusion_method"] = "rrf"
                score = 1 / (RRF_K + vector_rank[rowid])
                score += 1 / (RRF_K + keyword_rank[rowid]) if rowid in keyword else 0.0
            else:
                details["fusion_method"] = "max"
                score = max(vs, keyword.get(rowid, 0.0) / top_kw)
            if opts["rerank"]:
                details["reranking_score"] = vs
                if vs < opts["rerank_threshold"]:
                    continue
            scored.append((score, row, details))
        scored.sort(key=lambda s: -s[0])
        if opts["rerank"]:  # reorder the fused candidates by the reranking score
            scored.sort(key=lambda s: -s[2]["reranking_score"])
        out = []
        for score, row, details in scored[: opts["max_num_results"]]:
            out.append(
                {
                    "id": row[1],
                    "type": "text",
                    "score": score,
                    "text": row[2],
                    "item": {"key": row[4], "timestamp": row[6], "metadata": json.loads(row[5])},
                    "scoring_details": details,
                }
            )
        return out

    def _keyword(
        self, settings: dict[str, Any], query: str, opts: dict[str, Any], allowed: set[int]
    ) -> dict[int, float]:
        """bm25 scores (higher is better) of the chunks that match the query's terms, best first."""
        trigram = settings.get("keyword_tokenizer") == "trigram"
        terms = [t for t in re.findall(r"\w+", query.lower()) if t not in _STOP]
        if trigram:
            terms = [t for t in terms if len(t) >= 3]
        if not terms:
            return {}
        joiner = " OR " if opts["keyword_match_mode"] == "fuzzy_match" else " AND "
        match = joiner.join(f'"{t}"' for t in terms)
        table = "fts_trigram" if trigram else "fts_porter"
        rows = self.db.execute(
            f"SELECT rowid, bm25({table}) FROM {table} WHERE {table} MATCH ? ORDER BY bm25({table})", (match,)
        ).fetchall()
        return {int(r): -float(s) for r, s in rows if int(r) in allowed}


def _attributes(key: str, metadata: str, timestamp: int) -> dict[str, Any]:
    """The built-in attributes (filename, folder, timestamp) and an item's custom metadata."""
    folder = key.rsplit("/", 1)[0] + "/" if "/" in key else ""
    return {**json.loads(metadata), "filename": key, "folder": folder, "timestamp": timestamp}


_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda a, b: a == b,
    "$ne": lambda a, b: a != b,
    "$in": lambda a, b: a in b,
    "$nin": lambda a, b: a not in b,
    "$lt": lambda a, b: a is not None and a < b,
    "$lte": lambda a, b: a is not None and a <= b,
    "$gt": lambda a, b: a is not None and a > b,
    "$gte": lambda a, b: a is not None and a >= b,
}


def _matches(filters: dict[str, Any], attrs: dict[str, Any]) -> bool:
    for key, cond in filters.items():
        value = attrs.get(key)
        conds = cond if isinstance(cond, dict) else {"$eq": cond}
        for op, target in conds.items():
            try:
                if not _OPS[op](value, target):
                    return False
            except TypeError:  # a string compared with a number: no match
                return False
    return True
