"""D1 user SQL runs under D1's authorizer: nothing it runs opens a file outside the data dir (#25 item 2).

Each refused statement is answered as the service answers it: 400, code 7500, "not authorized:
SQLITE_AUTH" (cloudflare/workers-sdk#8663), and the request's other statements are rolled back.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator


@pytest.fixture(scope="module")
def root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("d1-authorizer")


@pytest.fixture(scope="module")
def http(root: Path) -> Iterator[httpx.Client]:
    with LocalEmulator(data_dir=root / "data") as emu:
        base = f"{emu.base_url}/accounts/{emu.account_id}/d1"
        headers = {"Authorization": f"Bearer {emu.token}"}
        with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
            yield client


@pytest.fixture
def database(http: httpx.Client) -> Iterator[str]:
    created = http.post("/database", json={"name": f"auth-{uuid.uuid4().hex[:8]}"}).json()["result"]
    yield created["uuid"]
    http.delete(f"/database/{created['uuid']}")


def query(http: httpx.Client, database: str, body: dict[str, Any]) -> httpx.Response:
    return http.post(f"/database/{database}/query", json=body)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["success"] is True, body
    return body["result"]


def refused(response: httpx.Response) -> str:
    body = response.json()
    assert response.status_code == 400 and body["success"] is False, body
    assert body["errors"][0]["code"] == 7500, body
    return str(body["errors"][0]["message"])


def not_authorized(response: httpx.Response) -> None:
    assert refused(response) == "not authorized: SQLITE_AUTH"


def outside_files(root: Path) -> list[str]:
    """Every file under the test's root that is not under the emulator's data dir."""
    return sorted(str(p) for p in root.rglob("*") if p.is_file() and (root / "data") not in p.parents)


def test_attach_opens_no_file_outside_the_data_dir(http: httpx.Client, database: str, root: Path) -> None:
    target = root / "outside.db"
    not_authorized(query(http, database, {"sql": f"ATTACH DATABASE '{target}' AS x"}))
    not_authorized(query(http, database, {"sql": f"ATTACH DATABASE '{target}' AS x; CREATE TABLE x.t (a)"}))
    not_authorized(query(http, database, {"sql": "DETACH DATABASE main"}))
    assert outside_files(root) == []


def test_vacuum_into_after_a_commit_copies_nothing(http: httpx.Client, database: str, root: Path) -> None:
    """A batch that ends the emulator's transaction with its own COMMIT, then copies the database out
    (VACUUM INTO runs only outside a transaction)."""
    target = root / "copy.db"
    ok(query(http, database, {"sql": "CREATE TABLE t (a)"}))
    batch = [
        {"sql": "INSERT INTO t VALUES (1)"},
        {"sql": "COMMIT"},
        {"sql": f"VACUUM INTO '{target}'"},
    ]
    not_authorized(query(http, database, {"batch": batch}))
    # Alone, SQLite refuses it before the authorizer is asked (the emulator's transaction is open).
    refused(query(http, database, {"sql": f"VACUUM INTO '{target}'"}))
    refused(query(http, database, {"sql": "VACUUM"}))
    assert outside_files(root) == []
    # The refused batch changed nothing: its INSERT was rolled back with it.
    assert ok(query(http, database, {"sql": "SELECT count(*) AS n FROM t"}))[0]["results"] == [{"n": 0}]


@pytest.mark.parametrize(
    "sql",
    [
        "BEGIN",
        "BEGIN IMMEDIATE TRANSACTION",
        "COMMIT",
        "END TRANSACTION",
        "ROLLBACK",
        "SAVEPOINT s",
        "RELEASE SAVEPOINT s",
    ],
)
def test_transaction_control_is_refused(http: httpx.Client, database: str, sql: str) -> None:
    ok(query(http, database, {"sql": "CREATE TABLE t (a)"}))
    not_authorized(query(http, database, {"batch": [{"sql": "INSERT INTO t VALUES (1)"}, {"sql": sql}]}))
    assert ok(query(http, database, {"sql": "SELECT count(*) AS n FROM t"}))[0]["results"] == [{"n": 0}]


@pytest.mark.parametrize(
    "sql",
    [
        "PRAGMA journal_mode = OFF",
        "PRAGMA writable_schema = ON",
        "PRAGMA database_list",
        "SELECT * FROM pragma_database_list",
        "PRAGMA main.page_size = 512",
        "PRAGMA temp_store_directory = '/tmp'",
    ],
)
def test_undocumented_pragmas_are_refused(http: httpx.Client, database: str, sql: str) -> None:
    not_authorized(query(http, database, {"sql": sql}))


def test_extension_loading_is_refused(http: httpx.Client, database: str) -> None:
    message = refused(query(http, database, {"sql": "SELECT load_extension('/tmp/evil.so')"}))
    assert message.startswith("not authorized"), message


def test_documented_pragmas_run(http: httpx.Client, database: str) -> None:
    ok(
        query(
            http,
            database,
            {"sql": "CREATE TABLE p (id INTEGER PRIMARY KEY); CREATE TABLE c (p REFERENCES p(id))"},
        )
    )
    for sql in (
        "PRAGMA table_list",
        'PRAGMA table_info("p")',
        "PRAGMA table_xinfo(p)",
        "PRAGMA index_list(p)",
        "PRAGMA quick_check",
        "PRAGMA foreign_key_check",
        "PRAGMA foreign_key_list(c)",
        "PRAGMA foreign_keys = on",
        "PRAGMA defer_foreign_keys = on",
        "PRAGMA case_sensitive_like = off",
        "SELECT name FROM pragma_table_info('p')",
    ):
        ok(query(http, database, {"sql": sql}))
    # The emulator's own bookkeeping (the size it reports) still runs: it is not user SQL.
    described = ok(http.get(f"/database/{database}"))
    assert described["num_tables"] == 2 and described["file_size"] > 0
