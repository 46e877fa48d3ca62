"""The emulator's D1 REST API over raw HTTP (no client code in the request path)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}/d1"
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture
def database(http: httpx.Client) -> Iterator[str]:
    created = http.post("/database", json={"name": f"routes-{uuid.uuid4().hex[:8]}"}).json()["result"]
    yield created["uuid"]
    http.delete(f"/database/{created['uuid']}")


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["success"] is True, body
    return body["result"]


def refused(response: httpx.Response, status: int, code: int) -> str:
    body = response.json()
    assert response.status_code == status and body["success"] is False, body
    assert body["errors"][0]["code"] == code, body
    return str(body["errors"][0]["message"])


def test_create_list_get_delete(http: httpx.Client) -> None:
    name = f"crud-{uuid.uuid4().hex[:8]}"
    created = ok(http.post("/database", json={"name": name}))
    assert created["name"] == name and created["num_tables"] == 0
    assert [d["uuid"] for d in ok(http.get("/database", params={"name": name}))] == [created["uuid"]]
    refused(http.post("/database", json={"name": name}), 400, 7502)
    assert ok(http.get(f"/database/{created['uuid']}"))["name"] == name
    assert ok(http.delete(f"/database/{created['uuid']}")) is None
    refused(http.get(f"/database/{created['uuid']}"), 404, 7404)
    assert ok(http.get("/database", params={"name": name})) == []


def test_list_is_paged(http: httpx.Client) -> None:
    prefix = f"paged-{uuid.uuid4().hex[:6]}"
    ids = [ok(http.post("/database", json={"name": f"{prefix}-{i}"}))["uuid"] for i in range(3)]
    try:
        mine = set(ids)
        seen: list[str] = []
        for page in (1, 2, 3, 4, 5, 6):
            body = http.get("/database", params={"page": page, "per_page": 1}).json()
            assert body["result_info"]["per_page"] == 1
            seen += [d["uuid"] for d in body["result"] if d["uuid"] in mine]
        assert sorted(seen) == sorted(ids)
    finally:
        for database_id in ids:
            http.delete(f"/database/{database_id}")


def test_query_binds_params_and_reports_meta(http: httpx.Client, database: str) -> None:
    ok(
        http.post(
            f"/database/{database}/query", json={"sql": "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)"}
        )
    )
    written = ok(
        http.post(
            f"/database/{database}/query",
            json={"sql": "INSERT INTO t VALUES (?, ?), (?, ?)", "params": ["a", 1, "b", 2]},
        )
    )
    assert written[0]["meta"]["changes"] == 2 and written[0]["meta"]["rows_written"] == 2
    rows = ok(
        http.post(
            f"/database/{database}/query",
            json={"sql": "SELECT * FROM t WHERE n > ? ORDER BY id", "params": [0]},
        )
    )
    assert rows[0]["results"] == [{"id": "a", "n": 1}, {"id": "b", "n": 2}]
    raw = ok(http.post(f"/database/{database}/raw", json={"sql": "SELECT id, n FROM t ORDER BY id"}))
    assert raw[0]["results"] == {"columns": ["id", "n"], "rows": [["a", 1], ["b", 2]]}
    assert ok(http.get(f"/database/{database}"))["num_tables"] == 1


def test_semicolons_split_statements_but_not_strings(http: httpx.Client, database: str) -> None:
    sql = "CREATE TABLE s (v TEXT); INSERT INTO s VALUES ('a;b'); SELECT v FROM s;"
    results = ok(http.post(f"/database/{database}/query", json={"sql": sql}))
    assert len(results) == 3 and results[2]["results"] == [{"v": "a;b"}]


def test_a_batch_is_one_transaction(http: httpx.Client, database: str) -> None:
    ok(http.post(f"/database/{database}/query", json={"sql": "CREATE TABLE b (id TEXT PRIMARY KEY)"}))
    batch = [
        {"sql": "INSERT INTO b VALUES (?)", "params": ["kept-only-if-all-pass"]},
        {"sql": "INSERT INTO missing VALUES (?)", "params": ["x"]},
    ]
    message = refused(http.post(f"/database/{database}/query", json={"batch": batch}), 400, 7500)
    assert "no such table: missing" in message and "SQLITE_ERROR" in message
    assert ok(http.post(f"/database/{database}/query", json={"sql": "SELECT count(*) AS n FROM b"}))[0][
        "results"
    ] == [{"n": 0}]
    ok(http.post(f"/database/{database}/query", json={"batch": batch[:1]}))
    assert ok(http.post(f"/database/{database}/query", json={"sql": "SELECT id FROM b"}))[0]["results"] == [
        {"id": "kept-only-if-all-pass"}
    ]


def test_the_limits_of_d1(http: httpx.Client, database: str) -> None:
    placeholders = ",".join("?" * 101)
    message = refused(
        http.post(
            f"/database/{database}/query", json={"sql": f"SELECT {placeholders}", "params": list(range(101))}
        ),
        400,
        7500,
    )
    assert "too many SQL variables" in message
    hundred = ",".join("?" * 100)
    assert ok(
        http.post(
            f"/database/{database}/query", json={"sql": f"SELECT {hundred}", "params": list(range(100))}
        )
    )
    too_long = "SELECT 1" + " " * 100_000
    refused(http.post(f"/database/{database}/query", json={"sql": too_long}), 400, 7500)
    refused(http.post(f"/database/{database}/query", json={"sql": "SELEC 1"}), 400, 7500)
    refused(
        http.post(f"/database/{database}/query", json={"sql": "SELECT ?", "params": [{"a": 1}]}), 400, 7500
    )
    refused(http.post("/database/no-such-database/query", json={"sql": "SELECT 1"}), 404, 7404)


def test_columns_function_arguments_and_like_patterns_are_limited(http: httpx.Client, database: str) -> None:
    """100 columns per table, 32 arguments per SQL function, LIKE / GLOB patterns of 50 bytes
    (developers.cloudflare.com/d1/platform/limits/)."""

    def query(sql: str, params: list[Any] | None = None) -> httpx.Response:
        return http.post(f"/database/{database}/query", json={"sql": sql, "params": params or []})

    columns = ", ".join(f"c{i} INTEGER" for i in range(101))
    assert "too many columns" in refused(query(f"CREATE TABLE wide ({columns})"), 400, 7500)
    ok(query(f"CREATE TABLE wide ({', '.join(f'c{i} INTEGER' for i in range(100))})"))
    assert "too many arguments" in refused(query(f"SELECT max({', '.join(['1'] * 33)})"), 400, 7500)
    ok(query(f"SELECT max({', '.join(['1'] * 32)})"))
    assert "pattern too complex" in refused(query("SELECT 'a' LIKE ?", ["%" + "a" * 50]), 400, 7500)
    ok(query("SELECT 'a' LIKE ?", ["a" * 50]))


def test_auth_is_required(emulator: LocalEmulator) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/d1/database"
    refused(httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401, 10000)


def test_the_official_sdk_reads_the_emulators_answers(emulator: LocalEmulator) -> None:
    # Cloudflare's own generated client (cloudflare-python), independent of ours, parses every answer.
    cloudflare = pytest.importorskip("cloudflare")
    cf = cloudflare.Cloudflare(api_token=emulator.token, base_url=emulator.base_url, max_retries=0)
    account = emulator.account_id
    name = f"sdk-{uuid.uuid4().hex[:8]}"
    created = cf.d1.database.create(account_id=account, name=name)
    try:
        sql = "CREATE TABLE t (v TEXT); INSERT INTO t VALUES (?); SELECT v FROM t"
        with pytest.raises(cloudflare.BadRequestError):  # params with several statements
            cf.d1.database.query(created.uuid, account_id=account, sql=sql, params=["a"])
        cf.d1.database.query(created.uuid, account_id=account, sql="CREATE TABLE t (v TEXT)")
        cf.d1.database.query(created.uuid, account_id=account, sql="INSERT INTO t VALUES (?)", params=["a"])
        rows = list(cf.d1.database.query(created.uuid, account_id=account, sql="SELECT v FROM t"))
        assert rows[0].results == [{"v": "a"}] and rows[0].meta.rows_read == 1
        raw = list(cf.d1.database.raw(created.uuid, account_id=account, sql="SELECT v FROM t"))
        assert raw[0].results.columns == ["v"] and raw[0].results.rows == [["a"]]
        assert created.uuid in [d.uuid for d in cf.d1.database.list(account_id=account, name=name)]
        assert cf.d1.database.get(created.uuid, account_id=account).num_tables == 1
        with pytest.raises(cloudflare.BadRequestError, match="7500"):
            cf.d1.database.query(created.uuid, account_id=account, sql="SELEC 1")
    finally:
        cf.d1.database.delete(created.uuid, account_id=account)
    with pytest.raises(cloudflare.NotFoundError):
        cf.d1.database.get(created.uuid, account_id=account)
