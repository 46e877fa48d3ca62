"""D1 statements that may write are sent again only when they cannot have run (issue #25, item 6).

A lost answer (the emulator's ``reset-after``: the statement ran, then the connection dropped) must not
make ``UPDATE counter SET n = n + 1`` run twice; reads keep full retries; ``retry=`` overrides."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from workersai import APIConnectionError, BadInput, CapacityExceeded, ServerError, WorkersAI
from workersai.d1 import Statement, is_read_only
from workersai.local import LocalEmulator


@pytest.fixture
def counter(client: WorkersAI, emulator: LocalEmulator) -> Iterator[str]:
    created = client.d1.create_database(f"counter-{uuid.uuid4().hex[:8]}")
    client.d1.batch(created.uuid, ["CREATE TABLE counter (n INTEGER)", "INSERT INTO counter VALUES (0)"])
    yield created.uuid
    emulator.clear_faults()
    client.d1.delete_database(created.uuid)


def _count(client: WorkersAI, database: str) -> int:
    return int(client.d1.query(database, "SELECT n FROM counter")[0].results[0]["n"])


def _lose_next_answer(emulator: LocalEmulator) -> int:
    """The next request runs, then its connection drops; the lost answers counted so far."""
    return int(emulator.set_faults(error="reset-after", fail_next=1, scope="all")["lost_answers"])


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_an_update_whose_answer_was_lost_ran_once(
    client: WorkersAI, emulator: LocalEmulator, counter: str, use_async: bool
) -> None:
    lost = _lose_next_answer(emulator)
    with pytest.raises(APIConnectionError) as caught:
        if use_async:
            asyncio.run(client.d1.aquery(counter, "UPDATE counter SET n = n + 1"))
        else:
            client.d1.query(counter, "UPDATE counter SET n = n + 1")
    assert caught.value.request_sent and caught.value.attempts == 1
    assert emulator.clear_faults()["lost_answers"] == lost + 1
    assert _count(client, counter) == 1  # ran once: a resend would have made it 2


def test_a_batch_with_one_write_is_a_write(client: WorkersAI, emulator: LocalEmulator, counter: str) -> None:
    _lose_next_answer(emulator)
    with pytest.raises(APIConnectionError):
        client.d1.batch(counter, ["SELECT n FROM counter", "UPDATE counter SET n = n + 1"])
    assert _count(client, counter) == 1


def test_a_write_refused_before_it_ran_is_sent_again(
    client: WorkersAI, emulator: LocalEmulator, counter: str
) -> None:
    emulator.set_faults(error="3040", fail_next=2, scope="all")  # 429: refused before any work
    client.d1.query(counter, "UPDATE counter SET n = n + 1")
    assert _count(client, counter) == 1
    emulator.set_faults(error="500", fail_next=1, scope="all")  # may have run: not sent again
    with pytest.raises(ServerError):
        client.d1.query(counter, "UPDATE counter SET n = n + 1")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_read_whose_answer_was_lost_is_retried(
    client: WorkersAI, emulator: LocalEmulator, counter: str, use_async: bool
) -> None:
    lost = _lose_next_answer(emulator)
    sql = "SELECT n FROM counter"
    rows = asyncio.run(client.d1.araw(counter, sql)) if use_async else client.d1.raw(counter, sql)
    assert rows[0].results == [[0]]
    assert emulator.clear_faults()["lost_answers"] == lost + 1


def test_the_caller_may_retry_an_idempotent_write_fully(
    client: WorkersAI, emulator: LocalEmulator, counter: str
) -> None:
    lost = _lose_next_answer(emulator)
    written = client.d1.query(counter, "UPDATE counter SET n = ?", [7], retry=True)
    assert written[0].changes == 1
    assert emulator.clear_faults()["lost_answers"] == lost + 1 and _count(client, counter) == 7
    emulator.set_faults(error="3040", fail_next=1, scope="all")
    with pytest.raises(CapacityExceeded) as once:
        client.d1.query(counter, "SELECT n FROM counter", retry=False)
    assert once.value.attempts == 1  # a read, but the caller said: send once
    with pytest.raises(BadInput, match="retry must be"):
        client.d1.query(counter, "SELECT 1", retry="twice")  # type: ignore[arg-type]


def test_the_text_store_keeps_full_retries(client: WorkersAI, emulator: LocalEmulator, counter: str) -> None:
    """Its statements are idempotent (INSERT OR REPLACE, DELETE by id): a lost answer is retried."""
    from workersai.vectorize import TextStore

    store = TextStore(client.d1, counter, "idx")
    rows = TextStore.rows(["a"], ["alpha"])
    _lose_next_answer(emulator)
    store.put(rows)
    assert store.get([(vid, digest) for vid, digest, _ in rows]) == {"a": "alpha"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT n FROM counter",
        "  select * from t where a = ?;  ",
        "-- a comment\n/* and another */ SELECT 1",
        "VALUES (1), (2)",
        "EXPLAIN QUERY PLAN SELECT * FROM t",
        "EXPLAIN UPDATE t SET n = 1",
        "PRAGMA table_list",
        "PRAGMA table_info(counter)",
        "pragma main.index_list('t');",
    ],
)
def test_statements_that_surely_only_read(sql: str) -> None:
    assert is_read_only(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "UPDATE counter SET n = n + 1",
        "INSERT INTO t VALUES (1)",
        "DELETE FROM t",
        "REPLACE INTO t VALUES (1)",
        "CREATE TABLE t (a)",
        "WITH x AS (SELECT 1) DELETE FROM t",
        "SELECT 1; DELETE FROM t",
        "SELECT 1; -- then\nDELETE FROM t",
        "SELECT ';'",  # a ';' in a literal is not parsed: counted as a write (conservative)
        "PRAGMA foreign_keys = ON",
        "PRAGMA optimize",
        "PRAGMA table_info(t); DELETE FROM t",
        "/* SELECT */ UPDATE t SET n = 1",
        "SELECTED",
        "",
    ],
)
def test_anything_else_counts_as_a_write(sql: str) -> None:
    assert not is_read_only(sql)


def test_statement_objects_and_tuples_are_classified_too(
    client: WorkersAI, emulator: LocalEmulator, counter: str
) -> None:
    _lose_next_answer(emulator)
    with pytest.raises(APIConnectionError):
        client.d1.batch(counter, [Statement("UPDATE counter SET n = n + ?", (1,))])
    _lose_next_answer(emulator)
    with pytest.raises(APIConnectionError):
        client.d1.batch(counter, [("UPDATE counter SET n = n + ?", (1,))])
    assert _count(client, counter) == 2
