"""The emulator's AI Gateway cache is bounded by bytes: least recently used out first, expired answers
dropped (#25 item 7). Measured by the bytes the cache holds, not by the process's memory; time is an
injected clock."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workersai.local import LocalEmulator
from workersai.local.gateway_cache import GatewayCache

from ..timing import FakeTime

MODEL = "@cf/baai/bge-small-en-v1.5"


def test_least_recently_used_go_first_and_the_budget_holds() -> None:
    cache = GatewayCache(max_bytes=300, clock=FakeTime(1000.0))
    for i in range(10):
        cache.put(f"k{i}", bytes(100), "application/json", ttl=60)
        assert cache.bytes <= 300
    assert len(cache) == 3 and cache.bytes == 300
    assert cache.get("k0") is None and cache.get("k9") is not None
    assert cache.get("k7") is not None  # now the most recently used
    cache.put("k10", bytes(100), "application/json", ttl=60)
    assert cache.get("k8") is None and cache.get("k7") is not None and cache.get("k10") is not None
    cache.put("huge", bytes(301), "application/json", ttl=60)  # larger than the budget: not kept
    assert cache.get("huge") is None and cache.bytes == 300


def test_expired_answers_are_dropped_when_the_next_is_stored() -> None:
    clock = FakeTime(1000.0)
    cache = GatewayCache(max_bytes=10_000, clock=clock)
    for i in range(60):  # the 60 answers (3 MB each there; 100 bytes here)
        cache.put(f"k{i}", bytes(100), "application/json", ttl=30)
    assert cache.bytes == 6000
    clock.now += 31
    assert cache.get("k5") is None
    cache.put("fresh", bytes(100), "application/json", ttl=30)
    assert len(cache) == 1 and cache.bytes == 100


@pytest.fixture
def small_cache(
    emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[GatewayCache, FakeTime]]:
    clock = FakeTime(1000.0)
    cache = GatewayCache(max_bytes=40_000, clock=clock)
    monkeypatch.setattr(emulator.app.state.emulator.gateways, "cache", cache)
    yield cache, clock


def test_the_gateway_route_stays_in_its_budget(
    emulator: LocalEmulator, small_cache: tuple[GatewayCache, FakeTime]
) -> None:
    cache, clock = small_cache
    url = f"{emulator.url}/v1/{emulator.account_id}/gw/workers-ai/{MODEL}"
    headers = {"cf-aig-cache-ttl": "60", "Authorization": f"Bearer {emulator.token}"}
    statuses = []
    with httpx.Client(headers=headers, timeout=60) as http:
        for i in range(12):  # each answer is a 384-d vector: about 8 KB of JSON
            response = http.post(url, json={"text": f"sentence number {i}"})
            assert response.status_code == 200
            statuses.append(response.headers["cf-aig-cache-status"])
            assert cache.bytes <= cache.max_bytes
        assert statuses == ["MISS"] * 12
        assert 0 < len(cache) < 12
        assert http.post(url, json={"text": "sentence number 11"}).headers["cf-aig-cache-status"] == "HIT"
        assert http.post(url, json={"text": "sentence number 0"}).headers["cf-aig-cache-status"] == "MISS"
        clock.now += 61
        assert http.post(url, json={"text": "sentence number 11"}).headers["cf-aig-cache-status"] == "MISS"
    assert len(cache) == 1  # storing it again dropped every expired answer
