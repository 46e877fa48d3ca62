"""HTTP transport shared by every client: pooled httpx clients, typed errors, retries, the envelope.

One :class:`Transport` owns one ``httpx.Client`` and one ``httpx.AsyncClient`` per event loop (an async
client's connections belong to the loop that opened them, and frameworks run sync code through fresh
loops), each with keep-alive pooling and explicit timeouts.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import functools
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from . import jsonlib
from .deadline import Deadline, DeadlineLike, start
from .errors import (
    APIConnectionError,
    APITimeoutError,
    BadInput,
    CapacityExceeded,
    ConfigurationError,
    RateLimited,
    ResponseFormatError,
    WorkersAIError,
    connect_hint,
    error_from_response,
)
from .health import ModelHealth, default_health
from .pacing import API_RATE_LIMITED_CODE, Pacer
from .retry import RetryPolicy

if TYPE_CHECKING:  # httpx is imported where a client is built or an error mapped, not with the package
    import ssl

    import httpx

logger = logging.getLogger("workersai")

Json = Any


def _raise_for(response: httpx.Response) -> None:
    if response.status_code >= 400:
        raise error_from_response(response)


def _redact(text: str, headers: Mapping[str, str]) -> str:
    """``text`` with every header value taken out, also as it appears in a bytes repr."""
    for value in headers.values():
        for form in {value, repr(value.encode("utf-8", "replace"))[2:-1]}:
            if len(form) >= 4:
                text = text.replace(form, "<header value>")
    return text


def _wrap_transport_error(exc: httpx.HTTPError, request: httpx.Request) -> WorkersAIError:
    """The typed error for a request that got no answer. Never holds a header value: httpcore's
    messages may quote one (``Illegal header value b'Bearer ...'``)."""
    import httpx

    where = f"{request.method} {request.url.copy_with(query=None)}"
    kind = type(exc).__name__
    error: APIConnectionError
    if isinstance(exc, httpx.TimeoutException):
        error = APITimeoutError(f"{where} timed out ({kind})")
        error.request_sent = not isinstance(exc, (httpx.ConnectTimeout, httpx.PoolTimeout))
        return error
    if isinstance(exc, httpx.UnsupportedProtocol):
        return ConfigurationError(f"{where} cannot be sent: the URL's scheme is not http or https ({kind})")
    if isinstance(exc, httpx.LocalProtocolError):  # our own request is malformed: retrying cannot help
        return BadInput(f"{where} cannot be sent: a header value or the URL is not valid HTTP ({kind})")
    message = f"{where} failed: {kind}: {_redact(str(exc), request.headers)}"
    if isinstance(exc, httpx.ConnectError):  # say where nothing answered, and what to check
        message += connect_hint(request.url)
    error = APIConnectionError(message)
    error.request_sent = not isinstance(exc, httpx.ConnectError)
    return error


def unwrap_envelope(response: httpx.Response) -> Json:
    """The ``result`` of a ``{result, success, errors, messages}`` envelope; typed errors otherwise."""
    try:
        body = jsonlib.loads(response.content)
    except ValueError as exc:
        raise ResponseFormatError(
            f"expected JSON, got {response.headers.get('content-type', 'no content type')}: "
            f"{response.text[:120]!r}",
            status=response.status_code,
        ) from exc
    if not isinstance(body, dict) or ("result" not in body and "success" not in body):
        raise ResponseFormatError(
            "response is not a Cloudflare envelope (no 'result' or 'success')", status=response.status_code
        )
    if body.get("success") is False:
        raise error_from_response(response)
    return body.get("result")


class _Pool:
    """The HTTP clients of a transport and of every copy :meth:`Transport.with_options` made of it."""

    def __init__(self, sync: httpx.Client | None, given_async: httpx.AsyncClient | None) -> None:
        self.sync = sync
        self.own_sync = sync is None
        self.given_async = given_async
        self.loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient] = (
            weakref.WeakKeyDictionary()
        )
        self.lock = threading.Lock()


class _LoopClient:
    """The async client of one event loop, closed before that loop closes.

    An async client's connections belong to the loop that opened them and cannot be closed once it has
    closed; ``asyncio.run`` closes every loop it makes. Started once on its loop, the ``_guard``
    generator is registered there like any async generator, so the loop's shutdown
    (``shutdown_asyncgens``, run by ``asyncio.run`` and ``asyncio.Runner``) closes the client while the
    loop can still run it, and forgets it."""

    def __init__(
        self, client: httpx.AsyncClient, transport: Transport, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.client = client
        self._transport = transport
        self._loop = weakref.ref(loop)
        self._guard = self._close_at_shutdown()

    async def _close_at_shutdown(self) -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            loop = self._loop()
            if loop is not None:
                self._transport._forget(loop, self)
            await self.client.aclose()

    async def start(self) -> None:
        await anext(self._guard)

    async def close(self) -> None:
        await self._guard.aclose()


RetryMode = bool | Literal["unsent"]
"""A request's retries: ``True`` (every retryable error), ``False`` (none) or ``"unsent"`` (only
errors that prove the service did not act on it, :func:`~workersai.retry.is_unsent`)."""

T = TypeVar("T")


@functools.cache
def shared_tls() -> ssl.SSLContext:
    """The TLS context of every client the transports make, built once a process (httpx's default
    verification: certifi's CA bundle, or ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` when set then). Loading
    the bundle costs 40-80 ms of CPU here, and an async client is made for each event loop, so a
    program that calls ``asyncio.run`` per request would pay it every time."""
    import httpx

    return httpx.create_ssl_context()


class Transport:
    """Sends requests with retries and returns typed results or raises typed errors."""

    def __init__(
        self,
        *,
        headers: Mapping[str, str],
        timeout: float | httpx.Timeout = 60.0,
        retry: RetryPolicy | None = None,
        max_connections: int = 100,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        pacer: Pacer | None = None,
        health: ModelHealth | None = None,
    ) -> None:
        import httpx

        self.headers = dict(headers)
        self.pacer = pacer
        self.timeout = timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=10.0)
        self.retry = retry or RetryPolicy()
        self.deadline: DeadlineLike | None = None
        """Each call's total budget (seconds, started per call) or a running :class:`Deadline`
        shared by several calls (a fallback chain's); None: no budget beyond the retry policy's."""
        self.health: ModelHealth | None = health
        """The per-model health record fed by every model request (None: the process-wide one)."""
        self.limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        self._pool = _Pool(http_client, async_http_client)
        self._own_timeout = False  # True once with_options gave a timeout: each request carries it

    # The connection pools are shared with the copies :meth:`with_options` makes.
    @property
    def _sync(self) -> httpx.Client | None:
        return self._pool.sync

    @_sync.setter
    def _sync(self, value: httpx.Client | None) -> None:
        self._pool.sync = value

    @property
    def _own_sync(self) -> bool:
        return self._pool.own_sync

    @property
    def _given_async(self) -> httpx.AsyncClient | None:
        return self._pool.given_async

    @property
    def _async(self) -> weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopClient]:
        return self._pool.loops

    @property
    def _lock(self) -> threading.Lock:
        return self._pool.lock

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        deadline: DeadlineLike | None = None,
    ) -> Transport:
        """A copy sending on the same connection pools with other options (None keeps one)."""
        import httpx

        clone = copy.copy(self)
        if retry is not None:
            clone.retry = retry
        if timeout is not None:
            clone.timeout = (
                timeout if isinstance(timeout, httpx.Timeout) else httpx.Timeout(timeout, connect=10.0)
            )
            clone._own_timeout = True
        if deadline is not None:
            clone.deadline = deadline
        return clone

    def model_health(self) -> ModelHealth:
        """The health record this transport feeds."""
        return self.health or default_health()

    # -- clients --------------------------------------------------------------------------------
    @property
    def sync_client(self) -> httpx.Client:
        with self._lock:
            if self._sync is None:
                import httpx

                self._sync = httpx.Client(timeout=self.timeout, limits=self.limits, verify=shared_tls())
            return self._sync

    async def _async_client(self) -> httpx.AsyncClient:
        """The running loop's client: connections are reused within a loop, and closed with it."""
        if self._given_async is not None:
            return self._given_async
        loop = asyncio.get_running_loop()
        with self._lock:
            for stale in [old for old in self._async if old.is_closed()]:
                # A loop closed without shutting down its async generators: its connections cannot be
                # closed on it any more; drop them so the loop and its sockets can be collected.
                del self._async[stale]
            entry = self._async.get(loop)
            if entry is not None and not entry.client.is_closed:
                return entry.client
            import httpx

            entry = self._async[loop] = _LoopClient(
                httpx.AsyncClient(timeout=self.timeout, limits=self.limits, verify=shared_tls()), self, loop
            )
        await entry.start()
        return entry.client

    def _forget(self, loop: asyncio.AbstractEventLoop, entry: _LoopClient) -> None:
        with self._lock:
            if self._async.get(loop) is entry:
                del self._async[loop]

    def close(self) -> None:
        if self._sync is not None and self._own_sync:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close the running loop's client (clients of other loops close when their loop shuts down)."""
        with self._lock:
            entry = self._async.pop(asyncio.get_running_loop(), None)
        if entry is not None:
            await entry.close()

    # -- shared by the sync and async halves, which add only the I/O ------------------------------
    def _build(
        self,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str,
        *,
        json: Json = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Request:
        """The request, built once and sent again as it is on each retry. A ``json`` body JSON cannot
        carry (NaN or infinity, which httpx refuses with ``allow_nan=False``; an object of another type)
        is :class:`BadInput` here, before any request, for every caller (``run`` inputs, D1 params, ...)."""
        merged = {**self.headers, **(headers or {})}
        try:
            return client.build_request(
                method, url, json=json, content=content, params=params, headers=merged
            )
        except (TypeError, ValueError) as exc:
            if json is None:
                raise
            raise BadInput(
                f"the request body cannot be sent as JSON ({exc}): NaN and infinity have no JSON form"
            ) from None

    @staticmethod
    @contextmanager
    def _sending(request: httpx.Request) -> Iterator[None]:
        """What httpx raises while sending (or reading an error body) as the typed error."""
        import httpx

        try:
            yield
        except httpx.HTTPError as exc:
            raise _wrap_transport_error(exc, request) from None

    @staticmethod
    def _checked(response: httpx.Response) -> httpx.Response:
        """The response if it succeeded; its typed error otherwise (an error body must be read)."""
        logger.debug("%s %s -> %s", response.request.method, response.url.path, response.status_code)
        _raise_for(response)
        return response

    # -- pacing: the pacer books a sending time per model; only the sleep differs in the two halves ----
    def _pace(self, model: str | None, turn: list[bool]) -> float:
        """Seconds to wait before sending an attempt to ``model`` (None: no model's limit applies, only
        the global budget's; 0 when not paced). ``turn`` holds whether this request's last attempt was
        refused by the model's rate limit: the retry policy has then already waited out its
        ``Retry-After``, so only the rate applies, not the hold."""
        if self.pacer is None:
            return 0.0
        return self.pacer.reserve(model, hold=not turn[0])

    def _observe(self, response: httpx.Response) -> None:
        """Let the pacer read the global budget from an answer's ``Ratelimit`` headers."""
        if self.pacer is not None:
            self.pacer.observe(response.headers)

    @contextmanager
    def _paced(self, model: str | None, turn: list[bool]) -> Iterator[None]:
        """Tell the pacer how an attempt to ``model`` ended: served, or refused by a rate limit (the
        model's, or the global budget's: code 971)."""
        turn[0] = False
        if self.pacer is None:
            yield
            return
        try:
            yield
        except RateLimited as exc:
            wait = None if exc.retry_after is None else min(exc.retry_after, self.retry.max_retry_after)
            if exc.code == API_RATE_LIMITED_CODE:
                self.pacer.api_limited(exc.retry_after)
            elif model is not None and not isinstance(exc, CapacityExceeded):
                # 3040 is the service's capacity, not our rate
                self.pacer.rate_limited(model, wait)
                turn[0] = True
            raise
        if model is not None:
            self.pacer.succeeded(model)

    def _sleep(self, seconds: float) -> None:
        if seconds > 0:
            (self.retry.sleep or time.sleep)(seconds)

    async def _asleep(self, seconds: float) -> None:
        if seconds > 0:
            await (self.retry.async_sleep or asyncio.sleep)(seconds)

    # -- per call: the deadline, each attempt's timeout, the model's health ------------------------
    def _budget(self) -> Deadline | None:
        """This call's running deadline (started now when given as seconds)."""
        return start(self.deadline, self.retry.clock)

    def _cut(self, request: httpx.Request, deadline: Deadline | None) -> None:
        """Give one attempt this transport's timeout, cut to the time the deadline leaves; raises
        :class:`DeadlineExceeded` when none is left (nothing is sent)."""
        if deadline is None and not self._own_timeout:
            return
        timeouts = self.timeout.as_dict()
        if deadline is not None:
            left = deadline.check(f"{request.method} {request.url.copy_with(query=None)}")
            timeouts = {k: left if v is None else min(v, left) for k, v in timeouts.items()}
        request.extensions["timeout"] = timeouts

    @contextmanager
    def _watched(self, model: str | None) -> Iterator[None]:
        """Feed ``model``'s health record with how one attempt ended."""
        if model is None:
            yield
            return
        health = self.model_health()
        try:
            yield
        except RateLimited:  # 3040 capacity, 3021 / 429 rate: the model is busy
            health.failed(model)
            raise
        except BaseException:
            health.aborted(model)
            raise
        health.succeeded(model)

    # -- plain requests: the twins add only the send and the sleep ----------------------------------
    def request(
        self,
        method: str,
        url: str,
        *,
        json: Json = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryMode = True,
        pace: str | None = None,
        model: str | None = None,
    ) -> httpx.Response:
        """Send one request (retried when allowed); raises a typed error for any failure. With ``pace``
        (a model id), each attempt waits for its turn in that model's pacing. ``retry="unsent"``, for a
        request that must not be acted on twice, retries only answers that prove the service did not act
        on it (429: rate limited or out of capacity) and connections that could not be made. ``model``
        (``pace`` when not given) names the model whose health record each attempt feeds. The answer's
        ``extensions["workersai_attempts"]`` is the number of attempts it took."""
        client = self.sync_client
        call = _Call(self, client, method, url, json, content, params, headers, pace, model)

        def attempt() -> httpx.Response:
            self._sleep(self._pace(pace, call.turn))
            with call.attempt():
                return self._answered(client.send(call.request))

        return call.done(self._retried(attempt, retry, call.deadline))

    async def arequest(
        self,
        method: str,
        url: str,
        *,
        json: Json = None,
        content: bytes | None = None,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        retry: RetryMode = True,
        pace: str | None = None,
        model: str | None = None,
    ) -> httpx.Response:
        """Async twin of :meth:`request`."""
        client = await self._async_client()
        call = _Call(self, client, method, url, json, content, params, headers, pace, model)

        async def attempt() -> httpx.Response:
            await self._asleep(self._pace(pace, call.turn))
            with call.attempt():
                return self._answered(await client.send(call.request))

        return call.done(await self._aretried(attempt, retry, call.deadline))

    def _answered(self, response: httpx.Response) -> httpx.Response:
        """An attempt's answer: the pacer reads its budget headers; its typed error if it failed."""
        self._observe(response)
        return self._checked(response)

    def _retried(self, attempt: Callable[[], T], retry: RetryMode, deadline: Deadline | None = None) -> T:
        """``attempt`` under this transport's retries, as ``retry`` says."""
        if not retry:
            return attempt()
        return self.retry.call(attempt, only_unsent=retry == "unsent", deadline=deadline)

    async def _aretried(
        self, attempt: Callable[[], Awaitable[T]], retry: RetryMode, deadline: Deadline | None = None
    ) -> T:
        """Async twin of :meth:`_retried`."""
        if not retry:
            return await attempt()
        return await self.retry.acall(attempt, only_unsent=retry == "unsent", deadline=deadline)

    # -- streams: retried only while opening, before any byte is read ------------------------------
    @contextmanager
    def stream(
        self,
        method: str,
        url: str,
        *,
        json: Json = None,
        headers: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> Iterator[httpx.Response]:
        """An open streaming response. Retries happen only while opening, before any byte is read; a
        deadline bounds the opening (and each read, through the attempt's timeout)."""
        client = self.sync_client
        call = _Call(self, client, method, url, json, None, None, headers, None, model, paced=False)

        def attempt() -> httpx.Response:
            with call.attempt():
                response = client.send(call.request, stream=True)
                if response.status_code >= 400:
                    try:
                        response.read()
                    finally:
                        response.close()
                return self._checked(response)

        response = call.done(self._retried(attempt, True, call.deadline), stream=True)
        try:
            yield response
        finally:
            response.close()

    @asynccontextmanager
    async def astream(
        self,
        method: str,
        url: str,
        *,
        json: Json = None,
        headers: Mapping[str, str] | None = None,
        model: str | None = None,
    ) -> AsyncIterator[httpx.Response]:
        """Async twin of :meth:`stream`."""
        client = await self._async_client()
        call = _Call(self, client, method, url, json, None, None, headers, None, model, paced=False)

        async def attempt() -> httpx.Response:
            with call.attempt():
                response = await client.send(call.request, stream=True)
                if response.status_code >= 400:
                    try:
                        await response.aread()
                    finally:
                        await response.aclose()
                return self._checked(response)

        response = call.done(await self._aretried(attempt, True, call.deadline), stream=True)
        try:
            yield response
        finally:
            await response.aclose()


class _Call:
    """One call across its attempts, for the sync and async sends alike: the request (built once, sent
    again as it is), the call's deadline, the pacing turn and the count of attempts."""

    def __init__(
        self,
        transport: Transport,
        client: httpx.Client | httpx.AsyncClient,
        method: str,
        url: str,
        json: Json,
        content: bytes | None,
        params: Mapping[str, Any] | None,
        headers: Mapping[str, str] | None,
        pace: str | None,
        model: str | None,
        *,
        paced: bool = True,
    ) -> None:
        self.request = transport._build(
            client, method, url, json=json, content=content, params=params, headers=headers
        )
        self.transport, self.pace, self.paced, self.watched = transport, pace, paced, model or pace
        self.deadline, self.turn, self.count = transport._budget(), [False], 0

    @contextmanager
    def attempt(self) -> Iterator[None]:
        """One attempt: its timeout cut to the deadline, counted, its end fed to the model's health record
        and (unless a stream) the pacer, and what httpx raises as the typed error."""
        t = self.transport
        t._cut(self.request, self.deadline)
        self.count += 1
        paced = t._paced(self.pace, self.turn) if self.paced else contextlib.nullcontext()
        with t._watched(self.watched), paced, t._sending(self.request):
            yield

    def done(self, response: httpx.Response, *, stream: bool = False) -> httpx.Response:
        """The answer, with the attempts it took (and, for a stream, the deadline its reads keep to)."""
        response.extensions["workersai_attempts"] = self.count
        if stream:
            response.extensions["workersai_deadline"] = self.deadline
        return response
