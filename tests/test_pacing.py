"""Pacing over HTTP against the emulator with its rate limits on (a half-second window, scaled limits):
a bulk embedding paced by the client passes several windows with no failure and not one request answered
429; the same run unpaced is refused in every window (and retried). Requests and 429s
are counted by the emulator (``/__local__/stats``), never timed.

The emulator's windows, the client's pacer and the client's sleeps all run on one clock the test owns
(:class:`tests.timing.FakeTime`): a sleep moves it instead of waiting, so the runs take no wall time
for their windows and a loaded machine (slow requests, late threads) cannot change what is counted."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from workersai import RateLimited, RetryPolicy, WorkersAI
from workersai.local import LocalEmulator
from workersai.pacing import Pacer, PacingPolicy

from .timing import FakeTime

EMBED = "@cf/baai/bge-small-en-v1.5"  # 3000 a minute in the catalog
WINDOW_S = 0.5
PER_WINDOW = 50
SCALE = PER_WINDOW / 3000
BATCH = 10
# A few thousand texts over 50 distinct ones: the emulator's embedding cache keeps its CPU small.
TEXTS = [f"text {i % 50} about pacing" for i in range(3000)]
REQUESTS = len(TEXTS) // BATCH  # 300: six windows' worth of the limit
WINDOWS = REQUESTS // PER_WINDOW
# On the test's clock a request takes no time, but while one thread has a request in flight another
# thread's sleep may move the clock: the request then arrives later than it was booked. So a window can
# hold, besides what the pacer booked in it, one late request per thread (CONCURRENCY). Paced at 80% of
# the limit, 40 booked + 1 at the window's edge + 8 late stay within 50: not one refusal, whatever the
# machine's load. (The default policy, 97% with a 2% burst, is measured on the wall clock with 5-s
# windows by benchmarks/peers.py.)
CONCURRENCY = 8
POLICY = PacingPolicy(window_s=WINDOW_S, scale=SCALE, headroom=0.8)


@pytest.fixture(scope="module")
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="module")
def limited(clock: FakeTime) -> Iterator[LocalEmulator]:
    with LocalEmulator(rate_limits=True, rate_window_s=WINDOW_S, rate_scale=SCALE, clock=clock) as emu:
        yield emu


@pytest.fixture
def patient(clock: FakeTime) -> RetryPolicy:
    """Retries that wait on the test's clock; and a fresh window for the test."""
    clock.advance(WINDOW_S)
    return RetryPolicy(max_retries=50, max_total=300, sleep=clock.sleep, async_sleep=clock.asleep)


def _counts(emu: LocalEmulator, before: dict[str, int]) -> tuple[int, int]:
    after = emu.stats()
    return after["requests"] - before["requests"], after["rate_limited"] - before["rate_limited"]


def test_paced_bulk_embedding_stays_below_the_limit(
    limited: LocalEmulator, clock: FakeTime, patient: RetryPolicy
) -> None:
    start = clock.now
    pacer = Pacer(POLICY, clock=clock)
    with limited.client(pace=pacer, retry_policy=patient, max_concurrency=CONCURRENCY) as client:
        before = limited.stats()
        vectors = client.embed(TEXTS, model=EMBED, batch_size=BATCH)
        requests, refused = _counts(limited, before)
    assert len(vectors) == len(TEXTS)
    assert vectors[0] == vectors[50]  # in order: the same text, the same vector
    assert (requests, refused) == (REQUESTS, 0)
    assert clock.now - start >= (WINDOWS - 1) * WINDOW_S  # the pacer, not the retries, spread them


def test_async_paced_bulk_embedding_stays_below_the_limit(
    limited: LocalEmulator, clock: FakeTime, patient: RetryPolicy
) -> None:
    async def main() -> list[list[float]]:
        pacer = Pacer(POLICY, clock=clock)
        async with limited.client(pace=pacer, retry_policy=patient, max_concurrency=CONCURRENCY) as client:
            return await client.aembed(TEXTS[:1500], model=EMBED, batch_size=BATCH)

    before = limited.stats()
    vectors = asyncio.run(main())
    requests, refused = _counts(limited, before)
    assert len(vectors) == 1500
    assert (requests, refused) == (150, 0)


def test_unpaced_bulk_embedding_is_refused_in_every_window(
    limited: LocalEmulator, patient: RetryPolicy
) -> None:
    with limited.client(pace=False, retry_policy=patient, max_concurrency=CONCURRENCY) as client:
        before = limited.stats()
        vectors = client.embed(TEXTS, model=EMBED, batch_size=BATCH)
        requests, refused = _counts(limited, before)
    assert len(vectors) == len(TEXTS)  # every refusal was retried
    assert requests - refused == REQUESTS
    # Sent as fast as they go, the requests fill each window and the next one is refused.
    assert refused >= WINDOWS - 1


def test_pacing_rates_come_from_the_catalog_and_default_off_for_the_emulator(emulator: LocalEmulator) -> None:
    with emulator.client(pace=True) as client:
        assert client.pacer is not None
        assert client.pacer.rate(EMBED) == pytest.approx(3000 * 0.97 / 60)
    with emulator.client() as client:  # not Cloudflare's API: no limits to assume
        assert client.pacer is None


# -- the Cloudflare API's global budget (--api-rate-limit), in one injected clock -----------------------


QUOTA = 12


@pytest.fixture
def budgeted() -> Iterator[tuple[LocalEmulator, FakeTime]]:
    time = FakeTime()
    with LocalEmulator(api_rate_limit=True, api_rate_quota=QUOTA, api_rate_window_s=300, clock=time) as emu:
        yield emu, time


def _ingest(client: WorkersAI, documents: int, per_request: int) -> None:
    """Embed and write ``documents`` texts, ``per_request`` a request each way: a bulk add's requests."""
    client.vectorize.create_index("budget", dimensions=384)
    for start in range(0, documents, per_request):
        texts = [f"document {i} about budgets" for i in range(start, start + per_request)]
        vectors = client.embed(texts, model=EMBED)
        client.vectorize.upsert(
            "budget", [{"id": f"d{start + i}", "values": v} for i, v in enumerate(vectors)]
        )


def test_paced_ingestion_keeps_within_the_global_budget_read_from_ratelimit(
    budgeted: tuple[LocalEmulator, FakeTime],
) -> None:
    """Embedding (paced per model) and Vectorize writes (no model) share the API budget the client
    learns from the answers' headers: 61 requests, five windows' worth, and not one 429."""
    emu, time = budgeted
    pacer = Pacer(clock=time)
    retry = RetryPolicy(max_retries=0, sleep=time.sleep, async_sleep=time.asleep)
    start = time.now
    with emu.client(pace=pacer, retry_policy=retry) as client:
        _ingest(client, 150, 5)
    stats = emu.stats()
    assert stats["requests"] == 61 and stats["api_rate_limited"] == 0
    assert pacer.api_limited_count == 0
    assert time.now - start >= 4 * 300  # the budget, not the models' limits, set the pace


def test_unpaced_ingestion_is_refused_by_the_global_budget(budgeted: tuple[LocalEmulator, FakeTime]) -> None:
    emu, _ = budgeted
    with (
        emu.client(pace=False, retry_policy=RetryPolicy(max_retries=0)) as client,
        pytest.raises(RateLimited) as info,
    ):
        _ingest(client, 150, 5)
    assert (info.value.status, info.value.code, info.value.retry_after) == (429, 971, 300.0)
    assert emu.stats()["api_rate_limited"] == 1
    assert emu.stats()["requests"] == QUOTA + 1
