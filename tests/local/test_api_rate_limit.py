"""The Cloudflare API's global budget in the emulator (``--api-rate-limit``), over raw HTTP with an
injected clock: the ``Ratelimit`` / ``Ratelimit-Policy`` headers on every answer, 429/971 with
``retry-after`` once a token's quota is spent, every product counted, blocked for the window."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workersai.local import LocalEmulator
from workersai.local.rules.api_limits import ApiRateLimit

from ..timing import FakeTime


@pytest.fixture(scope="module")
def clock() -> FakeTime:
    return FakeTime(1000.0)


@pytest.fixture(scope="module")
def budget(clock: FakeTime) -> Iterator[LocalEmulator]:
    with LocalEmulator(api_rate_limit=True, api_rate_quota=4, api_rate_window_s=300, clock=clock) as emu:
        yield emu


def _get(http: httpx.Client, emu: LocalEmulator, path: str) -> httpx.Response:
    return http.get(
        f"{emu.base_url}/accounts/{emu.account_id}/{path}",
        headers={"Authorization": f"Bearer {emu.token}"},
    )


def test_headers_count_down_then_429_971_until_the_block_ends(budget: LocalEmulator, clock: FakeTime) -> None:
    with httpx.Client(timeout=60) as http:
        seen = []
        for path in ["ai/models/search", "vectorize/v2/indexes", "ai/models/search", "d1/database"]:
            answer = _get(http, budget, path)
            assert answer.status_code == 200, answer.text
            seen.append(answer.headers["ratelimit"])
            assert answer.headers["ratelimit-policy"] == '"default";q=4;w=300'
            assert "retry-after" not in answer.headers
            clock.now += 10
        assert seen == [
            '"default";r=3;t=300',
            '"default";r=2;t=290',
            '"default";r=1;t=280',
            '"default";r=0;t=270',
        ]
        refused = _get(http, budget, "vectorize/v2/indexes")
        assert refused.status_code == 429
        assert refused.json()["errors"] == [
            {"code": 971, "message": "Please wait and consider throttling your request speed"}
        ]
        assert refused.headers["retry-after"] == "300"
        assert refused.headers["ratelimit"] == '"default";r=0;t=300'
        clock.now += 299
        assert _get(http, budget, "ai/models/search").status_code == 429  # blocked for the whole window
        clock.now += 1
        again = _get(http, budget, "ai/models/search")
        assert again.status_code == 200 and again.headers["ratelimit"] == '"default";r=3;t=300'
        stats = http.get(f"{budget.url}/__local__/stats", headers={"Authorization": f"Bearer {budget.token}"})
        assert stats.json()["result"]["api_rate_limited"] == 2


def test_the_window_slides_per_token() -> None:
    now = [0.0]
    limit = ApiRateLimit(quota=2, window_s=10, block_s=10, clock=lambda: now[0])
    assert limit.admit("a")["ratelimit"] == '"default";r=1;t=10'
    now[0] = 6
    assert limit.admit("a")["ratelimit"] == '"default";r=0;t=4'
    assert limit.admit("b")["ratelimit"] == '"default";r=1;t=10'  # another token, its own budget
    now[0] = 10.5  # the first request has left the window
    assert limit.admit("a")["ratelimit"] == '"default";r=0;t=6'
    with pytest.raises(ValueError):
        ApiRateLimit(quota=0)


def test_off_by_default_no_headers(emulator: LocalEmulator) -> None:
    with httpx.Client(timeout=60) as http:
        answer = _get(http, emulator, "ai/models/search")
    assert answer.status_code == 200 and "ratelimit" not in answer.headers


def test_the_cli_flags_reach_the_config() -> None:
    from workersai.local.cli import parse_args

    args = parse_args(
        ["--api-rate-limit", "--api-rate-quota", "50", "--api-rate-window-s", "10", "--today", "2026-06-01"]
    )
    assert (args.api_rate_limit, args.api_rate_quota, args.api_rate_window_s) == (True, 50, 10.0)
    assert args.today.isoformat() == "2026-06-01" and args.serve_deprecated is False
    assert parse_args(["--serve-deprecated"]).serve_deprecated is True
    defaults = parse_args([])
    assert (defaults.api_rate_limit, defaults.api_rate_quota, defaults.today) == (False, 1200, None)
    with pytest.raises(SystemExit):
        parse_args(["--api-rate-quota", "0"])
