"""Retry budgets, fallback and the deadline in the core, counted at the emulator (requests per model)
with injected sleeps and clocks: no wall clock."""

from __future__ import annotations

import httpx
import pytest

from workersai import CapacityExceeded, RetryPolicy, StreamInterrupted, WorkersAI, track_usage
from workersai.errors import DeadlineExceeded
from workersai.health import ModelHealth
from workersai.local import LocalEmulator

from .conftest import Sleeps

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
FALLBACK = "@cf/meta/llama-3.2-3b-instruct"


class Clock:
    """A clock the test moves; ``sleep`` moves it and records the wait."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.waits: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.now += seconds

    async def asleep(self, seconds: float) -> None:
        self.sleep(seconds)


def sent(emulator: LocalEmulator, model: str) -> int:
    """Requests the emulator received naming ``model``."""
    return emulator.stats().get(f"requests:{model}", 0)


@pytest.fixture
def clock() -> Clock:
    return Clock()


# -- Retry-After never shortens the backoff (issue #25, item 10) --------------------------------------


def test_a_retry_after_that_is_not_a_number_keeps_the_backoff() -> None:
    answers = iter([429, 429, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        status = next(answers)
        if status == 429:
            body = {"success": False, "errors": [{"code": 3040, "message": "Capacity temporarily exceeded"}]}
            return httpx.Response(429, json=body, headers={"retry-after": "nan"})
        return httpx.Response(200, json={"success": True, "result": {"response": "ok"}})

    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=2, initial_backoff=1.0, jitter=0.0, sleep=sleeps)
    http = httpx.Client(transport=httpx.MockTransport(handler))
    with WorkersAI(account_id="a", api_token="t", retry_policy=policy, http_client=http) as client:
        assert client.chat("hi").text == "ok"
    assert sleeps.waits == [1.0, 2.0]


def test_a_longer_retry_after_lengthens_the_wait(emulator: LocalEmulator) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=2, initial_backoff=1.0, jitter=0.0, sleep=sleeps)
    emulator.set_faults(error="3040", fail_next=2, retry_after=1.5)
    with emulator.client(retry_policy=policy) as client:
        client.chat("hi", max_tokens=3)
    assert sleeps.waits == [1.5, 2.0]


# -- per-call options -----------------------------------------------------------------------------


def test_with_options_sends_the_attempts_asked_for(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    with pytest.raises(CapacityExceeded) as caught:
        client.with_options(max_retries=2).chat("hi", model=PRIMARY)
    assert caught.value.attempts == 3
    assert sent(emulator, PRIMARY) - before == 3
    assert client.transport.retry.max_retries == 3  # the client itself is unchanged


def test_an_answer_says_how_many_attempts_it_took(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.set_faults(error="3040", fail_next=2)
    assert client.chat("hi", max_tokens=3).attempts == 3


# -- fallback first --------------------------------------------------------------------------------


def test_fallback_answers_after_one_primary_request_and_no_sleep(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    with track_usage() as usage:
        result = client.chat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=3)
    assert (result.model, result.fallbacks, result.attempts) == (FALLBACK, 1, 2)
    assert sent(emulator, PRIMARY) - before == 1
    assert sleeps.waits == []
    assert usage.by_model[PRIMARY].fallbacks == 1 and usage.by_model[PRIMARY].capacity_errors == 1


async def test_async_fallback_answers_after_one_primary_request(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3021", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    result = await client.achat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=3)
    assert result.model == FALLBACK and sent(emulator, PRIMARY) - before == 1 and sleeps.waits == []


def test_a_busy_primary_refuses_at_once_and_the_fallback_answers(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(busy_ms=60_000, models=[PRIMARY])  # a queue nobody should wait in
    before = emulator.stats()
    result = client.chat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=3)
    after = emulator.stats()
    assert result.model == FALLBACK and sleeps.waits == []
    assert after.get("rejected_busy", 0) - before.get("rejected_busy", 0) == 1
    assert after.get("queued", 0) == before.get("queued", 0)


def test_a_busy_model_holds_a_request_that_did_not_ask_to_be_rejected(
    emulator: LocalEmulator, client: WorkersAI
) -> None:
    emulator.set_faults(busy_ms=50, models=[PRIMARY])
    before = emulator.stats().get("queued", 0)
    assert client.chat("hi", model=PRIMARY, max_tokens=3).model == PRIMARY
    assert emulator.stats().get("queued", 0) - before == 1


def test_reject_if_busy_on_the_openai_route_answers_the_services_error(emulator: LocalEmulator) -> None:
    emulator.set_faults(busy_ms=60_000, models=[PRIMARY])
    body = {
        "model": PRIMARY,
        "messages": [{"role": "user", "content": "hi"}],
        "options": {"rejectIfBusy": True},
    }
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1/chat/completions"
    answer = httpx.post(url, json=body, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60)
    assert answer.status_code == 429
    assert answer.json()["errors"][0]["code"] == 3040
    assert answer.json()["errors"][0]["message"] == "Capacity temporarily exceeded, please try again."


def test_the_last_model_keeps_its_retries(emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY, FALLBACK])
    before = sent(emulator, FALLBACK)
    with pytest.raises(CapacityExceeded):
        client.chat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=3)
    assert sent(emulator, FALLBACK) - before == 4  # its client's 3 retries
    assert len(sleeps.waits) == 3


def test_the_breaker_skips_a_failing_primary_then_probes_it(emulator: LocalEmulator, clock: Clock) -> None:
    health = ModelHealth(threshold=2, window=60, cooldown=30, clock=clock)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    start = sent(emulator, PRIMARY)
    with emulator.client(health=health) as client, track_usage() as usage:

        def ask() -> str:
            return client.chat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=3).model

        assert ask() == FALLBACK and ask() == FALLBACK  # two refusals: the breaker opens
        assert health.state(PRIMARY) == "open"
        assert ask() == FALLBACK
        assert sent(emulator, PRIMARY) - start == 2  # skipped: no request
        clock.now += 31
        assert health.state(PRIMARY) == "half-open"
        assert ask() == FALLBACK  # the probe is refused: open again
        assert sent(emulator, PRIMARY) - start == 3
        assert ask() == FALLBACK and sent(emulator, PRIMARY) - start == 3
        emulator.clear_faults()
        clock.now += 31
        assert ask() == PRIMARY  # the probe is answered: closed
        assert health.state(PRIMARY) == "closed"
        assert ask() == PRIMARY and sent(emulator, PRIMARY) - start == 5
    assert usage.by_model[PRIMARY].skipped == 2


# -- the deadline ----------------------------------------------------------------------------------


def test_the_deadline_stops_retries_whose_wait_would_pass_it(emulator: LocalEmulator, clock: Clock) -> None:
    policy = RetryPolicy(max_retries=5, initial_backoff=1.0, jitter=0.0, sleep=clock.sleep, clock=clock)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    with emulator.client(retry_policy=policy) as client, pytest.raises(DeadlineExceeded) as caught:
        client.with_options(deadline=2.5).chat("hi", model=PRIMARY)
    assert clock.waits == [1.0]  # a second wait (2 s) would end past the deadline
    assert caught.value.attempts == 2 and sent(emulator, PRIMARY) - before == 2


async def test_the_deadline_is_shared_by_a_fallback_chain(emulator: LocalEmulator, clock: Clock) -> None:
    policy = RetryPolicy(
        max_retries=5, initial_backoff=1.0, jitter=0.0, async_sleep=clock.asleep, clock=clock
    )
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY, FALLBACK])
    before = sent(emulator, PRIMARY) + sent(emulator, FALLBACK)
    with emulator.client(retry_policy=policy) as client, pytest.raises(DeadlineExceeded):
        await client.with_options(deadline=3.5).achat("hi", model=PRIMARY, fallbacks=[FALLBACK])
    # one primary request, then the fallback's: 1 s, 2 s waits fit in 3.5 s; a 4 s one does not
    assert clock.waits == [1.0, 2.0]
    assert sent(emulator, PRIMARY) + sent(emulator, FALLBACK) - before == 4


def test_a_stream_past_its_deadline_is_interrupted(emulator: LocalEmulator, clock: Clock) -> None:
    policy = RetryPolicy(max_retries=0, clock=clock)
    with emulator.client(retry_policy=policy) as client:
        stream = client.with_options(deadline=5).stream_chat("Tell me about error 3040.", max_tokens=40)
        first = next(stream)
        clock.now += 10
        with pytest.raises(StreamInterrupted):
            for _ in stream:
                pass
    assert first.text or first.finish_reason is None


def test_a_stream_falls_back_before_its_first_chunk(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    chunks = list(client.stream_chat("hi", model=PRIMARY, fallbacks=[FALLBACK], max_tokens=5))
    last = chunks[-1]
    assert (last.model, last.fallbacks, last.attempts) == (FALLBACK, 1, 2)
    assert sent(emulator, PRIMARY) - before == 1
