"""The emulator's rate limits over raw HTTP (``--rate-limits``): per model, the service's 429/3021 with
``Retry-After`` once a model's (scaled, short-window) limit is passed, served again once the window moves
on; other models unaffected; off by default. The window runs on a clock the tests move (tests/timing.py),
never on the wall clock: how fast a loaded machine sends requests changes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workersai.catalog import get_model
from workersai.local import LocalEmulator
from workersai.local.rules.rate_limits import RateLimitExceeded, RateLimits

from ..timing import HTTP_TIMEOUT_S, FakeTime

EMBED = "@cf/baai/bge-small-en-v1.5"  # 3000 a minute
LARGE = "@cf/baai/bge-large-en-v1.5"  # 1500 a minute
WINDOW_S = 1.0
SCALE = 0.002  # 6 a window for 3000, 3 for 1500


@pytest.fixture(scope="module")
def clock() -> FakeTime:
    return FakeTime()


@pytest.fixture(scope="module")
def limited(clock: FakeTime) -> Iterator[LocalEmulator]:
    with LocalEmulator(rate_limits=True, rate_window_s=WINDOW_S, rate_scale=SCALE, clock=clock) as emu:
        yield emu


def _run(http: httpx.Client, emu: LocalEmulator, model: str) -> httpx.Response:
    return http.post(
        f"{emu.base_url}/accounts/{emu.account_id}/ai/run/{model}",
        json={"text": ["rate limits"]},
        headers={"Authorization": f"Bearer {emu.token}"},
    )


def _until_limited(http: httpx.Client, emu: LocalEmulator, model: str) -> tuple[int, httpx.Response]:
    """Requests sent back to back until one is refused: how many were served, and the refusal."""
    for served in range(200):
        response = _run(http, emu, model)
        if response.status_code != 200:
            return served, response
    raise AssertionError(f"{model} was never rate limited")


def test_limits_come_from_the_catalog_scaled() -> None:
    limits = RateLimits(window_s=WINDOW_S, scale=SCALE)
    assert get_model(EMBED).rate_per_minute == 3000  # type: ignore[union-attr]
    assert limits.limit(EMBED) == 6
    assert limits.limit(LARGE) == 3
    assert limits.limit("@cf/nobody/unknown-model") is None
    with pytest.raises(ValueError):
        RateLimits(window_s=0)


def test_the_window_slides() -> None:
    """At most the limit in any window; a refusal says when the oldest admission leaves it."""
    now = [100.0]
    limits = RateLimits(window_s=1.0, scale=0.001, clock=lambda: now[0])  # 3 a window
    for t in (100.0, 100.4, 100.8):
        now[0] = t
        limits.admit(EMBED)
    now[0] = 100.9
    with pytest.raises(RateLimitExceeded) as refused:
        limits.admit(EMBED)
    assert refused.value.retry_after == pytest.approx(0.1)
    assert (refused.value.status, refused.value.code) == (429, 3021)
    assert refused.value.headers == {"retry-after": "0.100"}
    now[0] = 101.0  # the first admission has left the window; the refusal was not counted
    limits.admit(EMBED)
    with pytest.raises(RateLimitExceeded):
        limits.admit(EMBED)
    limits.admit(LARGE)  # another model, another window
    minute = RateLimits(clock=lambda: now[0], scale=0.001)  # 3 a minute: Retry-After in whole seconds
    for _ in range(3):
        minute.admit(EMBED)
    with pytest.raises(RateLimitExceeded) as refused:
        minute.admit(EMBED)
    assert refused.value.headers == {"retry-after": "60"}


def test_a_full_window_answers_429_3021_with_retry_after_then_serves_again(
    limited: LocalEmulator, clock: FakeTime
) -> None:
    clock.advance(WINDOW_S)  # a fresh window
    before = limited.stats()["rate_limited"]
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
        served, refused = _until_limited(http, limited, EMBED)
        assert served == 6
        assert refused.status_code == 429
        body = refused.json()
        assert body["success"] is False
        assert body["errors"][0]["code"] == 3021
        assert "rate limiting" in body["errors"][0]["message"]
        wait = float(refused.headers["retry-after"])
        assert wait == WINDOW_S  # all 6 were admitted at the same instant of the emulator's clock
        # The other model has its own window.
        assert _run(http, limited, LARGE).status_code == 200
        # Still refused while the window is full ...
        assert _run(http, limited, EMBED).status_code == 429
        # ... still refused just before the time it said ...
        clock.advance(wait - 0.001)
        assert _run(http, limited, EMBED).status_code == 429
        # ... and served once the window has moved on by that time.
        clock.advance(0.001)
        again, _ = _until_limited(http, limited, EMBED)
        assert again == 6
    # Every refusal was counted, none of the admitted requests were.
    assert limited.stats()["rate_limited"] - before == 4


def test_off_by_default(emulator: LocalEmulator) -> None:
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
        codes = {_run(http, emulator, LARGE).status_code for _ in range(30)}
    assert codes == {200}
    assert emulator.stats()["rate_limited"] == 0


def test_the_cli_takes_the_options() -> None:
    from workersai.local.cli import parse_args

    args = parse_args(["--rate-limits", "--rate-window-s", "2", "--rate-scale", "0.1"])
    assert (args.rate_limits, args.rate_window_s, args.rate_scale) == (True, 2.0, 0.1)
    assert parse_args([]).rate_limits is False
    with pytest.raises(SystemExit):
        parse_args(["--rate-window-s", "0"])


def test_the_openai_routes_count_against_the_same_model(limited: LocalEmulator, clock: FakeTime) -> None:
    """/ai/v1/embeddings names the model in its body; it shares the model's limit with /ai/run."""
    clock.advance(WINDOW_S)  # a fresh window
    headers = {"Authorization": f"Bearer {limited.token}"}
    url = f"{limited.base_url}/accounts/{limited.account_id}/ai/v1/embeddings"
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
        codes = [
            http.post(url, json={"model": LARGE, "input": ["rate limits"]}, headers=headers).status_code
            for _ in range(2)
        ]
        served, refusal = _until_limited(http, limited, LARGE)
    assert codes == [200, 200]
    assert served == 1  # 3 a window: two went through /ai/v1
    assert (refusal.status_code, refusal.json()["errors"][0]["code"]) == (429, 3021)


def test_turned_on_changed_and_off_while_running(emulator: LocalEmulator) -> None:
    """/__local__/rate-limits (EmulatorControl.set_rate_limits/clear_rate_limits): a benchmark warms an
    emulator, then limits it, without a restart."""
    with httpx.Client(timeout=HTTP_TIMEOUT_S) as http:
        try:
            assert emulator.set_rate_limits(window_s=60, scale=SCALE) == {"window_s": 60.0, "scale": SCALE}
            served, refusal = _until_limited(http, emulator, LARGE)
            assert served == 3 and refusal.status_code == 429
        finally:
            emulator.clear_rate_limits()
        assert _run(http, emulator, LARGE).status_code == 200
    bad = httpx.post(
        f"{emulator.url}/__local__/rate-limits",
        json={"window_s": 0},
        headers={"Authorization": f"Bearer {emulator.token}"},
    )
    assert (bad.status_code, bad.json()["errors"][0]["code"]) == (400, 5006)
