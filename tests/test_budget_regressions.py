"""Regression tests of issue #31 and #25 item 10, written with the API of 9d8d072 only (they fail
there): retries stacked under a wrapper, a slow fallback, and a Retry-After of 0 or less replacing the
backoff. Requests are counted at the emulator, waits with an injected sleep."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage

from langchain_workersai import ChatWorkersAI, with_model_fallbacks, with_workersai_retry
from llamaindex_workersai import WorkersAI as LlamaWorkersAI
from workersai import CapacityExceeded, RetryPolicy, WorkersAI
from workersai.local import LocalEmulator

from .conftest import Sleeps

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
FALLBACK = "@cf/meta/llama-3.2-3b-instruct"


def requests(emulator: LocalEmulator) -> int:
    return emulator.stats()["requests"]


@pytest.fixture
def core(emulator: LocalEmulator, sleeps: Sleeps) -> Iterator[WorkersAI]:
    """A client with the default 3 retries of its own, sleeping through ``sleeps``."""
    policy = RetryPolicy(max_retries=3, sleep=sleeps, async_sleep=sleeps.asleep)
    with emulator.client(retry_policy=policy) as client:
        yield client


@pytest.mark.parametrize("retry_after", [0, -5])
def test_a_retry_after_of_zero_or_less_keeps_the_backoff(emulator: LocalEmulator, retry_after: float) -> None:
    sleeps = Sleeps()
    policy = RetryPolicy(max_retries=2, initial_backoff=1.0, jitter=0.0, sleep=sleeps)
    emulator.set_faults(error="3040", fail_next=2, retry_after=retry_after)
    with emulator.client(retry_policy=policy) as client:
        client.chat("hi", max_tokens=3)
    assert sleeps.waits == [1.0, 2.0]


def test_with_workersai_retry_sends_the_attempts_it_was_asked_for(
    emulator: LocalEmulator, sleeps: Sleeps
) -> None:
    conn: dict[str, Any] = {
        "account_id": emulator.account_id,
        "api_key": emulator.token,
        "base_url": emulator.base_url,
    }
    llm = ChatWorkersAI(model=PRIMARY, **conn)  # the default: 3 retries of its own
    emulator.set_faults(error="3040", fail_next=100)
    before = requests(emulator)
    with pytest.raises(CapacityExceeded):
        with_workersai_retry(llm, RetryPolicy(max_retries=2, sleep=sleeps)).invoke("hi")
    assert requests(emulator) - before == 3


def test_langchains_with_retry_sends_the_attempts_it_was_asked_for(
    emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps
) -> None:
    llm = ChatWorkersAI(model=PRIMARY, client=core)
    emulator.set_faults(error="3040", fail_next=100)
    before = requests(emulator)
    with pytest.raises(CapacityExceeded):
        llm.with_retry(stop_after_attempt=3, wait_exponential_jitter=False).invoke("hi")
    assert requests(emulator) - before == 3
    assert sleeps.waits == []  # the model's own client did not retry


def test_a_fallback_is_taken_after_one_primary_request(
    emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps
) -> None:
    big, small = ChatWorkersAI(model=PRIMARY, client=core), ChatWorkersAI(model=FALLBACK, client=core)
    emulator.set_faults(error="3040", fail_next=1)
    before = requests(emulator)
    answer = with_model_fallbacks(big, small).invoke("hi")
    assert answer.response_metadata["model_name"] == FALLBACK
    assert requests(emulator) - before == 2 and sleeps.waits == []


def test_langchains_with_fallbacks_is_taken_after_one_primary_request(
    emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps
) -> None:
    big, small = ChatWorkersAI(model=PRIMARY, client=core), ChatWorkersAI(model=FALLBACK, client=core)
    emulator.set_faults(error="3040", fail_next=1)
    assert big.with_fallbacks([small]).invoke("hi").response_metadata["model_name"] == FALLBACK
    assert sleeps.waits == []


def test_llamaindex_fallback_models_is_taken_after_one_primary_request(
    emulator: LocalEmulator, core: WorkersAI, sleeps: Sleeps
) -> None:
    llm = LlamaWorkersAI(model=PRIMARY, fallback_models=[FALLBACK], max_tokens=5, client=core)
    emulator.set_faults(error="3040", fail_next=1)
    assert llm.chat([ChatMessage(role="user", content="hi")]).raw["model"] == FALLBACK
    emulator.set_faults(error="3040", fail_next=1)
    last = list(llm.stream_chat([ChatMessage(role="user", content="hi")]))[-1]
    assert last.additional_kwargs["model"] == last.raw["model"] == FALLBACK
    assert sleeps.waits == []
