"""The requests the emulator served, kept for tests and the dashboard: :class:`RequestLog`.

Every request to the emulated APIs (everything but the ``/__local__/*`` control paths) is recorded by
:class:`RecordRequests`, an ASGI middleware, once its response is sent: time, method, path, the model it
named (in the path, or the body of ``/ai/v1/*``), status, latency to the last byte sent, the tokens a
text generation counted, the body (at most :data:`MAX_BODY_BYTES`) and a few chosen headers, never a
token (``Authorization``, ``cf-aig-authorization``). The body is what the emulator read: a request
refused before its body was read (bad token, an injected fault on a path that names its model, a
declared length over the cap) is kept without it.

The log lives on the Starlette app as ``app.state.request_log`` (and on the routes' emulator as
``emu.request_log``); it is read with :meth:`RequestLog.recent` and :meth:`RequestLog.filter`, over HTTP
at ``GET /__local__/requests`` (``?model=``, ``?path=``, ``?method=``, ``?limit=``; ``DELETE`` empties it)
and from Python with :meth:`workersai.local.control.EmulatorControl.requests`.

Interface for readers (the dashboard): ``log.recent(n)`` -> newest first, ``list[LoggedRequest]``;
``entry.to_json()`` -> a JSON-ready dict with the fields of :class:`LoggedRequest` (``time`` in seconds
since the epoch, ``body`` parsed from JSON when it was whole and JSON, else text).
"""

from __future__ import annotations

import fnmatch
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["LoggedRequest", "RecordRequests", "RequestLog"]

MAX_ENTRIES = 1000
"""The most requests kept; the oldest go first."""
MAX_BODY_BYTES = 256 * 1024
"""The most bytes of one request's body kept (100 texts to embed fit; a large Vectorize upsert does
not, and is kept cut, with ``body_truncated``)."""
MAX_TOTAL_BODY_BYTES = 32 * 1024 * 1024
"""The most body bytes kept over all entries; beyond, the oldest entries go."""
KEPT_HEADERS = frozenset(
    {"content-type", "content-length", "accept", "user-agent", "x-workersai-local-faults", "x-session-id"}
)
"""Headers kept by name; ``cf-aig-*`` headers are kept too, except the gateway's token."""
SECRET_HEADERS = frozenset({"authorization", "cf-aig-authorization", "cookie", "x-api-key"})
"""Never kept, whatever the lists above say."""
USAGE_SCOPE_KEY = "workersai.usage"
"""Where a route leaves what it can count of its tokens: a mapping with ``prompt_tokens`` and
``completion_tokens`` (a :class:`~workersai.local.generation.Generation` works: it is read once its
stream has ended)."""


@dataclass
class LoggedRequest:
    """One request the emulator served."""

    id: int
    time: float
    """When it arrived, in seconds since the epoch."""
    method: str
    path: str
    query: str
    model: str | None
    status: int
    """The status sent (0: the connection dropped before a status was sent)."""
    latency_ms: float
    """From its arrival to the last byte of its answer (a stream's whole length)."""
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes = field(default=b"", repr=False)
    body_truncated: bool = False
    error: str | None = None
    """Why the answer did not complete (an injected reset, a client gone), else None."""

    @property
    def body(self) -> Any:
        """The body parsed from JSON when it is whole and JSON, else its text."""
        text = self.raw_body.decode("utf-8", "replace")
        if self.body_truncated:
            return text
        try:
            return json.loads(text) if text else None
        except ValueError:
            return text

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "time": self.time,
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "model": self.model,
            "status": self.status,
            "latency_ms": round(self.latency_ms, 3),
            "prompt_tokens": self.prompt_tokens,
            "completion_tokens": self.completion_tokens,
            "headers": self.headers,
            "body": self.body,
            "body_truncated": self.body_truncated,
            "error": self.error,
        }

    def matches(self, model: str | None = None, path: str | None = None, method: str | None = None) -> bool:
        """Whether this request named ``model``, was sent with ``method`` and went to ``path``: the
        whole path, its end (``/vectorize/v2/indexes/docs/query``) or a glob (``*/query``)."""
        if model is not None and self.model != model:
            return False
        if method is not None and self.method != method.upper():
            return False
        if path is not None:
            return self.path == path or self.path.endswith(path) or fnmatch.fnmatchcase(self.path, path)
        return True


class RequestLog:
    """The most recent requests (at most ``max_entries``, and ``max_total_body_bytes`` of bodies)."""

    def __init__(
        self,
        max_entries: int = MAX_ENTRIES,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_total_body_bytes: int = MAX_TOTAL_BODY_BYTES,
    ) -> None:
        self.max_entries = max_entries
        self.max_body_bytes = max_body_bytes
        self.max_total_body_bytes = max_total_body_bytes
        self._entries: deque[LoggedRequest] = deque()
        self._body_bytes = 0
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._entries)

    def next_id(self) -> int:
        return next(self._ids)

    def add(self, entry: LoggedRequest) -> None:
        with self._lock:
            self._entries.append(entry)
            self._body_bytes += len(entry.raw_body)
            while self._entries and (
                len(self._entries) > self.max_entries or self._body_bytes > self.max_total_body_bytes
            ):
                self._body_bytes -= len(self._entries.popleft().raw_body)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._body_bytes = 0

    def all(self) -> list[LoggedRequest]:
        """Every request kept, oldest first."""
        with self._lock:
            return list(self._entries)

    def recent(self, n: int = 50) -> list[LoggedRequest]:
        """The ``n`` most recent requests, newest first."""
        with self._lock:
            return list(itertools.islice(reversed(self._entries), max(0, n)))

    def filter(
        self, model: str | None = None, path: str | None = None, method: str | None = None
    ) -> list[LoggedRequest]:
        """The requests kept that match (:meth:`LoggedRequest.matches`), oldest first."""
        return [e for e in self.all() if e.matches(model, path, method)]


def chosen_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """The headers worth showing, never a token."""
    kept = {}
    for key, value in raw:
        name = key.decode("latin-1").lower()
        if name in SECRET_HEADERS or "token" in name or "secret" in name:
            continue
        if name in KEPT_HEADERS or name.startswith("cf-aig-"):
            kept[name] = value.decode("latin-1")
    return kept


def _model_of(scope: Scope, body: bytes, truncated: bool) -> str | None:
    """The model in the path (``/ai/run/{model}``, a gateway's ``/workers-ai/{model}``) or, for the
    OpenAI-compatible routes, in the body."""
    model = scope.get("path_params", {}).get("model")
    if isinstance(model, str):
        return model
    if truncated or b'"model"' not in body:
        return None
    try:
        value = json.loads(body).get("model")
    except (ValueError, AttributeError):
        return None
    return value if isinstance(value, str) else None


def _tokens(usage: Any) -> tuple[int | None, int | None]:
    if usage is None:
        return None, None
    if isinstance(usage, dict):
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    else:
        prompt, completion = getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None)
    return (
        prompt if isinstance(prompt, int) else None,
        completion if isinstance(completion, int) else None,
    )


class RecordRequests:
    """ASGI middleware: records each HTTP request outside ``/__local__/`` in ``log`` once answered."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/__local__"):
            await self.app(scope, receive, send)
            return
        started_wall, started = time.time(), time.perf_counter()
        cap = self.log.max_body_bytes
        body = bytearray()
        truncated = False
        status = 0
        error: str | None = None

        async def receive_and_keep() -> Message:
            nonlocal truncated
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                room = cap - len(body)
                if len(chunk) > room:
                    truncated = True
                body.extend(chunk[: max(0, room)])
            return message

        async def send_and_note(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive_and_keep, send_and_note)
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            raise
        finally:
            raw = bytes(body)
            prompt, completion = _tokens(scope.get(USAGE_SCOPE_KEY))
            self.log.add(
                LoggedRequest(
                    id=self.log.next_id(),
                    time=started_wall,
                    method=scope["method"],
                    path=scope["path"],
                    query=scope.get("query_string", b"").decode("latin-1"),
                    model=_model_of(scope, raw, truncated),
                    status=status,
                    latency_ms=(time.perf_counter() - started) * 1000,
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    headers=chosen_headers(scope.get("headers", [])),
                    raw_body=raw,
                    body_truncated=truncated,
                    error=error,
                )
            )
