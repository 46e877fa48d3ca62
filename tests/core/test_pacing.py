"""The pacer without a server: a fake clock, the schedule it books, how 429s move it."""

from __future__ import annotations

import itertools
import threading

import pytest

from workersai.pacing import Pacer, PacingPolicy

from ..timing import FakeTime

EMBED = "@cf/baai/bge-small-en-v1.5"  # 3000 a minute in the catalog
UNKNOWN = "@cf/nobody/not-in-the-catalog"


def _send_times(pacer: Pacer, clock: FakeTime, model: str, n: int) -> list[float]:
    """Book ``n`` requests at once (as many threads would): when each may go."""
    return [clock.now + pacer.reserve(model) for _ in range(n)]


def test_a_burst_then_the_catalog_rate_below_its_limit() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    times = _send_times(pacer, clock, EMBED, 6000)
    assert times[:60] == pytest.approx([clock.now] * 60)  # 2% of 3000 at once
    gaps = [b - a for a, b in itertools.pairwise(times[59:])]
    assert gaps == pytest.approx([60 / (3000 * 0.97)] * len(gaps))  # then 97% of the limit
    # In any minute, at most 99% of the limit is sent.
    most = max(sum(1 for t in times if start <= t < start + 60) for start in times)
    assert most <= 0.99 * 3000
    assert pacer.rate(EMBED) == pytest.approx(3000 * 0.97 / 60)


def test_policy_limits_window_and_scale() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(PacingPolicy(window_s=0.5, scale=0.01, limits={UNKNOWN: 600}), clock=clock)
    assert pacer.rate(EMBED) == pytest.approx(30 * 0.97 / 0.5)  # 3000 * 0.01 a half second
    assert pacer.rate(UNKNOWN) == pytest.approx(6 * 0.97 / 0.5)
    with pytest.raises(ValueError):
        PacingPolicy(window_s=0)


def test_a_429_holds_everyone_lowers_the_rate_once_and_successes_win_it_back() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    ceiling = pacer.rate(EMBED)
    assert ceiling is not None
    pacer.rate_limited(EMBED, 2.0)
    pacer.rate_limited(EMBED, 2.0)  # the same refusal seen by another request: one episode
    assert pacer.rate(EMBED) == pytest.approx(ceiling)  # a lone refusal only holds
    assert pacer.reserve(EMBED) == pytest.approx(2.0)  # every request waits out Retry-After
    assert pacer.reserve(EMBED, hold=False) < 2.0  # a retry that already waited it does not
    clock.now += 2.5
    pacer.rate_limited(EMBED, 1.0)  # a second episode within a window: the limit is lower: lowered
    assert pacer.rate(EMBED) == pytest.approx(ceiling * 0.8)
    clock.now += 1.5
    pacer.rate_limited(EMBED, 1.0)  # and again
    assert pacer.rate(EMBED) == pytest.approx(ceiling * 0.8 * 0.8)
    for _ in range(9000):  # three minutes' worth of successes at the rate restore most of it
        pacer.succeeded(EMBED)
    rate = pacer.rate(EMBED)
    assert rate is not None and ceiling * 0.9 < rate <= ceiling
    assert pacer.rate_limited_count == 4


def test_a_lone_refusal_after_a_quiet_window_only_holds() -> None:
    """At a paced rate, one refusal with none in the window before it is a request that reached the
    service at a window's edge: the rate stays; only a second one within a window lowers it."""
    clock = FakeTime(1000.0)
    pacer = Pacer(PacingPolicy(window_s=5.0), clock=clock)
    ceiling = pacer.rate(EMBED)
    pacer.rate_limited(EMBED, 0.5)
    clock.now += 6.0  # more than a window later
    pacer.rate_limited(EMBED, 0.5)
    assert pacer.rate(EMBED) == pytest.approx(ceiling)
    clock.now += 3.0  # within a window of the last: lowered
    pacer.rate_limited(EMBED, 0.5)
    assert pacer.rate(EMBED) == pytest.approx(ceiling * 0.8)


def test_an_unknown_model_is_not_paced_until_a_429_teaches_a_rate() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    for _ in range(100):  # 100 a second, unpaced
        assert pacer.reserve(UNKNOWN) == 0.0
        clock.now += 0.01
    assert pacer.rate(UNKNOWN) is None
    pacer.rate_limited(UNKNOWN, None)
    rate = pacer.rate(UNKNOWN)
    assert rate is not None and rate == pytest.approx(100 * 0.8, rel=0.02)
    clock.now += 5
    times = _send_times(pacer, clock, UNKNOWN, 10)
    assert times[1] - times[0] == pytest.approx(1 / rate)


def test_threads_share_one_schedule() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(PacingPolicy(window_s=1.0, scale=1 / 30), clock=clock)  # 100 a second: burst 2
    times: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        mine = [clock.now + pacer.reserve(EMBED) for _ in range(200)]
        with lock:
            times.extend(mine)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    times.sort()
    assert len(times) == 1600
    # No slot is booked twice: after the burst, sends are one interval apart whichever thread booked.
    gaps = [b - a for a, b in itertools.pairwise(times[2:])]
    assert min(gaps) == pytest.approx(1 / 97)


# -- the global API budget (Ratelimit headers, 971) ---------------------------------------------------


def test_the_global_budget_is_unknown_until_stated_or_sent() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    assert [pacer.reserve(None) for _ in range(50)] == [0.0] * 50  # nothing known: nothing held
    pacer.observe({"content-type": "application/json"})  # no headers: still nothing
    assert pacer.reserve(None) == 0.0
    stated = Pacer(PacingPolicy(api_quota=1200, api_window_s=300), clock=clock)
    times = [clock.now + stated.reserve(None) for _ in range(1200)]
    most = max(sum(1 for t in times if start <= t < start + 300) for start in times)
    assert most <= 1200 * 0.99  # within the budget in any window
    with pytest.raises(ValueError):
        PacingPolicy(api_quota=0)


def test_ratelimit_policy_sets_the_ceiling_and_ratelimit_spreads_what_is_left() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    pacer.observe({"ratelimit-policy": '"default";q=1200;w=300', "ratelimit": '"default";r=1199;t=300'})
    times = [clock.now + pacer.reserve(None) for _ in range(100)]
    assert times[:23] == pytest.approx([clock.now] * 23)  # a burst of 2% of what is left
    gaps = [b - a for a, b in itertools.pairwise(times[22:])]
    assert gaps == pytest.approx([300 / (1199 * 0.97)] * len(gaps))  # r over t, at headroom
    # 10 left and 100 s to go: 10 requests spread over the 100 s, whatever the policy allows.
    pacer = Pacer(clock=clock)
    pacer.observe({"ratelimit-policy": '"default";q=1200;w=300', "ratelimit": '"default";r=10;t=100'})
    times = [clock.now + pacer.reserve(None) for _ in range(40)]
    assert sum(1 for t in times if t < clock.now + 100) <= 10  # no burst beyond what is left
    assert times[-1] - times[-2] == pytest.approx(100 / (10 * 0.97))


def test_none_left_holds_every_request_and_a_971_holds_without_slowing_the_model() -> None:
    clock = FakeTime(1000.0)
    pacer = Pacer(clock=clock)
    pacer.observe({"ratelimit": '"default";r=0;t=42'})
    assert pacer.reserve(EMBED) == pytest.approx(42.0)
    assert pacer.reserve(None) == pytest.approx(42.0)
    clock.now += 42
    rate = pacer.rate(EMBED)
    pacer.api_limited(300.0)
    assert pacer.api_limited_count == 1 and pacer.rate_limited_count == 0
    assert pacer.reserve(EMBED) == pytest.approx(300.0)
    assert pacer.rate(EMBED) == rate  # the model's own rate is not lowered by the global budget
    assert pacer.reserve(EMBED, hold=False) >= 300.0  # a model retry still waits for the budget
