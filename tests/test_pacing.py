"""Pacing over HTTP against the emulator with its rate limits on (a half-second window, scaled limits):
a bulk embedding paced by the client passes several windows with no failure and at most 1% of its
requests answered 429; the same run unpaced hits many 429s (retried). Requests and 429s are counted by
the emulator (``/__local__/stats``), never timed."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from workersai import RateLimited, RetryPolicy, WorkersAI
from workersai.local import LocalEmulator
from workersai.pacing import Pacer, PacingPolicy

EMBED = "@cf/baai/bge-small-en-v1.5"  # 3000 a minute in the catalog
WINDOW_S = 0.5
PER_WINDOW = 50
SCALE = PER_WINDOW / 3000
BATCH = 10
# A few thousand texts over 50 distinct ones: the emulator's embedding cache keeps its CPU small.
TEXTS = [f"text {i % 50} about pacing" for i in range(3000)]
REQUESTS = len(TEXTS) // BATCH  # 300: six windows' worth of the limit
PATIENT = RetryPolicy(max_retries=50, max_total=300)
# The default policy sends at most 99% of a limit in any window: a 1% margin is 0.6 s of the real
# minute but 5 ms of a half-second window, less than a loaded test machine's scheduling jitter. The
# tests pace at 90% (margin 35 ms); benchmarks/peers.py measures the default policy (5-s windows).
POLICY = PacingPolicy(window_s=WINDOW_S, scale=SCALE, headroom=0.9)


@pytest.fixture(scope="module")
def limited() -> Iterator[LocalEmulator]:
    with LocalEmulator(rate_limits=True, rate_window_s=WINDOW_S, rate_scale=SCALE) as emu:
        yield emu


def _counts(emu: LocalEmulator, before: dict[str, int]) -> tuple[int, int]:
    after = emu.stats()
    return after["requests"] - before["requests"], after["rate_limited"] - before["rate_limited"]


def test_paced_bulk_embedding_stays_below_the_limit(limited: LocalEmulator) -> None:
    with limited.client(pace=POLICY, retry_policy=PATIENT) as client:
        before = limited.stats()
        vectors = client.embed(TEXTS, model=EMBED, batch_size=BATCH)
        requests, refused = _counts(limited, before)
    assert len(vectors) == len(TEXTS)
    assert vectors[0] == vectors[50]  # in order: the same text, the same vector
    assert requests - refused == REQUESTS
    assert refused <= 0.01 * requests


def test_async_paced_bulk_embedding_stays_below_the_limit(limited: LocalEmulator) -> None:
    async def main() -> list[list[float]]:
        async with limited.client(pace=POLICY, retry_policy=PATIENT, max_concurrency=16) as client:
            return await client.aembed(TEXTS[:1500], model=EMBED, batch_size=BATCH)

    before = limited.stats()
    vectors = asyncio.run(main())
    requests, refused = _counts(limited, before)
    assert len(vectors) == 1500
    assert requests - refused == 150
    assert refused <= 0.01 * requests


def test_unpaced_bulk_embedding_hits_many_429s(limited: LocalEmulator) -> None:
    with limited.client(pace=False, retry_policy=PATIENT) as client:
        before = limited.stats()
        vectors = client.embed(TEXTS, model=EMBED, batch_size=BATCH)
        requests, refused = _counts(limited, before)
    assert len(vectors) == len(TEXTS)  # every refusal was retried
    assert requests - refused == REQUESTS
    assert refused >= 0.05 * requests


def test_pacing_rates_come_from_the_catalog_and_default_off_for_the_emulator(emulator: LocalEmulator) -> None:
    with emulator.client(pace=True) as client:
        assert client.pacer is not None
        assert client.pacer.rate(EMBED) == pytest.approx(3000 * 0.97 / 60)
    with emulator.client() as client:  # not Cloudflare's API: no limits to assume
        assert client.pacer is None


# -- the Cloudflare API's global budget (--api-rate-limit), in one injected clock -----------------------


class FakeTime:
    """The emulator's and the client's clock; the client's sleeps move it (no wall clock)."""

    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.now += seconds


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
