"""What every streamed family shares: SSE framing, pacing and cuts, padding, tool-call deltas."""

from __future__ import annotations

import asyncio
import json
import random
import string
import uuid
from collections.abc import AsyncIterator, Iterable
from typing import Any

from starlette.concurrency import iterate_in_threadpool

from ..faults import INJECTED, Decision
from ..generation import Generation

DONE = b"data: [DONE]\n\n"


def padding() -> str:
    return "".join(random.choices(string.ascii_letters + string.digits, k=random.randint(1, 24)))


def sse(data: Any) -> bytes:
    return f"data: {json.dumps(data)}\n\n".encode()


def _argument_pieces(arguments: dict[str, Any]) -> list[str]:
    text = json.dumps(arguments)
    step = max(1, len(text) // 3)
    return [text[i : i + step] for i in range(0, len(text), step)] or [""]


async def paced(frames: Iterable[bytes], decision: Decision, *, live: bool = False) -> AsyncIterator[bytes]:
    """Send the frames, paced ``token_interval_ms`` apart (the service's generation speed), cut after
    ``cut_stream_after`` frames when that fault is set. ``live`` frames come from a model generating
    as they are read: each is read on a worker thread and sent as soon as it exists, and a client that
    goes away stops the reading, so the model stops generating."""
    pause = decision.token_interval_ms / 1000
    source = iterate_in_threadpool(iter(frames)) if live else _ready(frames)
    i = 0
    async for frame in source:
        if decision.cut_stream_after is not None and i >= decision.cut_stream_after:
            raise ConnectionResetError(f"{INJECTED} stream cut")
        if i and pause:
            await asyncio.sleep(pause)
        yield frame
        i += 1
        await asyncio.sleep(0)


async def _ready(frames: Iterable[bytes]) -> AsyncIterator[bytes]:
    for frame in frames:
        yield frame


def tool_call_deltas(gen: Generation) -> list[dict[str, Any]]:
    """Each tool call as streamed pieces: id, type and name first, the arguments in parts, by index."""
    deltas = []
    for index, call in enumerate(gen.tool_calls):
        call_id = f"call_{uuid.uuid4().hex[:24]}"
        for n, part in enumerate(_argument_pieces(call["arguments"])):
            delta: dict[str, Any] = {"index": index, "function": {"arguments": part}}
            if n == 0:
                delta.update(id=call_id, type="function")
                delta["function"]["name"] = call["name"]
            deltas.append(delta)
    return deltas


def sse_event(kind: str, data: Any) -> bytes:
    """A named event (``event:`` and ``data:`` lines), as OpenAI's Responses stream sends them."""
    return f"event: {kind}\ndata: {json.dumps(data)}\n\n".encode()
