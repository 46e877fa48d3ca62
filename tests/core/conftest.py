"""Unit tests of the core client with no server: requests go to an ``httpx.MockTransport``."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import orjson
import pytest

from workersai import RetryPolicy, WorkersAI

ACCOUNT = "acct"
TOKEN = "tok-0123456789"
BASE_URL = "https://api.test/client/v4"

Handler = Callable[[httpx.Request], httpx.Response]


def envelope(result: Any, status: int = 200) -> httpx.Response:
    return httpx.Response(status, json={"result": result, "success": True, "errors": [], "messages": []})


def error(status: int, code: int, message: str) -> httpx.Response:
    body = {"result": None, "success": False, "errors": [{"code": code, "message": message}], "messages": []}
    return httpx.Response(status, json=body)


def sse(*frames: bytes | str, done: bool = True) -> httpx.Response:
    """An event-stream answer with these ``data:`` payloads (dicts are sent as JSON)."""
    lines = [f"data: {f if isinstance(f, str) else f.decode()}\n\n" for f in frames]
    if done:
        lines.append("data: [DONE]\n\n")
    return httpx.Response(200, headers={"content-type": "text/event-stream"}, content="".join(lines).encode())


def chat_answer(text: str = "ok") -> httpx.Response:
    return envelope({"response": text, "usage": {"prompt_tokens": 1, "completion_tokens": 1}})


@dataclass
class Wire:
    """What the client sent, and the handler answering it (``answer`` may be replaced per test)."""

    answer: Handler = field(default=lambda request: chat_answer())
    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self.answer(request)

    @property
    def bodies(self) -> list[dict[str, Any]]:
        return [orjson.loads(r.content) for r in self.requests]

    @property
    def body(self) -> dict[str, Any]:
        return self.bodies[-1]

    def client(self, **kwargs: Any) -> WorkersAI:
        transport = httpx.MockTransport(self)
        options: dict[str, Any] = {
            "account_id": ACCOUNT,
            "api_token": TOKEN,
            "base_url": BASE_URL,
            "retry_policy": RetryPolicy(max_retries=2, sleep=lambda _: None, async_sleep=_no_sleep),
            "http_client": httpx.Client(transport=transport),
            "async_http_client": httpx.AsyncClient(transport=transport),
            **kwargs,
        }
        return WorkersAI(**options)


async def _no_sleep(_: float) -> None:
    return None


@pytest.fixture
def wire() -> Wire:
    return Wire()


@pytest.fixture
def core(wire: Wire) -> Iterator[WorkersAI]:
    with wire.client() as client:
        yield client
