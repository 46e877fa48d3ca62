"""The ingestion job: the requests it sent (embedding batches, one write), and what it does when the
service is busy."""

from __future__ import annotations

import pytest
from app.ingest import EMBEDDING_MODEL, ingest

from workersai import CapacityExceeded


def test_texts_go_in_batches(workersai_emulator, workersai_client, index_name):
    texts = [f"passage number {i}" for i in range(25)]
    assert ingest(workersai_client, index_name, texts, batch_size=10) == 25
    batches = workersai_emulator.requests(model=EMBEDDING_MODEL)
    assert sorted(len(r["body"]["text"]) for r in batches) == [5, 10, 10]
    assert all(r["status"] == 200 for r in batches)
    [write] = workersai_emulator.requests(path="*/upsert")
    assert write["body"].count("\n") == 25  # NDJSON, one vector a line


@pytest.mark.workersai_capacity_errors(EMBEDDING_MODEL, times=2)
def test_capacity_errors_are_retried(workersai_emulator, workersai_client, index_name):
    assert ingest(workersai_client, index_name, ["one", "two"]) == 2
    statuses = [r["status"] for r in workersai_emulator.requests(model=EMBEDDING_MODEL)]
    assert statuses == [429, 429, 200]


def test_a_model_that_stays_busy_fails_the_job(workersai_faults, workersai_client, index_name):
    workersai_faults.capacity_errors(EMBEDDING_MODEL)  # every request, until the test ends
    with pytest.raises(CapacityExceeded):
        ingest(workersai_client.with_options(max_retries=1), index_name, ["one"])
