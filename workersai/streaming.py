"""Server-sent event streams: ``data:`` frames parsed with httpx-sse, ended by ``data: [DONE]`` (or, in
the Responses-API family, by its final event: ``response.completed`` and the like).

A stream that breaks off (connection reset, incomplete body) or ends without ``[DONE]`` raises
:class:`~workersai.errors.StreamInterrupted`: an answer is never silently cut short.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
from httpx_sse import EventSource, SSEError

from .errors import ResponseFormatError, StreamInterrupted
from .responses_api import FINAL_EVENTS

_DONE = "[DONE]"


def _decode(data: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as exc:
        raise ResponseFormatError(f"stream event is not JSON: {data[:120]!r}") from exc


@contextmanager
def _reading() -> Iterator[None]:
    """What httpx and httpx-sse raise while a stream is read, as the typed errors."""
    try:
        yield
    except SSEError as exc:
        raise ResponseFormatError(f"not an event stream: {exc}") from None
    except httpx.HTTPError as exc:
        raise StreamInterrupted(f"stream broke off: {type(exc).__name__}: {exc}") from None


def _final(event: Any) -> bool:
    return isinstance(event, dict) and event.get("type") in FINAL_EVENTS


def _incomplete() -> StreamInterrupted:
    return StreamInterrupted("stream ended without [DONE]; the answer is incomplete")


def iter_sse_json(response: httpx.Response) -> Iterator[Any]:
    """The JSON objects of a stream's ``data:`` frames, up to ``[DONE]``."""
    with _reading():
        for event in EventSource(response).iter_sse():
            data = event.data.strip()
            if data == _DONE:
                return
            if data:
                event = _decode(data)
                yield event
                if _final(event):
                    return
    raise _incomplete()


async def aiter_sse_json(response: httpx.Response) -> AsyncIterator[Any]:
    """Async twin of :func:`iter_sse_json`."""
    with _reading():
        async for event in EventSource(response).aiter_sse():
            data = event.data.strip()
            if data == _DONE:
                return
            if data:
                event = _decode(data)
                yield event
                if _final(event):
                    return
    raise _incomplete()
