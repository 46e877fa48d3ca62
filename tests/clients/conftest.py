"""Real clients nobody here wrote, unmodified, against the emulator (issue #26): the official
``cloudflare`` and ``openai`` SDKs, ``langchain-openai``, ``langchain-cloudflare`` and LlamaIndex's
Cloudflare embeddings. They are pinned in ``tests/clients/requirements.txt`` and installed into the test
venv by ``make pytest`` (never dependencies of the package); a missing one skips its tests.

Every call a user would make passes, or is ``xfail(strict=True)`` with the cited reason (the client's own
bug, or the service's documented behaviour). Text comes from the extractive generator (the test
session's default): these tests check shapes and round trips, not wording."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import httpx
import pytest

from workersai.local import LocalEmulator


def need(module: str) -> ModuleType:
    """``module``, or a skip naming the pin to install."""
    return pytest.importorskip(
        module, reason=f"{module} is not installed: `pip install -r tests/clients/requirements.txt`"
    )


class TooManyRequests(Exception):
    """A client sent more requests than the test allows (a paginator that never stops)."""


class RequestBudget:
    """Counts a client's requests and stops it past ``limit`` (an httpx request hook)."""

    def __init__(self, limit: int) -> None:
        self.limit, self.sent = limit, 0

    def __call__(self, request: httpx.Request) -> None:
        self.sent += 1
        if self.sent > self.limit:
            raise TooManyRequests(f"more than {self.limit} requests ({request.method} {request.url.path})")


@pytest.fixture
def budget() -> RequestBudget:
    return RequestBudget(limit=50)


@pytest.fixture
def cf(emulator: LocalEmulator, budget: RequestBudget) -> Iterator[object]:
    """The official cloudflare SDK on the emulator, its requests counted and bounded."""
    cloudflare = need("cloudflare")
    http = httpx.Client(timeout=60, event_hooks={"request": [budget]})
    with cloudflare.Cloudflare(
        api_token=emulator.token, base_url=emulator.base_url, max_retries=0, http_client=http
    ) as client:
        yield client


@pytest.fixture
def oai(emulator: LocalEmulator) -> object:
    """The official openai SDK on the emulator's OpenAI-compatible endpoints."""
    openai = need("openai")
    return openai.OpenAI(
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1",
        api_key=emulator.token,
        max_retries=0,
    )
