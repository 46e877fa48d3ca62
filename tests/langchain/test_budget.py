"""One owner of retries in LangChain: the attempts a wrapper is asked for are the requests sent, a
fallback is taken after one primary request, and every path says which model answered. Requests are
counted at the emulator; waits with injected sleeps."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.messages import AIMessage

from langchain_workersai import ChatWorkersAI, with_model_fallbacks
from workersai import CapacityExceeded, RetryPolicy, WorkersAI
from workersai.health import ModelHealth
from workersai.local import LocalEmulator

from ..conftest import Sleeps
from ..test_fallback import FALLBACK, PRIMARY, Clock, sent


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


@pytest.fixture
def core(emulator: LocalEmulator, sleeps: Sleeps) -> Iterator[WorkersAI]:
    """A client whose own retries (3, the default) sleep through ``sleeps``."""
    policy = RetryPolicy(max_retries=3, sleep=sleeps, async_sleep=sleeps.asleep)
    with emulator.client(retry_policy=policy) as client:
        yield client


def test_with_model_fallbacks_leaves_after_one_request_without_waiting(
    emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps
) -> None:
    big, small = ChatWorkersAI(model=PRIMARY, client=core), ChatWorkersAI(model=FALLBACK, client=core)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    answer = with_model_fallbacks(big, small).invoke("hi")
    assert sent(emulator, PRIMARY) - before == 1
    assert sleeps.waits == []
    meta = answer.response_metadata
    assert (meta["model_name"], meta["fallbacks"], meta["attempts"]) == (FALLBACK, 1, 2)


def test_a_busy_primary_is_refused_at_once(emulator: LocalEmulator, core: WorkersAI) -> None:
    big, small = ChatWorkersAI(model=PRIMARY, client=core), ChatWorkersAI(model=FALLBACK, client=core)
    emulator.set_faults(busy_ms=60_000, models=[PRIMARY])
    before = emulator.stats().get("rejected_busy", 0)
    assert with_model_fallbacks(big, small).invoke("hi").response_metadata["model_name"] == FALLBACK
    assert emulator.stats().get("rejected_busy", 0) - before == 1


def test_stream_and_batch_say_which_model_answered(emulator: LocalEmulator, core: WorkersAI) -> None:
    big = ChatWorkersAI(model=PRIMARY, client=core, max_tokens=5)
    small = ChatWorkersAI(model=FALLBACK, client=core, max_tokens=5)
    chain = with_model_fallbacks(big, small)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    chunks = list(chain.stream("hi"))
    last = [c for c in chunks if c.response_metadata.get("model_name")][-1]
    assert (last.response_metadata["model_name"], last.response_metadata["fallbacks"]) == (FALLBACK, 1)
    for answer in chain.batch(["a", "b"]):
        assert isinstance(answer, AIMessage)
        assert (answer.response_metadata["model_name"], answer.response_metadata["fallbacks"]) == (
            FALLBACK,
            1,
        )
    emulator.clear_faults()
    plain = big.invoke("hi").response_metadata
    assert (plain["model_name"], plain["attempts"]) == (PRIMARY, 1)


async def test_async_paths_say_which_model_answered(emulator: LocalEmulator, core: WorkersAI) -> None:
    big = ChatWorkersAI(model=PRIMARY, client=core, max_tokens=5)
    small = ChatWorkersAI(model=FALLBACK, client=core, max_tokens=5)
    chain = with_model_fallbacks(big, small)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    answer = await chain.ainvoke("hi")
    assert answer.response_metadata["model_name"] == FALLBACK
    chunks = [c async for c in chain.astream("hi")]
    assert [c for c in chunks if c.response_metadata.get("model_name")][-1].response_metadata[
        "model_name"
    ] == FALLBACK


def test_the_breaker_skips_the_primary_of_a_chain(emulator: LocalEmulator, clock: Clock) -> None:
    health = ModelHealth(threshold=1, window=60, cooldown=30, clock=clock)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    start = sent(emulator, PRIMARY)
    with emulator.client(health=health) as client:
        chain = with_model_fallbacks(
            ChatWorkersAI(model=PRIMARY, client=client), ChatWorkersAI(model=FALLBACK, client=client)
        )
        chain.invoke("hi")  # one refusal opens the breaker
        answer = chain.invoke("hi")
        assert sent(emulator, PRIMARY) - start == 1
        assert (answer.response_metadata["fallbacks"], answer.response_metadata["attempts"]) == (1, 1)
        clock.now += 31
        emulator.clear_faults()
        assert chain.invoke("hi").response_metadata["model_name"] == PRIMARY  # the probe
        assert sent(emulator, PRIMARY) - start == 2


def test_call_options_reach_the_client(emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps) -> None:
    llm = ChatWorkersAI(model=PRIMARY, client=core)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    with pytest.raises(CapacityExceeded):
        llm.invoke("hi", max_retries=1)
    with pytest.raises(CapacityExceeded):
        llm.bind(max_retries=0).invoke("hi")
    with pytest.raises(CapacityExceeded):
        llm.invoke("hi", config={"configurable": {"max_retries": 0}})
    assert sent(emulator, PRIMARY) - before == 2 + 1 + 1
    assert len(sleeps.waits) == 1


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_a_chains_deadline_is_one_budget_for_every_model(emulator: LocalEmulator, clock: Clock) -> None:
    from workersai.errors import DeadlineExceeded

    policy = RetryPolicy(max_retries=5, initial_backoff=1.0, jitter=0.0, sleep=clock.sleep, clock=clock)
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY, FALLBACK])
    before = sent(emulator, PRIMARY) + sent(emulator, FALLBACK)
    with emulator.client(retry_policy=policy) as client:
        chain = with_model_fallbacks(
            ChatWorkersAI(model=PRIMARY, client=client), ChatWorkersAI(model=FALLBACK, client=client)
        )
        with pytest.raises(DeadlineExceeded):
            chain.invoke("hi", deadline=3.5)
    assert clock.waits == [1.0, 2.0]  # the fallback's retries, within what the primary left
    assert sent(emulator, PRIMARY) + sent(emulator, FALLBACK) - before == 4
