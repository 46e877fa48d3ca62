"""``embed_batch`` / ``aembed_batch`` when one batch fails (issue #25, item 11): the async twin stops the
other batches' polling, and both name the batches already queued, so a caller takes them up with
``client.batch_job`` instead of queuing (and paying for) the texts again. Faults come from the emulator."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Iterator

import pytest

from workersai import BatchResponse, DailyQuotaExceeded, WorkersAI
from workersai import batch as batch_module
from workersai.local import LocalEmulator

MODEL = "@cf/baai/bge-small-en-v1.5"
TEXTS = [f"text number {i}" for i in range(6)]  # 3 requests of 2 texts
BATCHES = 3


@pytest.fixture(autouse=True)
def _one_request_per_batch(monkeypatch: pytest.MonkeyPatch, emulator: LocalEmulator) -> Iterator[None]:
    """Each request its own batch (as texts over 10 MB would be), so that several batches are polled."""
    monkeypatch.setattr(batch_module, "pack", functools.partial(batch_module.pack, limit=1))
    emulator.hold_batches("queued")  # every batch stays queued: its poller keeps polling
    yield
    emulator.hold_batches(None)
    emulator.clear_faults()


def _queued(emulator: LocalEmulator) -> int:
    return int(emulator.hold_batches("queued")["batches"].get("queued", 0))


def _vectors(responses: list[BatchResponse]) -> list[list[float]]:
    return [v for r in responses for v in r.result["data"]]


def _fail_next_poll_once_queued(emulator: LocalEmulator, start: int) -> None:
    """Once the call has queued its batches (all of them held), its next request gets 3036 (not
    retried); the emulator is asked, never the clock, and the wait is bounded by the count of asks."""
    for _ in range(3000):
        if _queued(emulator) >= start + BATCHES:
            emulator.set_faults(error="3036", fail_next=1, scope="ai")
            return
        time.sleep(0.01)
    raise AssertionError("the batches were never queued")


def _taken_up(client: WorkersAI, emulator: LocalEmulator, ids: tuple[str, ...]) -> list[list[float]]:
    emulator.clear_faults()
    emulator.hold_batches(None)
    return [v for rid in ids for v in _vectors(client.batch_job(MODEL, rid).wait(poll_interval=0.02))]


async def test_the_first_failure_stops_the_other_pollers_and_names_the_queued_batches(
    client: WorkersAI, emulator: LocalEmulator
) -> None:
    start = _queued(emulator)
    call = asyncio.ensure_future(
        client.aembed_batch(TEXTS, model=MODEL, batch_size=2, poll_interval=0.02, timeout=600)
    )
    await asyncio.to_thread(_fail_next_poll_once_queued, emulator, start)
    with pytest.raises(DailyQuotaExceeded) as caught:
        await call
    others = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    assert others == []  # the siblings' pollers were cancelled and awaited, not left polling
    ids = caught.value.queued_request_ids
    assert len(ids) == BATCHES and len(set(ids)) == BATCHES
    assert all(rid in str(caught.value) for rid in ids) and "batch_job" in str(caught.value)
    assert _queued(emulator) == start + BATCHES  # nothing queued twice
    assert _taken_up(client, emulator, ids) == client.embed(TEXTS, model=MODEL)


def test_the_sync_twin_names_the_queued_batches(client: WorkersAI, emulator: LocalEmulator) -> None:
    start = _queued(emulator)
    raised: list[BaseException] = []

    def run() -> None:
        try:
            client.embed_batch(TEXTS, model=MODEL, batch_size=2, poll_interval=0.02, timeout=600)
        except BaseException as exc:
            raised.append(exc)

    worker = threading.Thread(target=run)
    worker.start()
    _fail_next_poll_once_queued(emulator, start)
    worker.join(timeout=120)
    assert not worker.is_alive()
    assert len(raised) == 1 and isinstance(raised[0], DailyQuotaExceeded)
    ids = raised[0].queued_request_ids
    assert len(ids) == BATCHES and all(rid in str(raised[0]) for rid in ids)
    assert _taken_up(client, emulator, ids) == client.embed(TEXTS, model=MODEL)


async def test_cancelling_the_call_cancels_every_poller(client: WorkersAI, emulator: LocalEmulator) -> None:
    start = _queued(emulator)
    call = asyncio.ensure_future(client.aembed_batch(TEXTS, model=MODEL, batch_size=2, poll_interval=0.02))
    for _ in range(3000):
        if await asyncio.to_thread(_queued, emulator) >= start + BATCHES:
            break
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert [t for t in asyncio.all_tasks() if t is not asyncio.current_task()] == []


def test_an_error_before_anything_was_queued_names_nothing(
    client: WorkersAI, emulator: LocalEmulator
) -> None:
    emulator.set_faults(error="3036", fail_next=1, scope="ai")
    with pytest.raises(DailyQuotaExceeded) as caught:
        client.embed_batch(TEXTS, model=MODEL, batch_size=2, poll_interval=0.02)
    assert caught.value.queued_request_ids == () and "batch_job" not in str(caught.value)
