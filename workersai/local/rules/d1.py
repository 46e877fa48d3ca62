"""D1's rules as the service states them (its REST API and limits), for the emulator's D1 routes.

Sources (read 2026-11-28):

- API reference, D1 > Database (developers.cloudflare.com/api/resources/d1/subresources/database/
  methods/create, list, get, delete, query, raw): create takes ``{"name"}``; list takes ``name``,
  ``page``, ``per_page``; query and raw take ``{"sql", "params"}`` or ``{"batch": [{"sql",
  "params"}]}``; ``sql`` "supports multiple statements, joined by semicolons, which will be executed
  as a batch"; each statement answers ``{"results", "success", "meta"}``.
- Limits (developers.cloudflare.com/d1/platform/limits/): 100 bound parameters per query, SQL
  statements of at most 100,000 bytes, strings, BLOBs and rows of at most 1,000,000 bytes, 100 columns
  per table, 32 arguments per SQL function, LIKE / GLOB patterns of at most 50 bytes. These are set as
  SQLite's own limits on each database (``SQLITE_LIMIT_VARIABLE_NUMBER``, ``SQLITE_LIMIT_SQL_LENGTH``,
  ``SQLITE_LIMIT_LENGTH``, ``SQLITE_LIMIT_COLUMN``, ``SQLITE_LIMIT_FUNCTION_ARG``,
  ``SQLITE_LIMIT_LIKE_PATTERN_LENGTH``), as workerd does for the variable number, so SQLite itself
  refuses what D1 refuses, with SQLite's message.
- Changelog 2024-04-15 ("HTTP API now returns a HTTP 400 error for invalid queries") and answers seen
  from the service (``{"code": 7500, "message": "no such table: x: SQLITE_ERROR"}``, status 400): an
  invalid statement is 400 with code 7500 and SQLite's message followed by its result code's name.
- Batches (developers.cloudflare.com/d1/worker-api/d1-database/#batch): "Batched statements are SQL
  transactions": a failing statement rolls the whole batch back.
- What user SQL may do (:func:`authorize`, an SQLite authorizer, as workerd runs D1's SQL under one:
  cloudflare/workerd#2866, ``src/workerd/util/sqlite.c++``): the PRAGMAs of "Compatible PRAGMA
  statements" (developers.cloudflare.com/d1/sql-api/sql-statements/, the partial
  ``d1/use-pragma-statements.mdx``) and no other; no ``ATTACH`` / ``DETACH`` (so no ``VACUUM``, which
  SQLite authorizes as an attach of its target file); no transaction control (``BEGIN``, ``COMMIT``,
  ``ROLLBACK``, ``SAVEPOINT``, ``RELEASE``: "To execute a transaction, please use the
  state.storage.transaction() API instead of the SQL BEGIN TRANSACTION or SAVEPOINT statements",
  nuxt-hub/core#81); no ``load_extension``. The service answers each with SQLite's own
  ``not authorized`` and its code's name: ``D1_ERROR: not authorized: SQLITE_AUTH``
  (cloudflare/workers-sdk#8663, bknd-io/bknd#117), here 400/7500 like any refused statement.

Not documented by the service, chosen here (and why):

- an unknown database is 404 with code 7404 ("database not found"), the code client libraries' tests
  record for it; the API reference gives no code;
- a second database with a taken name is 400 with code 7502 and wrangler's message ("A database with
  that name already exists"): the code is not documented, the message is what wrangler prints;
- ``params`` are typed as strings in the API reference; numbers, booleans and null are bound as
  SQLite's types (clients send them), objects and arrays are refused (400, 7500): there is no SQLite
  type for them;
- ``params`` with several statements in one ``sql`` are refused (400, 7500): the reference does not
  say which statement they bind to;
- a body that is not a JSON object, a missing database name or a bad ``page`` / ``per_page`` is 400
  with code 7400 (not documented; chosen next to 7500 so the client reads it as bad input);
- ``rows_read`` is the number of rows a statement returned and ``rows_written`` the rows it changed:
  SQLite does not count scanned rows the way D1's billing does.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from . import Rejected, parse_json

MAX_BOUND_PARAMETERS = 100
MAX_SQL_BYTES = 100_000
MAX_VALUE_BYTES = 1_000_000
MAX_COLUMNS = 100
MAX_FUNCTION_ARGS = 32
MAX_LIKE_PATTERN_BYTES = 50
QUERY_ERROR = 7500
NOT_FOUND = 7404
DUPLICATE_NAME = 7502
BAD_REQUEST = 7400
ALLOWED_PRAGMAS = frozenset(
    {
        "table_list",
        "table_info",
        "table_xinfo",
        "index_list",
        "index_info",
        "index_xinfo",
        "quick_check",
        "foreign_key_check",
        "foreign_key_list",
        "case_sensitive_like",
        "ignore_check_constraints",
        "legacy_alter_table",
        "recursive_triggers",
        "reverse_unordered_selects",
        "foreign_keys",
        "defer_foreign_keys",
    }
)
"""D1's "Compatible PRAGMA statements" (developers.cloudflare.com/d1/sql-api/sql-statements/)."""
_REFUSED_ACTIONS = frozenset(
    {sqlite3.SQLITE_ATTACH, sqlite3.SQLITE_DETACH, sqlite3.SQLITE_TRANSACTION, sqlite3.SQLITE_SAVEPOINT}
)


def authorize(action: int, arg1: str | None, arg2: str | None, schema: str | None, source: str | None) -> int:
    """The SQLite authorizer user SQL runs under (``Connection.set_authorizer``): what D1 refuses is
    ``SQLITE_DENY``, so SQLite fails the statement with "not authorized" (SQLITE_AUTH) before it runs."""
    if action in _REFUSED_ACTIONS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_PRAGMA and (arg1 or "").lower() not in ALLOWED_PRAGMAS:
        return sqlite3.SQLITE_DENY
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() == "load_extension":
        return sqlite3.SQLITE_DENY
    return sqlite3.SQLITE_OK


def invalid(message: str) -> Rejected:
    """A statement or request D1 refuses: 400, code 7500."""
    return Rejected(400, QUERY_ERROR, message)


def not_found(database_id: str) -> Rejected:
    return Rejected(404, NOT_FOUND, f"The database {database_id} could not be found")


def duplicate_name(name: str) -> Rejected:
    return Rejected(400, DUPLICATE_NAME, f"A database with that name already exists: {name}")


def json_object(raw: bytes) -> dict[str, Any]:
    body = parse_json(raw, BAD_REQUEST, "D1")
    if not isinstance(body, dict):
        raise Rejected(400, BAD_REQUEST, "D1: the body must be a JSON object")
    return body


def database_name(body: dict[str, Any]) -> str:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise Rejected(400, BAD_REQUEST, "D1: 'name' is required and must be a non-empty string")
    return name


def page(value: str | None, default: int, what: str, ceiling: int | None = None) -> int:
    if value is None:
        return default
    if not value.isdigit() or int(value) < 1:
        raise Rejected(400, BAD_REQUEST, f"D1: {what} must be a positive integer")
    return min(int(value), ceiling) if ceiling else int(value)


Param = Any


def _params(raw: Any) -> list[Param]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise invalid("params must be an array")
    for value in raw:
        if isinstance(value, (dict, list)):
            raise invalid("D1_TYPE_ERROR: Type 'object' not supported for value")
    return list(raw)


def statements(body: dict[str, Any]) -> list[tuple[str, list[Param]]]:
    """The statements of a query body: ``{"sql", "params"}`` or ``{"batch": [...]}``."""
    if "batch" in body:
        batch = body["batch"]
        if not isinstance(batch, list) or not batch:
            raise invalid("batch must be a non-empty array of {sql, params}")
        return [one for item in batch for one in statements(_query_object(item))]
    sql = body.get("sql")
    if not isinstance(sql, str) or not sql.strip():
        raise invalid("sql is required")
    if len(sql.encode("utf-8", "surrogatepass")) > MAX_SQL_BYTES:
        raise invalid("statement too long: SQLITE_TOOBIG")  # the sql as sent, before any splitting
    params = _params(body.get("params"))
    parts = split_sql(sql)
    if not parts:
        raise invalid("sql holds no statement")
    if len(parts) > 1 and params:
        raise invalid("params cannot be bound to several statements in one sql")
    return [(part, params) for part in parts]


def _query_object(item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid("each batch item must be an object {sql, params}")
    return item


def split_sql(sql: str) -> list[str]:
    """``sql`` cut into statements at the semicolons that end one (not those inside quotes,
    comments or triggers): SQLite's ``sqlite3_complete`` decides where a statement ends."""
    import sqlite3

    out: list[str] = []
    current = ""
    for piece in sql.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\r\n;"):
                out.append(current.strip())
            current = ""
    rest = current[:-1].strip()  # the last piece never had a semicolon of its own
    if rest:
        out.append(rest)
    return out
