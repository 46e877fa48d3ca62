"""The Batch API through the client against the emulator over real HTTP: queue and wait (sync and
async), a job taken up by request_id from a new client, references and order kept, every status seen,
faults on polls survived, bad input refused before any request, an unknown request id as a typed
error, and bulk embedding equal to direct embedding."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from tests.conftest import RequestLog
from workersai import (
    BadInput,
    BatchJob,
    BatchNotFound,
    BatchTimeout,
    RequestTooLarge,
    RetryPolicy,
    WorkersAI,
)
from workersai.local import LocalEmulator

MODEL = "@cf/baai/bge-small-en-v1.5"
REQUESTS = [
    {"text": ["an orange cloud", "a llama"], "external_reference": "doc-a"},
    {"text": "a hugging emoji"},
    {"text": ["one", "two", "three"], "external_reference": "doc-c"},
]


@pytest.fixture(autouse=True)
def _release(emulator: LocalEmulator) -> Iterator[None]:
    yield
    emulator.hold_batches(None)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_queue_and_wait_keep_order_and_references(client: WorkersAI, use_async: bool) -> None:
    async def run() -> list:  # type: ignore[type-arg]
        job = await client.aqueue(MODEL, REQUESTS)
        return await job.await_(poll_interval=0.01)

    responses = asyncio.run(run()) if use_async else client.queue(MODEL, REQUESTS).wait(poll_interval=0.01)
    assert [(r.id, r.success, r.external_reference) for r in responses] == [
        (0, True, "doc-a"),
        (1, True, None),
        (2, True, "doc-c"),
    ]
    direct = [client.run(MODEL, {"text": r["text"]})["data"] for r in REQUESTS]
    assert [r.result["data"] for r in responses] == direct


def test_await_a_job_directly(client: WorkersAI) -> None:
    async def run() -> int:
        job = await client.aqueue(MODEL, [{"text": "x"}])
        return len(await job)

    assert asyncio.run(run()) == 1


def test_a_job_is_taken_up_by_request_id_from_a_new_client(emulator: LocalEmulator) -> None:
    emulator.hold_batches("queued")
    with emulator.client() as first:
        job = first.queue(MODEL, REQUESTS)
        request_id = job.request_id
    emulator.hold_batches(None)
    with emulator.client() as second:  # as after a restart: only the model and the id were kept
        again = second.batch_job(MODEL, request_id)
        assert isinstance(again, BatchJob) and again.request_id == request_id
        responses = again.wait(poll_interval=0.01)
    assert [r.external_reference for r in responses] == ["doc-a", None, "doc-c"]


def test_every_status_is_seen(client: WorkersAI, emulator: LocalEmulator) -> None:
    emulator.hold_batches("queued")
    job = client.queue(MODEL, REQUESTS)
    assert job.status().status == "queued"
    with pytest.raises(BatchTimeout):
        job.wait(timeout=0)
    emulator.hold_batches("running")
    seen: set[str] = set()
    for _ in range(10_000):  # the worker picks the batch up in the background; a guard, not a timing
        seen.add(job.status().status)
        if "running" in seen:
            break
    assert "running" in seen and seen <= {"queued", "running"}
    emulator.hold_batches(None)
    assert len(job.wait(poll_interval=0.01)) == 3
    assert job.status().done


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_3040_burst_on_polls_is_survived(
    emulator: LocalEmulator, fast_retry: RetryPolicy, use_async: bool
) -> None:
    emulator.hold_batches("queued")
    with emulator.client(retry_policy=fast_retry) as client:
        job = client.queue(MODEL, REQUESTS)
        before = emulator.set_faults(error="3040", fail_next=3, retry_after=0)["injected"]
        emulator.hold_batches(None)
        wait = job.await_(poll_interval=0.01) if use_async else None
        responses = asyncio.run(wait) if wait is not None else job.wait(poll_interval=0.01)
        assert emulator.clear_faults()["injected"] - before == 3
    assert [r.success for r in responses] == [True, True, True]


@pytest.mark.parametrize(
    "requests",
    [[], [["not an object"]], [{"text": "x", "external_reference": 3}]],
    ids=["no-requests", "not-an-object", "bad-reference"],
)
def test_bad_batches_are_refused_before_any_request(
    logged_client: WorkersAI,
    request_log: RequestLog,
    requests: list,  # type: ignore[type-arg]
) -> None:
    with pytest.raises(BadInput):
        logged_client.queue(MODEL, requests)
    assert request_log.requests == []


def test_a_batch_over_10_mb_is_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    with pytest.raises(RequestTooLarge, match="10,000,000"):
        logged_client.queue(MODEL, [{"text": ["x" * 1_000_000] * 5}, {"text": ["y" * 1_000_000] * 5}])
    assert request_log.requests == []


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_an_unknown_request_id_is_a_typed_error(client: WorkersAI, use_async: bool) -> None:
    job = client.batch_job(MODEL, "no-such-request")
    with pytest.raises(BatchNotFound, match="no-such-request") as error:
        asyncio.run(job.astatus()) if use_async else job.wait()
    assert error.value.status == 400 and error.value.code == 5006
    with pytest.raises(BadInput):
        client.batch_job(MODEL, "")


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_embed_batch_equals_direct_embedding_in_order(
    logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    texts = [f"text number {i} about {'clouds' if i % 2 else 'llamas'}" for i in range(230)]
    if use_async:
        vectors = asyncio.run(logged_client.aembed_batch(texts, model=MODEL, poll_interval=0.01))
    else:
        vectors = logged_client.embed_batch(texts, model=MODEL, poll_interval=0.01)
    submissions = [r for r in request_log.requests if b'"requests"' in r.content]
    assert len(submissions) == 1  # 3 requests of at most 100 texts, in one batch
    assert vectors == logged_client.embed(texts, model=MODEL)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_a_submission_is_resent_only_when_the_service_cannot_have_queued_it(
    emulator: LocalEmulator, use_async: bool
) -> None:
    """A 3040 refuses the batch before queuing it: resent. A reset after the batch was queued (its
    answer lost): raised, not resent, so the batch is queued once, never twice."""
    from workersai import APIConnectionError, CapacityExceeded

    policy = RetryPolicy(max_retries=3, initial_backoff=0.01, max_backoff=0.02, jitter=0.0)
    emulator.hold_batches("queued")  # keeps every batch countable as "queued"

    def queue(client: WorkersAI) -> BatchJob:
        return asyncio.run(client.aqueue(MODEL, REQUESTS)) if use_async else client.queue(MODEL, REQUESTS)

    def queued() -> int:
        return int(emulator.hold_batches("queued")["batches"].get("queued", 0))

    with emulator.client(retry_policy=policy) as client:
        start = queued()
        emulator.set_faults(error="3040", fail_next=2, scope="ai")
        queue(client)
        assert queued() == start + 1
        emulator.set_faults(error="reset-after", error_rate=1.0, scope="ai")
        with pytest.raises(APIConnectionError) as lost:
            queue(client)
        assert lost.value.attempts == 1 and lost.value.request_sent
        assert queued() == start + 2  # served once, its answer lost; a resend would have made it 3
        emulator.set_faults(error="3040", error_rate=1.0, scope="ai")
        with pytest.raises(CapacityExceeded) as refused:
            queue(client)
        assert refused.value.attempts == 4 and queued() == start + 2
    emulator.clear_faults()
