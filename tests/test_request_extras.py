"""What every request carries beyond its inputs: the User-Agent with the package's version, and the
escape hatches ``extra_body`` / ``extra_headers`` (openai-python's names) for options the library does
not model. Checked where the emulator receives the request: its ASGI app, wrapped to record it."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

import workersai
from workersai import BadInput, TermsNotAgreed
from workersai.chat import merge_chat_options
from workersai.local import LocalEmulator

CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EMBED = "@cf/baai/bge-base-en-v1.5"
# Options the library does not model, which the emulator checks (and so refuses when out of range):
# max_completion_tokens (OpenAI-schema models' pages) and a pooling outside bge's enum.
NO_TOKENS = {"max_completion_tokens": 0}
BAD_POOLING = {"pooling": "nope"}
# A header the library does not model: the emulator's per-request fault plan, here "terms not agreed".
FAULT = {"x-workersai-local-faults": json.dumps({"error": "5016", "error_rate": 1.0})}


class Received:
    """The emulator's app, recording the headers and JSON body of every HTTP request it receives."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.headers: list[dict[str, str]] = []
        self.bodies: list[Any] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        self.headers.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        chunks, more = [], True
        while more:
            message = await receive()
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        self.bodies.append(json.loads(body) if body else None)
        sent = False

        async def replay() -> dict[str, Any]:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)


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


def _stream(client: workersai.WorkersAI, **kwargs: Any) -> None:
    list(client.stream_chat("Where is Paris?", model=CHAT, **kwargs))


async def _astream(client: workersai.WorkersAI, **kwargs: Any) -> None:
    async for _ in client.astream_chat("Where is Paris?", model=CHAT, **kwargs):
        pass


SYNC: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "run": (lambda c, **kw: c.run(CHAT, {"prompt": "Hi"}, **kw), NO_TOKENS),
    "chat": (lambda c, **kw: c.chat("Hi", model=CHAT, **kw), NO_TOKENS),
    "stream_chat": (_stream, NO_TOKENS),
    "embed": (lambda c, **kw: c.embed(["hi"], model=EMBED, **kw), BAD_POOLING),
    "embed_raw": (lambda c, **kw: c.embed_raw(["hi"], model=EMBED, **kw), BAD_POOLING),
}
ASYNC: dict[str, tuple[Callable[..., Any], dict[str, Any]]] = {
    "arun": (lambda c, **kw: c.arun(CHAT, {"prompt": "Hi"}, **kw), NO_TOKENS),
    "achat": (lambda c, **kw: c.achat("Hi", model=CHAT, **kw), NO_TOKENS),
    "astream_chat": (_astream, NO_TOKENS),
    "aembed": (lambda c, **kw: c.aembed(["hi"], model=EMBED, **kw), BAD_POOLING),
    "aembed_raw": (lambda c, **kw: c.aembed_raw(["hi"], model=EMBED, **kw), BAD_POOLING),
}


@pytest.mark.parametrize("call", SYNC)
def test_extra_body_and_extra_headers_reach_the_emulator(emulator: LocalEmulator, call: str) -> None:
    send, extra = SYNC[call]
    with emulator.client(max_retries=0) as client:
        with pytest.raises(BadInput, match=next(iter(extra))):
            send(client, extra_body=extra)
        with pytest.raises(TermsNotAgreed):
            send(client, extra_headers=FAULT)


@pytest.mark.parametrize("call", ASYNC)
async def test_extra_body_and_extra_headers_reach_the_emulator_async(
    aclient: workersai.WorkersAI, received: Received, call: str
) -> None:
    send, extra = ASYNC[call]
    with pytest.raises(BadInput, match=next(iter(extra))):
        await send(aclient, extra_body=extra)
    assert received.bodies[-1][next(iter(extra))] == extra[next(iter(extra))]
    with pytest.raises(TermsNotAgreed):
        await send(aclient, extra_headers=FAULT)
    assert received.headers[-1]["x-workersai-local-faults"] == FAULT["x-workersai-local-faults"]


async def test_extra_body_is_merged_last_over_the_librarys_own(
    aclient: workersai.WorkersAI, received: Received
) -> None:
    result = await aclient.achat(
        "Tell me about Paris.", model=CHAT, max_tokens=50, extra_body={"max_tokens": 2, "top_k": 3}
    )
    assert received.bodies[-1]["max_tokens"] == 2 and received.bodies[-1]["top_k"] == 3
    assert "extra_body" not in received.bodies[-1]
    assert result.usage is not None and result.usage.completion_tokens <= 2


def test_a_calls_extra_body_merges_with_the_models_key_by_key() -> None:
    merged = merge_chat_options(
        {"temperature": 0.2, "extra_body": {"a": 1, "b": 1}}, {"extra_body": {"b": 2, "c": 3}}
    )
    assert merged == {"temperature": 0.2, "extra_body": {"a": 1, "b": 2, "c": 3}}
    assert merge_chat_options({"extra_body": {"a": 1}}, {}) == {"extra_body": {"a": 1}}
