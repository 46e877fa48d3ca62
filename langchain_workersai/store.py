"""A LangGraph long-term memory store on D1 and Vectorize: :class:`VectorizeD1Store`.

Items live in D1 (one row per namespace and key: the value as JSON, created and updated times); with an
``index`` config, the text at the configured fields is embedded through Workers AI and written to a
Vectorize index, one vector per field, so ``search(ns, query=...)`` is a Vectorize query. A D1 table maps
vector ids back to items.

Each ``batch`` / ``abatch`` runs as one flow (a generator that yields the I/O it needs; a sync and an
async runner carry it out): reads of all ``get`` ops in one D1 request, the texts of all ``put`` ops in
one embedding call, their rows in one D1 request, their vectors in one upsert.

Namespaces: tuples of non-empty labels without ``.`` (LangGraph's own rule, ``InvalidNamespaceError``),
stored joined by ``.``; labels and keys are bound parameters, refused before any request only when D1
cannot carry them (:func:`~langchain_workersai._d1keys.check_key`). Vectorize filters on the namespace
through metadata ``p1`` .. ``p4`` (the first one to four labels joined), string metadata indexes
:meth:`VectorizeD1Store.setup` creates (Vectorize filters only on indexed properties, at most 10 per
index: developers.cloudflare.com/vectorize/reference/metadata-filtering/); deeper prefixes and value
filters are applied to the matches. A query asks Vectorize for :data:`QUERY_TOP_K` matches (topK's
ceiling without values or metadata: developers.cloudflare.com/vectorize/platform/limits/), so a
selective value filter can leave fewer than ``limit`` results.
"""

# ruff: noqa: E402  (the extra is checked before its imports)
from __future__ import annotations

from workersai.lazy import require_extra

require_extra("langchain_workersai", "langgraph.store.base", "langgraph", "LangGraph")

import asyncio
import hashlib
import json
from collections.abc import Callable, Generator, Iterable, Sequence
from datetime import datetime, timezone
from typing import Any

from langchain_core.embeddings import Embeddings
from langgraph.store.base import (
    BaseStore,
    GetOp,
    IndexConfig,
    InvalidNamespaceError,
    Item,
    ListNamespacesOp,
    MatchCondition,
    Op,
    PutOp,
    Result,
    SearchItem,
    SearchOp,
    ensure_embeddings,
    get_text_at_path,
    tokenize_path,
)

from workersai.client import WorkersAI
from workersai.d1 import MAX_BOUND_PARAMETERS, QueryResult, Statement
from workersai.errors import BadInput

from ._d1keys import check_key, check_table_prefix, chunks

__all__ = ["VectorizeD1Store"]

NAMESPACE_DEPTHS = 4
"""Namespace prefixes Vectorize filters on (metadata ``p1`` .. ``p4``)."""
QUERY_TOP_K = 100
SCAN_PAGE = 200
"""Rows read per D1 request when a search without a query filters values."""

Io = tuple[str, Any]
Flow = Generator[Io, Any, list[Result]]


def _ns(namespace: Sequence[str], what: str = "namespace", *, empty_ok: bool = True) -> str:
    """``namespace`` as stored (labels joined by ``.``), or :class:`BadInput` / LangGraph's
    ``InvalidNamespaceError`` before any request."""
    if isinstance(namespace, str) or not isinstance(namespace, (tuple, list)):
        raise InvalidNamespaceError(f"a {what} is a tuple of strings, not {type(namespace).__name__}")
    if not namespace and not empty_ok:
        raise InvalidNamespaceError(f"a {what} cannot be empty")
    for label in namespace:
        if not isinstance(label, str) or not label:
            raise InvalidNamespaceError(f"{what} labels must be non-empty strings: {namespace!r}")
        if "." in label:
            raise InvalidNamespaceError(f"{what} labels cannot contain '.': {namespace!r}")
        try:
            check_key(label, f"{what} label")
        except BadInput as exc:  # NUL, a lone surrogate, too long: LangGraph's error for a namespace
            raise InvalidNamespaceError(str(exc)) from None
    return ".".join(namespace)


def _vector_id(namespace: str, key: str, path: str) -> str:
    """A Vectorize id (at most 64 bytes) for one field of one item."""
    return hashlib.sha256(f"{namespace}\x1f{key}\x1f{path}".encode()).hexdigest()[:48]


def _by_keys(sql: str, keys: Sequence[tuple[str, str]]) -> list[Statement]:
    """``sql`` (a ``SELECT ... FROM t`` or ``DELETE FROM t``) on the rows of ``(namespace, key)`` pairs,
    as few statements as D1's bound-parameter limit allows."""
    return [
        Statement(
            f"{sql} WHERE " + " OR ".join(["(namespace = ? AND key = ?)"] * len(part)),
            tuple(v for pair in part for v in pair),
        )
        for part in chunks(keys, MAX_BOUND_PARAMETERS // 2)
    ]


def _prefix_filter(prefix: Sequence[str]) -> dict[str, Any] | None:
    depth = min(len(prefix), NAMESPACE_DEPTHS)
    return {f"p{depth}": ".".join(prefix[:depth])} if depth else None


def _compare(value: Any, wanted: Any) -> bool:
    """LangGraph's filter semantics (``SearchOp.filter``): exact match, nested objects, ``$eq $ne $gt
    $gte $lt $lte``."""
    if isinstance(wanted, dict):
        if any(k.startswith("$") for k in wanted):
            return all(_operator(value, op, operand) for op, operand in wanted.items())
        return isinstance(value, dict) and all(_compare(value.get(k), v) for k, v in wanted.items())
    if isinstance(wanted, (list, tuple)):
        return (
            isinstance(value, (list, tuple))
            and len(value) == len(wanted)
            and all(_compare(a, b) for a, b in zip(value, wanted, strict=True))
        )
    return bool(value == wanted)


def _operator(value: Any, op: str, operand: Any) -> bool:
    if op == "$eq":
        return bool(value == operand)
    if op == "$ne":
        return bool(value != operand)
    compare: dict[str, Callable[[float, float], bool]] = {
        "$gt": float.__gt__,
        "$gte": float.__ge__,
        "$lt": float.__lt__,
        "$lte": float.__le__,
    }
    if op not in compare:
        raise BadInput(f"unsupported filter operator {op!r}: use $eq, $ne, $gt, $gte, $lt or $lte")
    try:
        return compare[op](float(value), float(operand))
    except (TypeError, ValueError):
        return False


def _matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    path = condition.path
    if len(namespace) < len(path):
        return False
    labels = (
        namespace[: len(path)]
        if condition.match_type == "prefix"
        else namespace[len(namespace) - len(path) :]
    )
    return all(p == "*" or k == p for k, p in zip(labels, path, strict=True))


class VectorizeD1Store(BaseStore):
    """LangGraph's ``BaseStore`` on a D1 database, searched by meaning through a Vectorize index.

    ``VectorizeD1Store(client, database_id, index={"name": "memories", "dims": 384, "embed":
    "@cf/baai/bge-small-en-v1.5", "fields": ["text"]})``; ``embed`` is a Workers AI embedding model (run
    through ``client``), a LangChain ``Embeddings`` or a function, as LangGraph's ``IndexConfig`` takes
    it. Without ``index`` the store keeps items in D1 only and ``search`` filters without ranking.
    Call :meth:`setup` once (creates the index and its metadata indexes; the tables are created by the
    first request). ``wait=True`` (the default) returns from a write once Vectorize has applied it, so
    the next search sees it.
    """

    supports_ttl = False

    def __init__(
        self,
        client: WorkersAI | None = None,
        database_id: str | None = None,
        *,
        index: dict[str, Any] | None = None,
        table_prefix: str = "langgraph_",
        wait: bool = True,
    ) -> None:
        if not database_id or not isinstance(database_id, str):
            raise BadInput("VectorizeD1Store needs database_id=, a D1 database's uuid")
        check_table_prefix(table_prefix)
        self.client = client if client is not None else WorkersAI()
        self.database_id = database_id
        self.wait = wait
        self._items, self._vectors = f"{table_prefix}store_items", f"{table_prefix}store_vectors"
        self._ready = False
        self.index_config: IndexConfig | None = None
        self.index_name: str | None = None
        self.embeddings: Embeddings | None = None
        self._fields: list[tuple[str, Any]] = []
        if index is not None:
            if not index.get("name") or not index.get("dims"):
                raise BadInput('index= needs "name" (a Vectorize index) and "dims"')
            self.index_name = str(index["name"])
            embed = index.get("embed")
            if isinstance(embed, str) and embed.startswith("@cf/"):
                from .embeddings import WorkersAIEmbeddings

                embed = WorkersAIEmbeddings(model_name=embed, client=self.client)
            self.embeddings = ensure_embeddings(embed)
            self.index_config = IndexConfig(dims=int(index["dims"]), embed=self.embeddings)
            fields = list(index.get("fields") or ["$"])
            self.index_config["fields"] = fields
            self._fields = [(p, p if p == "$" else tokenize_path(p)) for p in fields]

    # -- setup --------------------------------------------------------------------------------------
    def _schema(self) -> list[Statement]:
        return [
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self._items} (namespace TEXT NOT NULL, key TEXT NOT NULL,"
                " value TEXT NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL,"
                " PRIMARY KEY (namespace, key))"
            ),
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self._vectors} (id TEXT PRIMARY KEY, namespace TEXT NOT NULL,"
                " key TEXT NOT NULL, path TEXT NOT NULL)"
            ),
            Statement(f"CREATE INDEX IF NOT EXISTS {self._vectors}_item ON {self._vectors} (namespace, key)"),
        ]

    def setup(self) -> None:
        """Create the Vectorize index (cosine, ``dims``) and its namespace metadata indexes, if missing,
        and the D1 tables."""
        if self.index_name and self.index_config:
            vz = self.client.vectorize
            vz.create_index(self.index_name, dimensions=self.index_config["dims"], exist_ok=True)
            for depth in range(1, NAMESPACE_DEPTHS + 1):
                vz.create_metadata_index(self.index_name, f"p{depth}", "string", wait=True, exist_ok=True)
        self.client.d1.batch(self.database_id, self._schema(), retry=True)
        self._ready = True

    async def asetup(self) -> None:
        if self.index_name and self.index_config:
            vz = self.client.vectorize
            await vz.acreate_index(self.index_name, dimensions=self.index_config["dims"], exist_ok=True)
            for depth in range(1, NAMESPACE_DEPTHS + 1):
                await vz.acreate_metadata_index(
                    self.index_name, f"p{depth}", "string", wait=True, exist_ok=True
                )
        await self.client.d1.abatch(self.database_id, self._schema(), retry=True)
        self._ready = True

    # -- the runners --------------------------------------------------------------------------------
    def batch(self, ops: Iterable[Op]) -> list[Result]:
        flow = self._flow(list(ops))
        try:
            io = next(flow)
            while True:
                io = flow.send(self._do(io))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    async def abatch(self, ops: Iterable[Op]) -> list[Result]:
        flow = self._flow(list(ops))
        try:
            io = next(flow)
            while True:
                io = flow.send(await self._ado(io))
        except StopIteration as done:
            return done.value  # type: ignore[no-any-return]

    def _statements(self, statements: list[Statement]) -> list[Statement]:
        return statements if self._ready else [*self._schema(), *statements]

    def _after(self, results: list[QueryResult], statements: list[Statement]) -> list[QueryResult]:
        self._ready = True
        return results[len(results) - len(statements) :]

    def _do(self, io: Io) -> Any:
        kind, arg = io
        vz, name, embeddings = self.client.vectorize, self.index_name or "", self.embeddings
        if kind == "d1":  # every statement the store sends is idempotent: retried after a lost answer
            return self._after(self.client.d1.batch(self.database_id, self._statements(arg), retry=True), arg)
        if kind == "embed":
            return embeddings.embed_documents(arg) if embeddings else []
        if kind == "embed_queries":
            return [embeddings.embed_query(q) for q in arg] if embeddings else []
        if kind == "upsert":
            return vz.upsert(name, arg, wait=self.wait) if arg else None
        if kind == "delete":
            return vz.delete_by_ids(name, arg, wait=self.wait) if arg else None
        vector, flt = arg  # "query"
        return vz.query(name, vector, top_k=QUERY_TOP_K, filter=flt).matches

    async def _ado(self, io: Io) -> Any:
        kind, arg = io
        vz, name, embeddings = self.client.vectorize, self.index_name or "", self.embeddings
        if kind == "d1":
            statements = self._statements(arg)
            return self._after(await self.client.d1.abatch(self.database_id, statements, retry=True), arg)
        if kind == "embed":
            return await embeddings.aembed_documents(arg) if embeddings else []
        if kind == "embed_queries":
            return (
                list(await asyncio.gather(*(embeddings.aembed_query(q) for q in arg))) if embeddings else []
            )
        if kind == "upsert":
            return await vz.aupsert(name, arg, wait=self.wait) if arg else None
        if kind == "delete":
            return await vz.adelete_by_ids(name, arg, wait=self.wait) if arg else None
        vector, flt = arg
        return (await vz.aquery(name, vector, top_k=QUERY_TOP_K, filter=flt)).matches

    # -- the flow -----------------------------------------------------------------------------------
    def _flow(self, ops: list[Op]) -> Flow:
        """Every op's result, in order: reads first (as LangGraph's stores answer a batch), then the
        writes (the last put of a (namespace, key) wins)."""
        results: list[Result] = [None] * len(ops)
        gets = [(i, op) for i, op in enumerate(ops) if isinstance(op, GetOp)]
        puts: dict[tuple[str, str], PutOp] = {}
        for i, op in enumerate(ops):
            if isinstance(op, GetOp):
                continue
            if isinstance(op, PutOp):
                puts[(_ns(op.namespace, empty_ok=False), check_key(op.key, "key"))] = op
            elif isinstance(op, SearchOp):
                results[i] = yield from self._search(op)
            elif isinstance(op, ListNamespacesOp):
                results[i] = yield from self._list_namespaces(op)
            else:
                raise BadInput(f"unknown store operation {type(op).__name__}")
        if gets:
            keys = [(_ns(op.namespace), check_key(op.key, "key")) for _, op in gets]
            found = yield from self._read_items(keys)
            for (i, _), key in zip(gets, keys, strict=True):
                results[i] = found.get(key)
        if puts:
            yield from self._write(puts)
        return results

    def _item_rows(self, rows: list[dict[str, Any]]) -> dict[tuple[str, str], Item]:
        return {
            (row["namespace"], row["key"]): Item(
                value=json.loads(row["value"]),
                key=row["key"],
                namespace=tuple(row["namespace"].split(".")) if row["namespace"] else (),
                created_at=datetime.fromisoformat(row["created_at"]),
                updated_at=datetime.fromisoformat(row["updated_at"]),
            )
            for row in rows
        }

    def _read_items(self, keys: list[tuple[str, str]]) -> Generator[Io, Any, dict[tuple[str, str], Item]]:
        statements = _by_keys(
            f"SELECT namespace, key, value, created_at, updated_at FROM {self._items}", sorted(set(keys))
        )
        results: list[QueryResult] = yield ("d1", statements)
        return self._item_rows([row for r in results for row in r.results])

    def _texts(self, op: PutOp) -> list[tuple[str, str]]:
        """(field path, text) of each piece of ``op.value`` to embed."""
        if not self.embeddings or op.value is None or op.index is False:
            return []
        fields = self._fields if op.index is None else [(p, tokenize_path(p)) for p in op.index]
        out = []
        for path, tokens in fields:
            texts = get_text_at_path(op.value, tokens)
            if len(texts) == 1:
                out.append((path, texts[0]))
            else:
                out += [(f"{path}.{n}", text) for n, text in enumerate(texts)]
        return out

    def _write(self, puts: dict[tuple[str, str], PutOp]) -> Generator[Io, Any, None]:
        now = datetime.now(timezone.utc).isoformat()
        pieces = [(ns, key, path, text) for (ns, key), op in puts.items() for path, text in self._texts(op)]
        vectors = (yield ("embed", [text for *_, text in pieces])) if pieces else []
        keys = sorted(puts)
        # 1. the ids of the vectors the items had, read in the same request that replaces them
        statements = _by_keys(f"SELECT id FROM {self._vectors}", keys)
        reads = len(statements)
        statements += _by_keys(f"DELETE FROM {self._vectors}", keys)
        for ns, key in keys:
            op = puts[(ns, key)]
            if op.value is None:
                statements.append(
                    Statement(f"DELETE FROM {self._items} WHERE namespace = ? AND key = ?", (ns, key))
                )
            else:
                statements.append(
                    Statement(
                        f"INSERT INTO {self._items} (namespace, key, value, created_at, updated_at)"
                        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (namespace, key) DO UPDATE SET"
                        " value = excluded.value, updated_at = excluded.updated_at",
                        (ns, key, json.dumps(dict(op.value), ensure_ascii=False), now, now),
                    )
                )
        rows = [(_vector_id(ns, key, path), ns, key, path) for ns, key, path, _ in pieces]
        for part in chunks(rows, MAX_BOUND_PARAMETERS // 4):
            statements.append(
                Statement(
                    f"INSERT OR REPLACE INTO {self._vectors} (id, namespace, key, path) VALUES "
                    + ", ".join(["(?, ?, ?, ?)"] * len(part)),
                    tuple(v for row in part for v in row),
                )
            )
        results: list[QueryResult] = yield ("d1", statements)
        old = {row["id"] for r in results[:reads] for row in r.results}
        new = []
        for (vid, ns, *_), values in zip(rows, vectors, strict=True):
            labels = ns.split(".")
            metadata = {
                f"p{d}": ".".join(labels[:d]) for d in range(1, min(len(labels), NAMESPACE_DEPTHS) + 1)
            }
            new.append({"id": vid, "values": values, "metadata": metadata})
        if self.index_name:
            yield ("upsert", new)
            yield ("delete", sorted(old - {row[0] for row in rows}))

    def _search(self, op: SearchOp) -> Generator[Io, Any, list[SearchItem]]:
        prefix = _ns(op.namespace_prefix, "namespace prefix")
        if op.limit < 0 or op.offset < 0:
            raise BadInput("search needs limit >= 0 and offset >= 0")
        under = "(? = '' OR namespace = ? OR substr(namespace, 1, length(?) + 1) = ? || '.')"
        if op.query and self.embeddings and self.index_name:
            (vector,) = yield ("embed_queries", [op.query])
            matches = yield ("query", (vector, _prefix_filter(op.namespace_prefix)))
            scores: dict[str, float] = {m.id: m.score for m in matches}
            if not scores:
                return []
            within = under.replace("namespace", "i.namespace")
            statements = [
                Statement(
                    "SELECT v.id, i.namespace, i.key, i.value, i.created_at, i.updated_at"
                    f" FROM {self._vectors} AS v JOIN {self._items} AS i"
                    " ON i.namespace = v.namespace AND i.key = v.key"
                    f" WHERE v.id IN ({', '.join('?' * len(part))}) AND {within}",
                    (*part, prefix, prefix, prefix, prefix),
                )
                for part in chunks(sorted(scores), MAX_BOUND_PARAMETERS - 4)
            ]
            results: list[QueryResult] = yield ("d1", statements)
            best: dict[tuple[str, str], tuple[float, dict[str, Any]]] = {}
            for row in (row for r in results for row in r.results):
                key, score = (row["namespace"], row["key"]), scores[row["id"]]
                if key not in best or score > best[key][0]:  # an item scores as its best field
                    best[key] = (score, row)
            ranked = sorted(best.values(), key=lambda pair: -pair[0])
            items = [(score, item) for score, row in ranked for item in self._item_rows([row]).values()]
            kept = [
                (s, i)
                for s, i in items
                if all(_compare(i.value.get(k), v) for k, v in (op.filter or {}).items())
            ]
            return [self._found(item, score) for score, item in kept[op.offset : op.offset + op.limit]]
        # no query: newest first, filtered on the values
        found: list[SearchItem] = []
        skipped, start = 0, 0
        while len(found) < op.limit:
            page = SCAN_PAGE if op.filter else op.limit + op.offset
            statement = Statement(
                f"SELECT namespace, key, value, created_at, updated_at FROM {self._items} WHERE {under}"
                " ORDER BY updated_at DESC, namespace, key LIMIT ? OFFSET ?",
                (prefix, prefix, prefix, prefix, page, start),
            )
            (result,) = yield ("d1", [statement])
            for item in self._item_rows(result.results).values():
                if all(_compare(item.value.get(k), v) for k, v in (op.filter or {}).items()):
                    if skipped < op.offset:
                        skipped += 1
                    elif len(found) < op.limit:
                        found.append(self._found(item, None))
            if len(result.results) < page:
                break
            start += page
        return found

    @staticmethod
    def _found(item: Item, score: float | None) -> SearchItem:
        return SearchItem(item.namespace, item.key, item.value, item.created_at, item.updated_at, score)

    def _list_namespaces(self, op: ListNamespacesOp) -> Generator[Io, Any, list[tuple[str, ...]]]:
        (result,) = yield (
            "d1",
            [Statement(f"SELECT DISTINCT namespace FROM {self._items} ORDER BY namespace")],
        )
        namespaces = [tuple(row["namespace"].split(".")) for row in result.results]
        namespaces = [ns for ns in namespaces if all(_matches(c, ns) for c in op.match_conditions or ())]
        if op.max_depth is not None:
            namespaces = list({ns[: op.max_depth] for ns in namespaces})
        return sorted(namespaces)[op.offset : op.offset + op.limit]
