"""The SSE relay: text frames, the answering model, a clean end on a cut stream or a timeout, and the
upstream stream stopped when the browser leaves. Upstream is the emulator over real HTTP."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from langchain_workersai import ChatWorkersAI
from workersai.local import LocalEmulator
from workersai.sse_relay import SSEResponse, relay

QUESTION = "Tell me about error 3040 and error 3036 in Workers AI."


def events(body: str) -> list[tuple[str, str]]:
    """(event, data) of each SSE frame."""
    out = []
    for block in body.strip().split("\n\n"):
        event, data = "message", ""
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((event, data))
    return out


async def post(llm: ChatWorkersAI, timeout: float | None = None) -> list[tuple[str, str]]:
    async def chat(request: Request) -> SSEResponse:
        return SSEResponse(llm.astream(QUESTION), timeout=timeout)

    app = Starlette(routes=[Route("/chat", chat, methods=["POST"])])
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://relay", timeout=120) as http:
        answer = await http.post("/chat")
    assert answer.headers["content-type"].startswith("text/event-stream")
    return events(answer.text)


def chat_model(emulator: LocalEmulator) -> ChatWorkersAI:
    return ChatWorkersAI(
        account_id=emulator.account_id, api_key=emulator.token, base_url=emulator.base_url, max_tokens=40
    )


async def test_a_stream_is_relayed_with_the_model_and_done(emulator: LocalEmulator) -> None:
    frames = await post(chat_model(emulator))
    texts = [json.loads(d)["text"] for e, d in frames if e == "message" and d != "[DONE]"]
    assert len(texts) > 3 and "".join(texts).strip()
    assert frames[-2][0] == "meta" and json.loads(frames[-2][1])["model"] == chat_model(emulator).model
    assert frames[-1] == ("message", "[DONE]")


async def test_a_cut_stream_ends_with_an_error_event_then_done(emulator: LocalEmulator) -> None:
    emulator.set_faults(cut_stream_after=3)
    frames = await post(chat_model(emulator))
    kinds = [e for e, _ in frames]
    assert "message" in kinds[:-2]  # some text got through first
    assert frames[-2][0] == "error" and json.loads(frames[-2][1])["type"] == "StreamInterrupted"
    assert frames[-1] == ("message", "[DONE]")


async def test_a_stream_past_its_timeout_ends_with_an_error_event_then_done(emulator: LocalEmulator) -> None:
    emulator.set_faults(token_interval_ms=2000)
    frames = await post(chat_model(emulator), timeout=0.5)
    assert frames[-2][0] == "error" and json.loads(frames[-2][1])["type"] == "timeout"
    assert frames[-1] == ("message", "[DONE]")


async def test_the_upstream_stops_when_the_browser_leaves(emulator: LocalEmulator) -> None:
    emulator.set_faults(token_interval_ms=200)
    closed, chunks_read = asyncio.Event(), [0]
    first_text = asyncio.Event()
    sent: list[dict[str, Any]] = []

    with emulator.client() as client:

        async def upstream() -> AsyncIterator[str]:
            try:
                async for chunk in client.astream_chat(QUESTION, max_tokens=200):
                    chunks_read[0] += 1
                    yield chunk.text
            finally:
                closed.set()

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)
            if message.get("body", b"").startswith(b"data: {"):
                first_text.set()

        async def receive() -> dict[str, Any]:
            await first_text.wait()
            return {"type": "http.disconnect"}

        await asyncio.wait_for(relay({"type": "http"}, receive, send, upstream()), 60)
    assert closed.is_set()
    assert chunks_read[0] < 20  # of up to 200 tokens: it stopped, it did not read on
    assert not any(m.get("body") == b"data: [DONE]\n\n" for m in sent)  # nobody was left to read it


async def test_a_llamaindex_stream_is_relayed_with_the_model(emulator: LocalEmulator) -> None:
    from llama_index.core.base.llms.types import ChatMessage

    from llamaindex_workersai import WorkersAI as LlamaWorkersAI

    llm = LlamaWorkersAI(
        account_id=emulator.account_id, api_key=emulator.token, base_url=emulator.base_url, max_tokens=20
    )
    sent: list[bytes] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message.get("body", b""))

    async def receive() -> dict[str, Any]:
        await asyncio.Event().wait()  # the browser stays
        return {"type": "http.disconnect"}

    stream = await llm.astream_chat([ChatMessage(role="user", content=QUESTION)])
    await asyncio.wait_for(relay({"type": "http"}, receive, send, stream), 60)
    frames = events(b"".join(sent).decode())
    assert any(e == "message" and d.startswith('{"text"') for e, d in frames)
    assert frames[-2][0] == "meta" and json.loads(frames[-2][1])["model"] == llm.model
    assert frames[-1] == ("message", "[DONE]")
