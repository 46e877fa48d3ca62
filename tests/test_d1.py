"""The D1 client (``client.d1``) and the text store over HTTP against the emulator."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from workersai import BadInput, NotFound, WorkersAI
from workersai.d1 import MAX_BOUND_PARAMETERS, Statement
from workersai.vectorize import TextStore

from .conftest import RequestLog


@pytest.fixture
def database(client: WorkersAI) -> Iterator[str]:
    created = client.d1.create_database(f"test-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    client.d1.delete_database(created.uuid)


def test_databases_are_created_listed_read_and_deleted(client: WorkersAI) -> None:
    name = f"crud-{uuid.uuid4().hex[:8]}"
    created = client.d1.create_database(name)
    assert created.name == name and created.num_tables == 0
    assert [d.uuid for d in client.d1.list_databases(name)] == [created.uuid]
    assert created.uuid in {d.uuid for d in client.d1.list_databases(per_page=1)}  # every page is read
    assert client.d1.get_database(created.uuid).name == name
    client.d1.delete_database(created.uuid)
    with pytest.raises(NotFound) as caught:
        client.d1.get_database(created.uuid)
    assert caught.value.code == 7404
    assert client.d1.list_databases(name) == []


def test_query_binds_params_and_batches_run_in_order(client: WorkersAI, database: str) -> None:
    client.d1.query(database, "CREATE TABLE t (id TEXT PRIMARY KEY, n INTEGER)")
    written = client.d1.batch(
        database,
        [
            Statement("INSERT INTO t VALUES (?, ?)", ("a", 1)),
            ("INSERT INTO t VALUES (?, ?)", ("b", 2)),
            "UPDATE t SET n = n * 10",
        ],
    )
    assert [r.changes for r in written] == [1, 1, 2]
    rows = client.d1.query(database, "SELECT id, n FROM t WHERE n >= ? ORDER BY id", [10])
    assert rows[0].results == [{"id": "a", "n": 10}, {"id": "b", "n": 20}]
    raw = client.d1.raw(database, "SELECT id FROM t ORDER BY id")
    assert raw[0].columns == ["id"] and raw[0].results == [["a"], ["b"]]


def test_an_invalid_statement_is_bad_input_with_sqlites_message(client: WorkersAI, database: str) -> None:
    with pytest.raises(BadInput, match="no such table: nowhere") as caught:
        client.d1.query(database, "SELECT * FROM nowhere")
    assert caught.value.status == 400 and caught.value.code == 7500


def test_limits_are_checked_before_sending(client: WorkersAI, request_log: RequestLog) -> None:
    with pytest.raises(BadInput, match="at most 100"):
        client.d1.query("any", "SELECT 1", ["x"] * (MAX_BOUND_PARAMETERS + 1))
    with pytest.raises(BadInput, match="100000"):
        client.d1.query("any", "SELECT 1" + " " * 100_000)
    assert request_log.requests == []


def test_a_string_over_a_million_bytes_is_refused_before_sending(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    """D1's "Maximum string, BLOB or table row size" is 1,000,000 bytes (d1/platform/limits/)."""
    created = logged_client.d1.create_database(f"big-{uuid.uuid4().hex[:8]}")
    try:
        request_log.requests.clear()
        with pytest.raises(BadInput, match="1000001 bytes"):
            logged_client.d1.query(created.uuid, "SELECT length(?)", ["é" * 500_000 + "x"])  # 2 bytes each
        assert request_log.requests == []
        found = logged_client.d1.query(created.uuid, "SELECT length(?) AS n", ["x" * 1_000_000])
        assert found[0].results == [{"n": 1_000_000}]
    finally:
        logged_client.d1.delete_database(created.uuid)


async def test_async_twins(client: WorkersAI) -> None:
    created = await client.d1.acreate_database(f"async-{uuid.uuid4().hex[:8]}")
    try:
        await client.d1.aquery(created.uuid, "CREATE TABLE t (v TEXT)")
        await client.d1.abatch(created.uuid, [("INSERT INTO t VALUES (?)", ("x",))])
        assert (await client.d1.aquery(created.uuid, "SELECT v FROM t"))[0].results == [{"v": "x"}]
        assert (await client.d1.araw(created.uuid, "SELECT v FROM t"))[0].results == [["x"]]
        assert (await client.d1.aget_database(created.uuid)).num_tables == 1
        assert [d.uuid for d in await client.d1.alist_databases(created.name)] == [created.uuid]
    finally:
        await client.d1.adelete_database(created.uuid)


def test_text_store_keeps_many_and_long_texts_within_d1s_limits(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    created = logged_client.d1.create_database(f"texts-{uuid.uuid4().hex[:8]}")
    try:
        texts = TextStore(logged_client.d1, created.uuid, "my-index")
        ids = [f"id-{i}" for i in range(230)]
        values = [f"text {i} " + "長" * (i * 40) for i in range(230)]  # up to ~27 KB each, ~3 MB in all
        rows = texts.rows(ids, values)
        keys = [(vid, digest) for vid, digest, _ in rows]
        request_log.requests.clear()
        texts.put(rows)
        assert len(request_log.requests) >= 3  # ~1 MB per request
        request_log.requests.clear()
        assert texts.get([*keys, ("absent", "0" * 32)]) == dict(zip(ids, values, strict=True))
        assert len(request_log.requests) == 1  # one request, statements of at most 100 parameters
        texts.delete(ids[:150])
        assert sorted(texts.get(keys)) == sorted(ids[150:])
        with pytest.raises(BadInput, match="1,000,000 bytes"):
            texts.rows(["huge"], ["x" * 1_000_001])
    finally:
        logged_client.d1.delete_database(created.uuid)


async def test_text_store_async(client: WorkersAI) -> None:
    created = await client.d1.acreate_database(f"atexts-{uuid.uuid4().hex[:8]}")
    try:
        texts = TextStore(client.d1, created.uuid, "other-index")
        rows = texts.rows(["a", "b"], ["alpha", "beta"])
        await texts.aput(rows)
        keys = [(vid, digest) for vid, digest, _ in rows]
        assert await texts.aget(keys) == {"a": "alpha", "b": "beta"}
        await texts.adelete(["a"])
        assert await texts.aget(keys) == {"b": "beta"}
        tables = await client.d1.aquery(
            created.uuid, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
        )
        assert tables[0].results == [
            {"name": "vectorize_text_versions_other-index"},
            {"name": "vectorize_texts_other-index"},  # texts kept before versions, read by id
        ]
    finally:
        await client.d1.adelete_database(created.uuid)
