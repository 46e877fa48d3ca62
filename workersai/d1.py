"""D1 (Cloudflare's SQLite databases) over its REST API: ``WorkersAI().d1``.

Wire facts (Cloudflare API reference, "D1 > Database",
developers.cloudflare.com/api/resources/d1/subresources/database/methods/...):

- ``POST /accounts/{a}/d1/database`` with ``{"name": ...}`` creates a database and answers it
  (``uuid``, ``name``, ``created_at``, ``version``, ``num_tables``, ``file_size``);
- ``GET /accounts/{a}/d1/database`` lists them, paged (``page``, ``per_page``) and filtered by
  ``name``; ``GET`` / ``DELETE /accounts/{a}/d1/database/{uuid}`` read or delete one;
- ``POST /accounts/{a}/d1/database/{uuid}/query`` takes ``{"sql", "params"}`` or
  ``{"batch": [{"sql", "params"}, ...]}`` and answers one result per statement,
  ``{"results": [rows as objects], "success", "meta": {"changes", "rows_read", "rows_written",
  "last_row_id", "duration", ...}}``; ``/raw`` answers rows as arrays (``{"columns", "rows"}``).

Limits (developers.cloudflare.com/d1/platform/limits/): at most :data:`MAX_BOUND_PARAMETERS` (100)
bound parameters per statement, SQL statements of at most 100,000 bytes; both are checked here before
any request. An invalid statement is answered 400 with code 7500 and SQLite's message
(:class:`~workersai.errors.BadInput`); an unknown database is a 404
(:class:`~workersai.errors.NotFound`).
"""

from __future__ import annotations

import re
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .errors import BadInput, ResponseFormatError, WorkersAIError
from .flows import adrive, drive, numbered_pages
from .live_catalog import check_per_page
from .paths import path
from .transport import RetryMode, unwrap_envelope

if TYPE_CHECKING:
    from .client import WorkersAI

MAX_BOUND_PARAMETERS = 100
"""Bound parameters per statement (D1's "Maximum bound parameters per query")."""
MAX_SQL_BYTES = 100_000
"""D1's "Maximum SQL statement length" (100 KB)."""

Param = str | int | float | bool | None
"""A bound value. The API reference types ``params`` as strings; numbers, booleans and null are sent
as JSON values and bound as SQLite's own types."""


@dataclass(frozen=True)
class Statement:
    """One SQL statement and its bound parameters (``?`` placeholders)."""

    sql: str
    params: Sequence[Param] = ()

    def to_json(self) -> dict[str, Any]:
        check_statement(self.sql, self.params)
        body: dict[str, Any] = {"sql": self.sql}
        if self.params:
            body["params"] = list(self.params)
        return body


StatementLike = Statement | str | tuple[str, Sequence[Param]]


def check_statement(sql: str, params: Sequence[Param]) -> None:
    """D1's per-statement limits, before any request."""
    if not isinstance(sql, str) or not sql.strip():
        raise BadInput("a D1 statement needs non-empty SQL")
    size = len(sql.encode("utf-8", "surrogatepass"))
    if size > MAX_SQL_BYTES:
        raise BadInput(f"the SQL statement is {size} bytes; D1 takes at most {MAX_SQL_BYTES}")
    if len(params) > MAX_BOUND_PARAMETERS:
        raise BadInput(
            f"{len(params)} bound parameters in one statement; D1 takes at most {MAX_BOUND_PARAMETERS}"
        )
    for value in params:
        if value is not None and not isinstance(value, (str, int, float, bool)):
            raise BadInput(f"D1 binds strings, numbers, booleans and null, not {type(value).__name__}")


# Statements that surely only read: one SELECT (or VALUES) or EXPLAIN, or one pragma of D1's list that
# reads (developers.cloudflare.com/d1/sql-api/sql-statements/: table_list, table_info, table_xinfo,
# index_list, index_info, index_xinfo, foreign_key_list, foreign_key_check, quick_check), without a
# value (``PRAGMA x = v`` sets). Anything else may write: WITH (it may lead to a DELETE), REPLACE,
# several statements in one string (a ``;`` before the end), a pragma that sets or is not listed.
_LEADING = re.compile(r"(?:\s+|--[^\n]*(?:\n|\Z)|/\*.*?\*/)*", re.DOTALL)
_READ_ONLY = re.compile(
    r"(?:SELECT|VALUES|EXPLAIN)\b[^;]*;?\s*"
    r"|PRAGMA\s+(?:\w+\s*\.\s*)?(?:table_list|table_info|table_xinfo|index_list|index_info|index_xinfo"
    r"|foreign_key_list|foreign_key_check|quick_check)\b\s*(?:\(\s*[\w\"'`.\s]*\)\s*)?;?\s*",
    re.IGNORECASE,
)


def is_read_only(sql: str) -> bool:
    """True only when ``sql`` surely cannot write (see ``_READ_ONLY``); a statement it cannot classify
    counts as a write. Comments before the statement are skipped; a ``;`` anywhere but at the end (in a
    string literal too) makes it a write, as may a second statement."""
    start = _LEADING.match(sql)
    return _READ_ONLY.fullmatch(sql, start.end() if start else 0) is not None


def retry_mode(statements: Sequence[Statement], retry: RetryMode | None) -> RetryMode:
    """How a query is retried: ``retry`` when the caller says, else every retryable error for reads
    and, for a batch with any statement that may write, only errors that prove it was not sent
    (``"unsent"``, as the Batch API's submissions): after a lost answer a write may have run, and
    ``UPDATE t SET n = n + 1`` sent again would run twice."""
    if retry is not None:
        return retry
    return True if all(is_read_only(s.sql) for s in statements) else "unsent"


def _statement(item: StatementLike) -> Statement:
    if isinstance(item, Statement):
        return item
    if isinstance(item, str):
        return Statement(item)
    sql, params = item
    return Statement(sql, tuple(params))


@dataclass(frozen=True)
class Database:
    """A D1 database as the API describes it."""

    uuid: str
    name: str
    created_at: str | None = None
    version: str | None = None
    num_tables: int | None = None
    file_size: int | None = None

    @classmethod
    def parse(cls, raw: Any) -> Database:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("uuid"), str):
            raise ResponseFormatError(f"a D1 database without a uuid: {str(raw)[:120]}")

        def number(key: str) -> int | None:
            value = raw.get(key)
            return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None

        return cls(
            uuid=raw["uuid"],
            name=str(raw.get("name", "")),
            created_at=raw.get("created_at") if isinstance(raw.get("created_at"), str) else None,
            version=raw.get("version") if isinstance(raw.get("version"), str) else None,
            num_tables=number("num_tables"),
            file_size=number("file_size"),
        )


@dataclass(frozen=True)
class QueryResult:
    """What one statement returned: its rows (objects by column name, or, from :meth:`D1.raw`,
    arrays in ``columns`` order), and the ``meta`` D1 reports (``changes``, ``rows_read``,
    ``rows_written``, ``last_row_id``, ``duration``, ...)."""

    results: list[Any]
    success: bool = True
    meta: dict[str, Any] = field(default_factory=dict)
    columns: list[str] | None = None

    @property
    def changes(self) -> int:
        return int(self.meta.get("changes") or 0)

    @classmethod
    def parse_all(cls, raw: Any, *, as_arrays: bool = False) -> list[QueryResult]:
        if not isinstance(raw, list):
            raise ResponseFormatError("a D1 query result is not a list of statement results")
        out = []
        for item in raw:
            if not isinstance(item, Mapping):
                raise ResponseFormatError("a D1 statement result is not an object")
            raw_meta = item.get("meta")
            meta = dict(raw_meta) if isinstance(raw_meta, Mapping) else {}
            results = item.get("results")
            columns = None
            if as_arrays and isinstance(results, Mapping):  # /raw: {"columns": [...], "rows": [[...]]}
                columns = [str(c) for c in results.get("columns") or []]
                results = results.get("rows")
            if results is None:
                results = []
            if not isinstance(results, list):
                raise ResponseFormatError("a D1 statement's results are not a list of rows")
            out.append(cls(results, bool(item.get("success", True)), meta, columns))
        return out


class D1:
    """D1's REST API on the parent client's account, connection pool and retries.

    Every method has an async twin (``a`` + name). Statements in a :meth:`batch` run in order in one
    request; D1 runs a batch as one transaction (a failing statement rolls the batch back).

    Retries follow the client's policy for statements that only read (:func:`is_read_only`). A query
    or batch that may write is sent again only when it cannot have run (the connection was never
    made, a 429): a lost answer raises :class:`~workersai.errors.APIConnectionError` (or the 5xx)
    instead of running the write twice. ``retry=True`` on a call whose writes are idempotent
    (``INSERT OR REPLACE``, ``CREATE TABLE IF NOT EXISTS``, ``DELETE``) retries it fully;
    ``retry=False`` sends once.
    """

    def __init__(self, client: WorkersAI) -> None:
        self.client = client

    def _url(self, template: str = "", **ids: Any) -> str:
        """``/d1/database`` then ``template``, its ids checked (:func:`~workersai.paths.path`)."""
        return self.client.account_url(path("d1/database" + template, **ids))

    # -- requests (built once, sent by the sync or async twin) ------------------------------------
    def _query_request(
        self, database_id: str, statements: Sequence[StatementLike], raw: bool
    ) -> tuple[str, dict[str, Any]]:
        items = [_statement(s).to_json() for s in statements]
        if not items:
            raise BadInput("a D1 batch needs at least one statement")
        body = items[0] if len(items) == 1 else {"batch": items}
        return self._url("/{database}/raw" if raw else "/{database}/query", database=database_id), body

    @staticmethod
    def _databases(result: Any) -> list[Database]:
        if not isinstance(result, list):
            raise ResponseFormatError("the D1 database list is not a list")
        return [Database.parse(d) for d in result]

    # -- databases --------------------------------------------------------------------------------
    def create_database(self, name: str) -> Database:
        """Create a database named ``name``.

        When an attempt's answer was lost (the service may have created it) and the retry finds the name
        taken, the database of that name is read back and returned; a name taken at the first attempt
        raises as before."""
        try:
            response = self.client.transport.request("POST", self._url(), json={"name": _name(name)})
        except WorkersAIError as exc:
            if not _taken_by_a_lost_attempt(exc):
                raise
            return _the_one_named(name, self.list_databases(name), exc)
        return Database.parse(unwrap_envelope(response))

    async def acreate_database(self, name: str) -> Database:
        try:
            response = await self.client.transport.arequest("POST", self._url(), json={"name": _name(name)})
        except WorkersAIError as exc:
            if not _taken_by_a_lost_attempt(exc):
                raise
            return _the_one_named(name, await self.alist_databases(name), exc)
        return Database.parse(unwrap_envelope(response))

    def list_databases(self, name: str | None = None, *, per_page: int = 100) -> list[Database]:
        """Every database of the account (all pages), or those named ``name``."""
        url = self._url()
        return drive(
            database_pages(name, per_page),
            lambda query: self._databases(
                unwrap_envelope(self.client.transport.request("GET", url, params=query))
            ),
        )

    async def alist_databases(self, name: str | None = None, *, per_page: int = 100) -> list[Database]:
        url = self._url()

        async def fetch(query: dict[str, Any]) -> list[Database]:
            return self._databases(
                unwrap_envelope(await self.client.transport.arequest("GET", url, params=query))
            )

        return await adrive(database_pages(name, per_page), fetch)

    def get_database(self, database_id: str) -> Database:
        response = self.client.transport.request("GET", self._url("/{database}", database=database_id))
        return Database.parse(unwrap_envelope(response))

    async def aget_database(self, database_id: str) -> Database:
        url = self._url("/{database}", database=database_id)
        return Database.parse(unwrap_envelope(await self.client.transport.arequest("GET", url)))

    def delete_database(self, database_id: str) -> None:
        url = self._url("/{database}", database=database_id)
        unwrap_envelope(self.client.transport.request("DELETE", url))

    async def adelete_database(self, database_id: str) -> None:
        url = self._url("/{database}", database=database_id)
        unwrap_envelope(await self.client.transport.arequest("DELETE", url))

    # -- queries ----------------------------------------------------------------------------------
    def query(
        self, database_id: str, sql: str, params: Sequence[Param] = (), *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        """Run ``sql`` with ``params`` bound to its ``?`` placeholders: one result per statement.
        ``retry`` overrides the retries chosen by what the statement does (see the class)."""
        return self.batch(database_id, [Statement(sql, tuple(params))], retry=retry)

    async def aquery(
        self, database_id: str, sql: str, params: Sequence[Param] = (), *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        return await self.abatch(database_id, [Statement(sql, tuple(params))], retry=retry)

    def batch(
        self, database_id: str, statements: Sequence[StatementLike], *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        """Run statements in order in one request (one transaction); one result per statement."""
        url, body = self._query_request(database_id, statements, raw=False)
        response = self.client.transport.request("POST", url, json=body, retry=_retry(statements, retry))
        return QueryResult.parse_all(unwrap_envelope(response))

    async def abatch(
        self, database_id: str, statements: Sequence[StatementLike], *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        url, body = self._query_request(database_id, statements, raw=False)
        response = await self.client.transport.arequest(
            "POST", url, json=body, retry=_retry(statements, retry)
        )
        return QueryResult.parse_all(unwrap_envelope(response))

    def raw(
        self, database_id: str, sql: str, params: Sequence[Param] = (), *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        """:meth:`query` through ``/raw``: rows as arrays, their names in ``QueryResult.columns``."""
        statements = [Statement(sql, tuple(params))]
        url, body = self._query_request(database_id, statements, raw=True)
        response = self.client.transport.request("POST", url, json=body, retry=_retry(statements, retry))
        return QueryResult.parse_all(unwrap_envelope(response), as_arrays=True)

    async def araw(
        self, database_id: str, sql: str, params: Sequence[Param] = (), *, retry: RetryMode | None = None
    ) -> list[QueryResult]:
        statements = [Statement(sql, tuple(params))]
        url, body = self._query_request(database_id, statements, raw=True)
        response = await self.client.transport.arequest(
            "POST", url, json=body, retry=_retry(statements, retry)
        )
        return QueryResult.parse_all(unwrap_envelope(response), as_arrays=True)


def database_pages(
    name: str | None, per_page: int
) -> Generator[dict[str, Any], list[Database], list[Database]]:
    """Every database the listing holds (or those named ``name``), page by page
    (:func:`~workersai.flows.numbered_pages`)."""
    check_per_page(per_page)
    query = {"name": name} if name is not None else {}
    return numbered_pages(query, per_page, lambda d: d.uuid, "D1 database list")


DUPLICATE_NAME = 7502
"""The API's code for a taken database name: wrangler turns "[code: 7502]" into "A database with that
name already exists" (cloudflare/workers-sdk#2143)."""


def _taken_by_a_lost_attempt(exc: WorkersAIError) -> bool:
    """A create refused for a taken name after an earlier attempt of it lost its answer."""
    taken = exc.code == DUPLICATE_NAME or "already exists" in exc.message.lower()
    return taken and exc.after_lost_answer


def _the_one_named(name: str, found: list[Database], refusal: WorkersAIError) -> Database:
    """The database the lost attempt created: the only one named ``name`` (else the refusal stands)."""
    named = [d for d in found if d.name == name]
    if len(named) != 1:
        raise refusal
    return named[0]


def _retry(statements: Sequence[StatementLike], retry: RetryMode | None) -> RetryMode:
    if retry is not None and not (isinstance(retry, bool) or retry == "unsent"):
        raise BadInput(f'retry must be True, False or "unsent", got {retry!r}')
    return retry_mode([_statement(s) for s in statements], retry)


def _name(name: str) -> str:
    if not isinstance(name, str) or not name.strip():
        raise BadInput("a D1 database needs a name")
    return name
