"""Retries: through capacity bursts, never on the daily quota or bad input, honouring Retry-After."""

from __future__ import annotations

import pytest

from workersai import (
    APIConnectionError,
    APITimeoutError,
    BadInput,
    CapacityExceeded,
    DailyQuotaExceeded,
    RetryPolicy,
    WorkersAI,
)
from workersai.local import LocalEmulator

from .conftest import RequestLog, Sleeps

EMBED = "@cf/baai/bge-small-en-v1.5"


def test_succeeds_through_a_3040_burst(emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3040", fail_next=3)
    assert len(client.embed(["hello"], model=EMBED)) == 1
    assert emulator.set_faults()["injected"] >= 3
    assert len(sleeps.waits) == 3
    assert all(w > 0 for w in sleeps.waits)


async def test_async_succeeds_through_a_3040_burst(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3040", fail_next=2)
    assert len(await client.aembed(["hello"], model=EMBED)) == 1
    assert len(sleeps.waits) == 2


def test_gives_up_on_3036_at_once(emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3036", fail_next=5)
    with pytest.raises(DailyQuotaExceeded) as info:
        client.embed(["hello"], model=EMBED)
    assert info.value.attempts == 1
    assert sleeps.waits == []


def test_bad_input_is_not_retried(logged_client: WorkersAI, request_log: RequestLog, sleeps: Sleeps) -> None:
    with pytest.raises(BadInput):
        logged_client.run(EMBED, {"text": []})
    assert len(request_log.requests) == 1
    assert sleeps.waits == []


def test_honours_retry_after(emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3040", fail_next=2, retry_after=1.5)
    client.embed(["hello"], model=EMBED)
    assert sleeps.waits == [1.5, 1.5]


def test_retry_after_is_capped(emulator: LocalEmulator, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3021", fail_next=1, retry_after=3600)
    policy = RetryPolicy(max_retries=2, max_retry_after=2.0, sleep=sleeps)
    with emulator.client(retry_policy=policy) as client:
        client.embed(["hello"], model=EMBED)
    assert sleeps.waits == [2.0]


def test_retries_stop_at_their_bound_and_report_attempts(emulator: LocalEmulator, sleeps: Sleeps) -> None:
    emulator.set_faults(error="3040", fail_next=10)
    policy = RetryPolicy(max_retries=2, sleep=sleeps)
    with emulator.client(retry_policy=policy) as client, pytest.raises(CapacityExceeded) as info:
        client.embed(["hello"], model=EMBED)
    assert info.value.attempts == 3
    assert "attempts=3" in str(info.value)
    assert len(sleeps.waits) == 2


def test_backoff_grows(emulator: LocalEmulator, sleeps: Sleeps) -> None:
    emulator.set_faults(error="500", fail_next=4)
    policy = RetryPolicy(max_retries=4, initial_backoff=1.0, max_backoff=100, jitter=0.0, sleep=sleeps)
    with emulator.client(retry_policy=policy) as client:
        client.embed(["hello"], model=EMBED)
    assert sleeps.waits == [1.0, 2.0, 4.0, 8.0]


def test_connection_reset_is_retried(emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps) -> None:
    emulator.set_faults(error="reset", fail_next=1)
    assert len(client.embed(["hello"], model=EMBED)) == 1
    assert len(sleeps.waits) == 1


def test_connection_reset_without_retries_is_a_connection_error(emulator: LocalEmulator) -> None:
    emulator.set_faults(error="reset", fail_next=1)
    with emulator.client(max_retries=0) as client, pytest.raises(APIConnectionError):
        client.embed(["hello"], model=EMBED)


def test_slow_response_past_the_client_timeout(emulator: LocalEmulator) -> None:
    emulator.set_faults(latency_ms=500)
    with emulator.client(max_retries=0, timeout=0.1) as client, pytest.raises(APITimeoutError) as caught:
        client.embed(["hello"], model=EMBED)
    assert caught.value.request_sent  # the service may have acted on it


def test_a_connection_never_made_says_the_request_was_not_sent() -> None:
    import socket

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    base = f"http://127.0.0.1:{port}/client/v4"
    client = WorkersAI(account_id="a", api_token="t", base_url=base, max_retries=0)
    with client, pytest.raises(APIConnectionError) as caught:
        client.embed(["hello"], model=EMBED)
    assert not caught.value.request_sent


def test_stream_is_retried_before_its_first_chunk(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="3040", fail_next=2)
    chunks = list(client.stream_chat("hello", max_tokens=5))
    assert "".join(c.text for c in chunks)
    assert len(sleeps.waits) == 2


async def test_async_stream_is_retried_before_its_first_chunk(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps
) -> None:
    emulator.set_faults(error="503", fail_next=1)
    chunks = [c async for c in client.astream_chat("hello", max_tokens=5)]
    assert "".join(c.text for c in chunks)
    assert len(sleeps.waits) == 1


def test_each_retry_is_logged_at_warning_with_code_and_wait(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.set_faults(error="3040", fail_next=2, retry_after=1.5)
    with caplog.at_level("WARNING", logger="workersai"):
        client.embed(["hello"], model=EMBED)
    retries = [r for r in caplog.records if r.levelname == "WARNING" and "retrying" in r.getMessage()]
    assert [r.getMessage() for r in retries] == [
        f"Workers AI call failed with CapacityExceeded (status=429, code=3040) on attempt {n}; "
        "retrying in 1.50 s"
        for n in (1, 2)
    ]
    assert emulator.token not in caplog.text
