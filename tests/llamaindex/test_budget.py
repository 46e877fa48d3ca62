"""LlamaIndex ``fallback_models`` under the budget rules: the fallback after one primary request, and the
model that answered (with attempts and fallbacks) in the same keys for chat and stream_chat, sync and
async. Requests are counted at the emulator."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from llama_index.core.base.llms.types import ChatMessage, ChatResponse

from llamaindex_workersai import WorkersAI
from workersai import RetryPolicy
from workersai import WorkersAI as Core
from workersai.local import LocalEmulator

from ..conftest import Sleeps
from ..test_fallback import FALLBACK, PRIMARY, sent

HI = [ChatMessage(role="user", content="hi")]


@pytest.fixture
def llm(emulator: LocalEmulator, sleeps: Sleeps) -> Iterator[WorkersAI]:
    policy = RetryPolicy(max_retries=3, sleep=sleeps, async_sleep=sleeps.asleep)
    with emulator.client(retry_policy=policy) as core:
        yield WorkersAI(model=PRIMARY, fallback_models=[FALLBACK], max_tokens=5, client=core)


def route(response: ChatResponse) -> tuple[Any, ...]:
    raw, extra = response.raw or {}, response.additional_kwargs
    keys = ("model", "attempts", "fallbacks")
    assert tuple(raw[k] for k in keys) == tuple(extra[k] for k in keys)
    return tuple(extra[k] for k in keys)


def test_chat_and_stream_fall_back_after_one_request(
    emulator: LocalEmulator, llm: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    assert route(llm.chat(HI)) == (FALLBACK, 2, 1)
    assert route(list(llm.stream_chat(HI))[-1]) == (FALLBACK, 2, 1)
    assert sent(emulator, PRIMARY) - before == 2 and sleeps.waits == []


async def test_async_chat_and_stream_fall_back_after_one_request(
    emulator: LocalEmulator, llm: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
    before = sent(emulator, PRIMARY)
    assert route(await llm.achat(HI)) == (FALLBACK, 2, 1)
    last = [r async for r in await llm.astream_chat(HI)][-1]
    assert route(last) == (FALLBACK, 2, 1)
    assert sent(emulator, PRIMARY) - before == 2 and sleeps.waits == []


def test_without_faults_the_primary_answers_first_time(llm: WorkersAI) -> None:
    assert route(llm.chat(HI)) == (PRIMARY, 1, 0)
    assert route(list(llm.stream_chat(HI))[-1]) == (PRIMARY, 1, 0)


def test_a_call_can_change_its_retries(emulator: LocalEmulator, sleeps: Sleeps) -> None:
    with emulator.client(retry_policy=RetryPolicy(max_retries=3, sleep=sleeps)) as core:
        llm = WorkersAI(model=PRIMARY, client=core)
        emulator.set_faults(error="3040", error_rate=1.0, models=[PRIMARY])
        before = sent(emulator, PRIMARY)
        with pytest.raises(Exception, match="3040"):
            llm.chat(HI, max_retries=1)
        assert sent(emulator, PRIMARY) - before == 2 and len(sleeps.waits) == 1


def test_the_field_defaults_keep_the_client_unchanged(emulator: LocalEmulator) -> None:
    core: Core = emulator.client()
    WorkersAI(model=PRIMARY, fallback_models=[FALLBACK], client=core).chat(HI)
    assert core.reject_if_busy is False and core.transport.retry.max_retries == 3
    core.close()
