"""What every request carries beyond its inputs: the User-Agent with the package's version, and the
escape hatches ``extra_body`` / ``extra_headers`` (openai-python's names) for options the library does
not model. Checked where the emulator receives the request: its ASGI app, wrapped to record it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

import workersai
from workersai.local import LocalEmulator


class Received:
    """The emulator's app, recording the headers of every HTTP request it receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@pytest.fixture
def received(emulator: LocalEmulator) -> Received:
    return Received(emulator.app)


@pytest.fixture
def aclient(emulator: LocalEmulator, received: Received) -> Iterator[workersai.WorkersAI]:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=received), timeout=60)
    with emulator.client(async_http_client=http, max_retries=0) as client:
        yield client


def test_the_version_has_one_source() -> None:
    from workersai._version import __version__

    assert workersai.__version__ == __version__
    assert __version__.count(".") >= 2


async def test_the_user_agent_the_emulator_receives_carries_the_version(
    aclient: workersai.WorkersAI, received: Received
) -> None:
    await aclient.aembed(["hello"])
    assert received.headers[-1]["user-agent"] == f"workersai-python/{workersai.__version__}"
