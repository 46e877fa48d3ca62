"""The Batch API benchmark (benchmarks/batch_api.py) run with a small N against the session emulator:
both paths give the same vectors, the direct path sends a request per 100 texts and the Batch API
one submission and then polls, and the table prints one row per path."""

from __future__ import annotations

import pytest

from benchmarks.batch_api import compare, table
from workersai.local import LocalEmulator

MODEL = "@cf/baai/bge-small-en-v1.5"


def test_the_batch_api_row_with_a_small_n(emulator: LocalEmulator) -> None:
    rows = compare(emulator.client, 300, poll_interval=0.05, warm=False, model=MODEL)
    direct, batch = rows
    assert len(batch.vectors) == 300 and direct.vectors == batch.vectors
    assert direct.requests == 3, [str(r.url) for r in direct.sent]  # 100 texts a request
    # One submission (300 texts in 3 requests of 100), then only polls, however many the wait took.
    bodies = [r.content for r in batch.sent]
    assert sum(b'"requests"' in b for b in bodies) == 1
    assert all(b'"request_id"' in b for b in bodies[1:]) and batch.requests >= 2
    assert direct.neurons == pytest.approx(batch.neurons)  # summed in another order
    printed = table(300, rows, MODEL)
    assert "| Batch API (embed_batch) |" in printed and "| direct (embed) |" in printed
