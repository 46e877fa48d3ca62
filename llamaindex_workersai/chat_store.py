"""LlamaIndex chat history in D1, so a conversation's memory outlives the process.

- :class:`D1ChatStore` is a ``BaseChatStore`` (``ChatMemoryBuffer.from_defaults(chat_store=...,
  chat_store_key=...)``, ``ChatSummaryMemoryBuffer``), sync and async;
- :class:`D1MemoryStore` is the ``AsyncDBChatStore`` LlamaIndex's ``Memory`` keeps its messages in
  (``Memory.from_defaults(session_id=..., chat_store=...)``): the same table, with each message's
  status (active, or archived once ``Memory`` has moved it to its memory blocks).

One table (``{table_prefix}chat_messages``): a row per message, in insertion order (an
``AUTOINCREMENT`` id), the message as its JSON (``ChatMessage.model_dump_json``). Each call is one D1
request; the table is created by the first one. Chat keys are bound parameters: any text is kept as
given, and what D1 cannot carry is refused before any request (:func:`workersai.d1.check_key`).

A long-term memory searched by meaning needs no class of its own: llama-index-core's
``VectorMemoryBlock`` takes any ``BasePydanticVectorStore`` that stores text, such as
:class:`~llamaindex_workersai.VectorizeVectorStore` (with a ``session_id`` metadata index, the property it
filters on).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from llama_index.core.llms import ChatMessage
from llama_index.core.storage.chat_store.base import BaseChatStore
from llama_index.core.storage.chat_store.base_db import AsyncDBChatStore, MessageStatus
from pydantic import BaseModel, PrivateAttr

from workersai.client import WorkersAI as WorkersAIClient
from workersai.d1 import MAX_BOUND_PARAMETERS, QueryResult, Statement, check_key
from workersai.errors import BadInput

__all__ = ["D1ChatStore", "D1MemoryStore"]

_ACTIVE = MessageStatus.ACTIVE.value


class _Messages:
    """The statements of every operation on the messages table (the two stores differ in the I/O they
    are called from)."""

    def __init__(self, table_prefix: str) -> None:
        if not table_prefix.replace("_", "a").isalnum() or not table_prefix.isascii():
            raise BadInput(f"table_prefix must be letters, digits and underscores, got {table_prefix!r}")
        self.t = f"{table_prefix}chat_messages"

    def schema(self) -> list[Statement]:
        return [
            Statement(
                f"CREATE TABLE IF NOT EXISTS {self.t} (id INTEGER PRIMARY KEY AUTOINCREMENT,"
                f" key TEXT NOT NULL, status TEXT NOT NULL DEFAULT '{_ACTIVE}', data TEXT NOT NULL)"
            ),
            Statement(f"CREATE INDEX IF NOT EXISTS {self.t}_key ON {self.t} (key, status, id)"),
        ]

    def select(self, key: str, status: str | None, tail: str = "", params: Sequence[Any] = ()) -> Statement:
        where = "key = ?" + (" AND status = ?" if status is not None else "")
        return Statement(
            f"SELECT id, data FROM {self.t} WHERE {where} ORDER BY id {tail}",
            (check_key(key, "chat key"), *((status,) if status is not None else ()), *params),
        )

    def insert(self, key: str, messages: Sequence[ChatMessage], status: str = _ACTIVE) -> list[Statement]:
        rows = [(check_key(key, "chat key"), status, m.model_dump_json()) for m in messages]
        per = MAX_BOUND_PARAMETERS // 3
        return [
            Statement(
                f"INSERT INTO {self.t} (key, status, data) VALUES " + ", ".join(["(?, ?, ?)"] * len(part)),
                tuple(v for row in part for v in row),
            )
            for part in (rows[s : s + per] for s in range(0, len(rows), per))
        ]

    def delete(self, key: str, status: str | None = None) -> Statement:
        where = "key = ?" + (" AND status = ?" if status is not None else "")
        return Statement(
            f"DELETE FROM {self.t} WHERE {where}",
            (check_key(key, "chat key"), *((status,) if status is not None else ())),
        )

    def take(self, key: str, pick: str, params: Sequence[Any], then: str = "DELETE") -> list[Statement]:
        """Read the rows ``pick`` chooses among a key's active messages, then delete (or archive) them, in
        one request."""
        chosen = f"SELECT id FROM {self.t} WHERE key = ? AND status = '{_ACTIVE}' {pick}"
        args = (check_key(key, "chat key"), *params)
        change = (
            f"DELETE FROM {self.t}"
            if then == "DELETE"
            else f"UPDATE {self.t} SET status = '{MessageStatus.ARCHIVED.value}'"
        )
        return [
            Statement(f"SELECT id, data FROM {self.t} WHERE id IN ({chosen}) ORDER BY id", args),
            Statement(f"{change} WHERE id IN ({chosen})", args),
        ]

    def keys(self) -> Statement:
        return Statement(f"SELECT DISTINCT key FROM {self.t} ORDER BY key")


def _messages(result: QueryResult) -> list[ChatMessage]:
    return [ChatMessage.model_validate_json(row["data"]) for row in result.results]


class _D1:
    """The client, database and table of a store, and its one-request sends."""

    def __init__(self, client: WorkersAIClient | None, database_id: str, table_prefix: str) -> None:
        if not database_id or not isinstance(database_id, str):
            raise BadInput("a D1 chat store needs database_id=, a D1 database's uuid")
        self.client = client if client is not None else WorkersAIClient()
        self.database_id = database_id
        self.sql = _Messages(table_prefix)
        self.ready = False

    def _with_schema(self, statements: list[Statement]) -> list[Statement]:
        return statements if self.ready else [*self.sql.schema(), *statements]

    def _after(self, results: list[QueryResult], statements: list[Statement]) -> list[QueryResult]:
        self.ready = True
        return results[len(results) - len(statements) :]

    def run(self, statements: list[Statement]) -> list[QueryResult]:
        """One request. The client retries it when it only reads, else only when it cannot have run (an
        ``INSERT`` sent twice would add the message twice)."""
        return self._after(self.client.d1.batch(self.database_id, self._with_schema(statements)), statements)

    async def arun(self, statements: list[Statement]) -> list[QueryResult]:
        results = await self.client.d1.abatch(self.database_id, self._with_schema(statements))
        return self._after(results, statements)


class _OnD1(BaseModel):
    """What both stores hold: the database, the table's prefix and the D1 access (``_D1``)."""

    database_id: str
    table_prefix: str = "llamaindex_"
    _d1: _D1 = PrivateAttr()

    def __init__(
        self,
        client: WorkersAIClient | None = None,
        database_id: str = "",
        *,
        table_prefix: str = "llamaindex_",
        **kwargs: Any,
    ) -> None:
        super().__init__(database_id=database_id, table_prefix=table_prefix, **kwargs)
        self._d1 = _D1(client, database_id, table_prefix)


class D1ChatStore(_OnD1, BaseChatStore):
    """A ``BaseChatStore`` on D1: ``D1ChatStore(client=WorkersAI client, database_id=...)``.

    ``ChatMemoryBuffer.from_defaults(chat_store=store, chat_store_key="user-1")`` then keeps the
    conversation in D1; another process with a store on the same database sees it."""

    @classmethod
    def class_name(cls) -> str:
        return "D1ChatStore"

    # statements of each call (shared by the sync and async twins)
    def _set(self, key: str, messages: list[ChatMessage]) -> list[Statement]:
        return [self._d1.sql.delete(key), *self._d1.sql.insert(key, messages)]

    def _last(self, key: str) -> list[Statement]:
        return self._d1.sql.take(key, "ORDER BY id DESC LIMIT 1", ())

    def _at(self, key: str, idx: int) -> list[Statement]:
        if not isinstance(idx, int) or idx < 0:
            raise BadInput(f"a message index is an integer >= 0, got {idx!r}")
        return self._d1.sql.take(key, "ORDER BY id LIMIT 1 OFFSET ?", (idx,))

    def set_messages(self, key: str, messages: list[ChatMessage]) -> None:
        self._d1.run(self._set(key, messages))

    async def aset_messages(self, key: str, messages: list[ChatMessage]) -> None:
        await self._d1.arun(self._set(key, messages))

    def get_messages(self, key: str) -> list[ChatMessage]:
        return _messages(self._d1.run([self._d1.sql.select(key, None)])[0])

    async def aget_messages(self, key: str) -> list[ChatMessage]:
        return _messages((await self._d1.arun([self._d1.sql.select(key, None)]))[0])

    def add_message(self, key: str, message: ChatMessage) -> None:
        self._d1.run(self._d1.sql.insert(key, [message]))

    async def async_add_message(self, key: str, message: ChatMessage) -> None:
        await self._d1.arun(self._d1.sql.insert(key, [message]))

    def delete_messages(self, key: str) -> list[ChatMessage] | None:
        found = self._d1.run([self._d1.sql.select(key, None), self._d1.sql.delete(key)])
        return _messages(found[0]) or None

    async def adelete_messages(self, key: str) -> list[ChatMessage] | None:
        found = await self._d1.arun([self._d1.sql.select(key, None), self._d1.sql.delete(key)])
        return _messages(found[0]) or None

    def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        return next(iter(_messages(self._d1.run(self._at(key, idx))[0])), None)

    async def adelete_message(self, key: str, idx: int) -> ChatMessage | None:
        return next(iter(_messages((await self._d1.arun(self._at(key, idx)))[0])), None)

    def delete_last_message(self, key: str) -> ChatMessage | None:
        return next(iter(_messages(self._d1.run(self._last(key))[0])), None)

    async def adelete_last_message(self, key: str) -> ChatMessage | None:
        return next(iter(_messages((await self._d1.arun(self._last(key)))[0])), None)

    def get_keys(self) -> list[str]:
        return [row["key"] for row in self._d1.run([self._d1.sql.keys()])[0].results]

    async def aget_keys(self) -> list[str]:
        return [row["key"] for row in (await self._d1.arun([self._d1.sql.keys()]))[0].results]


class D1MemoryStore(_OnD1, AsyncDBChatStore):
    """The store LlamaIndex's ``Memory`` keeps a session's messages in, on D1:
    ``Memory.from_defaults(session_id="user-1", chat_store=D1MemoryStore(client, database_id))``.
    ``delete_message(key, idx)`` takes the message's row id, as LlamaIndex's SQL store does."""

    @classmethod
    def class_name(cls) -> str:
        return "D1MemoryStore"

    async def get_messages(
        self,
        key: str,
        status: MessageStatus | None = MessageStatus.ACTIVE,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[ChatMessage]:
        tail, params = "", []
        if limit is not None or offset is not None:
            tail, params = "LIMIT ? OFFSET ?", [-1 if limit is None else limit, offset or 0]
        state = status.value if status is not None else None
        return _messages((await self._d1.arun([self._d1.sql.select(key, state, tail, params)]))[0])

    async def count_messages(self, key: str, status: MessageStatus | None = MessageStatus.ACTIVE) -> int:
        return len(await self.get_messages(key, status))

    async def add_message(
        self, key: str, message: ChatMessage, status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        await self._d1.arun(self._d1.sql.insert(key, [message], status.value))

    async def add_messages(
        self, key: str, messages: list[ChatMessage], status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        if messages:
            await self._d1.arun(self._d1.sql.insert(key, messages, status.value))

    async def set_messages(
        self, key: str, messages: list[ChatMessage], status: MessageStatus = MessageStatus.ACTIVE
    ) -> None:
        await self._d1.arun([self._d1.sql.delete(key), *self._d1.sql.insert(key, messages, status.value)])

    async def delete_message(self, key: str, idx: int) -> ChatMessage | None:
        if not isinstance(idx, int):
            raise BadInput(f"a message id is an integer, got {idx!r}")
        sql = self._d1.sql
        found = await self._d1.arun(
            [
                Statement(
                    f"SELECT id, data FROM {sql.t} WHERE key = ? AND id = ?",
                    (check_key(key, "chat key"), idx),
                ),
                Statement(f"DELETE FROM {sql.t} WHERE key = ? AND id = ?", (key, idx)),
            ]
        )
        return next(iter(_messages(found[0])), None)

    async def delete_messages(self, key: str, status: MessageStatus | None = None) -> None:
        await self._d1.arun([self._d1.sql.delete(key, status.value if status is not None else None)])

    async def delete_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        return _messages((await self._d1.arun(self._d1.sql.take(key, "ORDER BY id LIMIT ?", (n,))))[0])

    async def archive_oldest_messages(self, key: str, n: int) -> list[ChatMessage]:
        statements = self._d1.sql.take(key, "ORDER BY id LIMIT ?", (n,), then="ARCHIVE")
        return _messages((await self._d1.arun(statements))[0])

    async def get_keys(self) -> list[str]:
        return [row["key"] for row in (await self._d1.arun([self._d1.sql.keys()]))[0].results]
