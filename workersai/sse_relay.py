"""Relay a model's stream to a browser as server-sent events, for Starlette/FastAPI and plain ASGI.

:func:`sse_frames` turns any async stream of chunks (LangChain ``astream``, LlamaIndex
``astream_chat`` / ``astream_complete``, the core's ``astream_chat``, or plain strings) into SSE
frames: ``data: {"text": ...}`` per piece of text, an ``event: meta`` frame with the model that answered
(and its attempts and fallbacks) when the stream says, and always ``data: [DONE]`` at the end. A stream
that breaks (:class:`~workersai.errors.StreamInterrupted`, any Workers AI error) or outlives ``timeout``
ends with an ``event: error`` frame (its type and message; never a traceback) and then ``[DONE]``, so the
browser's ``EventSource`` sees a clean end instead of a dropped connection.

:func:`relay` answers one ASGI HTTP request with those frames and stops the upstream stream (closing it,
which closes its HTTP response) as soon as the browser leaves (``http.disconnect``), even while waiting
for the next token. :class:`SSEResponse` is the same as a Starlette response, usable from Starlette and
FastAPI routes::

    @app.post("/chat")
    async def chat(request: Request) -> SSEResponse:
        question = (await request.json())["question"]
        return SSEResponse(llm.astream(question), timeout=60)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Mapping
from typing import Any

from .errors import WorkersAIError

logger = logging.getLogger("workersai")

DONE = b"data: [DONE]\n\n"
HEADERS = (
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),  # nginx: pass frames on as they come
)


def _text(item: Any) -> str:
    """The text a chunk adds: a string, a LlamaIndex response's ``delta``, a LangChain chunk's
    ``content`` (its text blocks), or a core chunk's ``text``."""
    if isinstance(item, str):
        return item
    delta = getattr(item, "delta", None)
    if isinstance(delta, str) or hasattr(item, "delta"):
        return delta or ""
    content = getattr(item, "content", None)
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(
            b if isinstance(b, str) else str(b.get("text", ""))
            for b in content
            if isinstance(b, str) or (isinstance(b, dict) and b.get("type") == "text")
        )
    text = getattr(item, "text", None)
    return text if isinstance(text, str) else ""


def _route(item: Any) -> dict[str, Any] | None:
    """Which model answered, when a chunk says (the last one of a stream does)."""
    meta = getattr(item, "response_metadata", None)  # LangChain
    if isinstance(meta, Mapping) and meta.get("model_name"):
        return {
            "model": meta["model_name"],
            "attempts": meta.get("attempts"),
            "fallbacks": meta.get("fallbacks"),
        }
    extra = getattr(item, "additional_kwargs", None)  # LlamaIndex
    if isinstance(extra, Mapping) and extra.get("model"):
        return {
            "model": extra["model"],
            "attempts": extra.get("attempts"),
            "fallbacks": extra.get("fallbacks"),
        }
    model = getattr(item, "model", None)  # the core's ChatChunk
    if isinstance(model, str) and model:
        return {
            "model": model,
            "attempts": getattr(item, "attempts", None),
            "fallbacks": getattr(item, "fallbacks", None),
        }
    return None


def frame(data: Any, event: str | None = None) -> bytes:
    """One SSE frame of ``data`` as JSON (``event:`` line first when given)."""
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {json.dumps(data, ensure_ascii=False)}\n\n".encode()


async def _aclose(stream: Any) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        with contextlib.suppress(Exception):
            await close()


async def sse_frames(
    stream: AsyncIterable[Any], *, timeout: float | None = None
) -> AsyncGenerator[bytes, None]:
    """The SSE frames of ``stream`` (see the module's docstring); ``timeout`` bounds the whole relay in
    seconds. The upstream stream is closed however this ends."""
    loop = asyncio.get_running_loop()
    until = None if timeout is None else loop.time() + timeout
    chunks = aiter(stream)
    route: dict[str, Any] | None = None
    try:
        while True:
            try:
                if until is None:
                    item = await anext(chunks)
                else:
                    item = await asyncio.wait_for(anext(chunks), max(0.0, until - loop.time()))
            except StopAsyncIteration:
                break
            text = _text(item)
            if text:
                yield frame({"text": text})
            route = _route(item) or route
        if route is not None:
            yield frame(route, "meta")
    except asyncio.TimeoutError:
        yield frame({"type": "timeout", "message": f"no answer within {timeout:g} s"}, "error")
    except WorkersAIError as exc:  # StreamInterrupted, capacity, a deadline: their messages hold no secret
        yield frame({"type": type(exc).__name__, "message": str(exc)}, "error")
    except Exception:
        logger.exception("the stream relayed to a browser failed")
        yield frame({"type": "error", "message": "the answer could not be completed"}, "error")
    finally:
        await _aclose(chunks)
    yield DONE


async def relay(
    scope: Mapping[str, Any],
    receive: Any,
    send: Any,
    stream: AsyncIterable[Any],
    *,
    timeout: float | None = None,
    status: int = 200,
) -> None:
    """Answer one ASGI HTTP request with ``stream`` as SSE frames (:func:`sse_frames`); when the client
    disconnects, the upstream stream is cancelled and closed at once."""
    frames = sse_frames(stream, timeout=timeout)

    async def pump() -> None:
        await send({"type": "http.response.start", "status": status, "headers": list(HEADERS)})
        async for data in frames:
            await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})

    async def gone() -> None:
        while (await receive())["type"] != "http.disconnect":
            pass

    sending, watching = asyncio.ensure_future(pump()), asyncio.ensure_future(gone())
    try:
        await asyncio.wait({sending, watching}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sending, watching):
            if not task.done():
                task.cancel()
        for task in (sending, watching):
            with contextlib.suppress(asyncio.CancelledError, OSError):
                await task
        await frames.aclose()
        await _aclose(stream)
    if sending.done() and not sending.cancelled() and sending.exception() is not None:
        raise sending.exception()  # type: ignore[misc]


def _response_base() -> type:
    from starlette.responses import Response

    return Response


class SSEResponse(_response_base()):  # type: ignore[misc]
    """A Starlette (and FastAPI) response relaying ``stream`` as SSE frames through :func:`relay`."""

    media_type = "text/event-stream"

    def __init__(self, stream: AsyncIterable[Any], *, timeout: float | None = None) -> None:
        super().__init__(status_code=200)
        self.stream, self.timeout = stream, timeout

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await relay(scope, receive, send, self.stream, timeout=self.timeout, status=self.status_code)
