"""The Vectorize mutation worker never dies: a mutation that cannot be applied is recorded as failed
(in ``info`` and the log) and dropped, memory follows only what SQLite committed, and later writes go on
(issue #12.6)."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from workersai.local.vectorize_store import VectorizeStore

ACCOUNT = "acct"


def wait_for(store: VectorizeStore, name: str, mutation: str, timeout: float = 5.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        info = store.info(ACCOUNT, name)
        if info["processedUpToMutation"] == mutation:
            return info
        assert time.monotonic() < deadline, f"mutation {mutation} never applied; info {info}"
        time.sleep(0.005)


def vec(vid: str, dims: int = 3, metadata: Any = None) -> dict[str, Any]:
    return {"id": vid, "values": [0.5] * dims, "metadata": metadata}


@pytest.fixture
def store() -> Iterator[VectorizeStore]:
    s = VectorizeStore(None, mutation_delay_ms=0)
    s.create_index(ACCOUNT, "w", 3, "cosine", None)
    yield s
    s.close()


def wrong_size_upsert(store: VectorizeStore, name: str) -> str:
    """What an upsert racing a delete + re-create at other dimensions leaves in the queue: a blob made
    for 4 dimensions, queued for an index of 3."""
    blob = np.zeros((1, 4), dtype=np.float32).tobytes()
    return store._enqueue(
        ACCOUNT, name, "upsert", [{"id": "poison", "metadata": None, "namespace": None}], blob
    )


def test_a_mutation_that_cannot_be_applied_is_recorded_and_later_writes_go_on(store: VectorizeStore) -> None:
    poisoned = wrong_size_upsert(store, "w")
    good = store.write(ACCOUNT, "w", "upsert", [vec("a")])
    info = wait_for(store, "w", good)
    assert info["vectorCount"] == 1
    assert info["failedMutations"] == 1
    assert info["lastFailure"]["mutationId"] == poisoned
    assert [v["id"] for v in store.get_by_ids(ACCOUNT, "w", ["a", "poison"])] == ["a"]
    assert store._worker.is_alive()
    # ...and the worker keeps going for every index, not just this one.
    store.create_index(ACCOUNT, "other", 2, "cosine", None)
    wait_for(store, "other", store.write(ACCOUNT, "other", "insert", [vec("b", dims=2)]))


def test_the_racing_write_itself_is_refused_under_the_lock(store: VectorizeStore) -> None:
    store.delete_index(ACCOUNT, "w")
    store.create_index(ACCOUNT, "w", 4, "cosine", None)
    with pytest.raises(Exception) as info:
        store.write(ACCOUNT, "w", "upsert", [vec("a", dims=3)])
    assert getattr(info.value, "code", None) == 40012


def test_a_failed_mutation_is_not_replayed_after_a_restart(tmp_path: Path) -> None:
    first = VectorizeStore(tmp_path, mutation_delay_ms=60_000)  # nothing is applied before the restart
    first.create_index(ACCOUNT, "w", 3, "cosine", None)
    poisoned = wrong_size_upsert(first, "w")
    good = first.write(ACCOUNT, "w", "upsert", [vec("a")])
    first.close()

    second = VectorizeStore(tmp_path, mutation_delay_ms=0)
    info = wait_for(second, "w", good)
    assert (info["vectorCount"], info["failedMutations"]) == (1, 1)
    assert info["lastFailure"]["mutationId"] == poisoned
    second.close()

    third = VectorizeStore(tmp_path, mutation_delay_ms=0)
    assert third._db.execute("SELECT COUNT(*) FROM mutations").fetchone()[0] == 0
    later = third.write(ACCOUNT, "w", "upsert", [vec("b")])
    assert wait_for(third, "w", later)["vectorCount"] == 2
    third.close()


class FailingCommits:
    """A connection whose next ``failures`` COMMITs fail as on a full disk."""

    def __init__(self, db: sqlite3.Connection, failures: int) -> None:
        self.db, self.failures = db, failures

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.failures > 0:
            self.failures -= 1
            raise sqlite3.OperationalError("database or disk is full")
        return self.db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)


def test_a_failed_commit_leaves_memory_as_committed(store: VectorizeStore) -> None:
    store.create_metadata_index(ACCOUNT, "w", "k", "string")
    wait_for(store, "w", store.write(ACCOUNT, "w", "upsert", [vec("kept", metadata={"k": "x"})]))
    with store._lock:
        store._db = FailingCommits(store._db, failures=1)  # type: ignore[assignment]
    lost = store.write(ACCOUNT, "w", "upsert", [vec("lost", metadata={"k": "x"})])
    info = wait_for(store, "w", lost)
    assert (info["vectorCount"], info["failedMutations"]) == (1, 1)
    # Memory agrees with SQLite: the vector whose commit failed is nowhere.
    assert [v["id"] for v in store.get_by_ids(ACCOUNT, "w", ["kept", "lost"])] == ["kept"]
    found = store.query(ACCOUNT, "w", [0.5, 0.5, 0.5], 10, False, "none", {"k": "x"}, None)
    assert [m["id"] for m in found["matches"]] == ["kept"]
    # Later writes go on.
    later = store.delete_ids(ACCOUNT, "w", ["kept"])
    assert wait_for(store, "w", later)["vectorCount"] == 0
    assert store.get_by_ids(ACCOUNT, "w", ["kept"]) == []


def test_when_even_the_failure_cannot_be_recorded_the_mutation_is_tried_again(store: VectorizeStore) -> None:
    with store._lock:
        store._db = FailingCommits(store._db, failures=2)  # type: ignore[assignment]
    mutation = store.write(ACCOUNT, "w", "upsert", [vec("a")])
    info = wait_for(store, "w", mutation, timeout=10)
    assert (info["vectorCount"], info["failedMutations"]) == (1, 0)
    assert [v["id"] for v in store.get_by_ids(ACCOUNT, "w", ["a"])] == ["a"]
