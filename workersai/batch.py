"""Workers AI's asynchronous Batch API: queue many inference requests in one call, poll for the results.

Wire (https://developers.cloudflare.com/workers-ai/features/batch-api/rest-api/ and
https://developers.cloudflare.com/workers-ai/features/batch-api/workers-binding/):

- ``POST /accounts/{a}/ai/run/{model}?queueRequest=true`` with ``{"requests": [...]}`` (each request the
  model's own input, optionally with an ``external_reference`` returned in its response) answers
  ``{"status": "queued", "request_id", "model"}``;
- the same URL with ``{"request_id": ...}`` answers ``{"status": "queued" | "running", ...}`` while the
  batch is waiting or being processed, then ``{"responses": [{"id", "result", "success",
  "external_reference"}], "usage": {...}}``; a response's ``id`` is the index of its request;
- the payload must be under 10 MB (the workers-binding page's note).

Polling is a flow (a generator yielding :class:`Poll` / :class:`Sleep` and receiving their results), driven
by :func:`workersai.flows.drive` and :func:`~workersai.flows.adrive`: the two twins differ only in the I/O.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from .errors import (
    BadInput,
    BatchNotFound,
    RequestTooLarge,
    ResponseFormatError,
    WorkersAIError,
    narrowed,
)
from .flows import Sleep, adrive, drive
from .paths import path
from .transport import unwrap_envelope

if TYPE_CHECKING:
    from .client import WorkersAI

MAX_BATCH_PAYLOAD_BYTES = 10 * 1000 * 1000
"""The Batch API's payload limit ("Ensure that the total payload is under 10 MB", workers-binding page),
measured on the JSON bytes as sent."""

QUEUE_PARAMS = {"queueRequest": "true"}
T = TypeVar("T")
PENDING = ("queued", "running")


class BatchTimeout(WorkersAIError, TimeoutError):
    """A batch was still queued or running when the time allowed to wait for it ran out."""


class BatchItemFailed(WorkersAIError):
    """A request of a batch came back with ``success: false`` where every result was needed."""


@dataclass(frozen=True)
class BatchResponse:
    """One request's answer: ``id`` is its index in the batch, ``result`` the model's output (as a
    direct run's ``result``), ``external_reference`` what the request carried (None if nothing)."""

    id: int
    success: bool
    result: Any
    external_reference: str | None = None


@dataclass(frozen=True)
class BatchStatus:
    """One poll's answer: ``status`` is ``queued``, ``running`` or ``done``; ``responses`` (in request
    order) and ``usage`` come once it is done."""

    status: str
    responses: list[BatchResponse] | None = None
    usage: Mapping[str, Any] = field(default_factory=dict)

    @property
    def done(self) -> bool:
        return self.responses is not None


def submission_body(requests: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON bytes of a submission, checked: at least one request, each an object whose
    ``external_reference`` (if any) is a string, and the whole under 10 MB as sent."""
    if isinstance(requests, (str, bytes, Mapping)) or not isinstance(requests, Sequence):
        raise BadInput(f"requests must be a list of request objects, got {type(requests).__name__}")
    if not requests:
        raise BadInput("a batch needs at least one request")
    for i, item in enumerate(requests):
        if not isinstance(item, Mapping):
            raise BadInput(f"request {i} must be an object (the model's input), got {type(item).__name__}")
        ref = item.get("external_reference")
        if ref is not None and not isinstance(ref, str):
            raise BadInput(f"request {i}: external_reference must be a string, got {type(ref).__name__}")
    body = json.dumps({"requests": [dict(r) for r in requests]}, separators=(",", ":")).encode()
    if len(body) > MAX_BATCH_PAYLOAD_BYTES:
        raise RequestTooLarge(
            f"the batch is {len(body):,} bytes as sent; the Batch API takes at most "
            f"{MAX_BATCH_PAYLOAD_BYTES:,} (split the requests over several batches)"
        )
    return body


def pack(requests: Sequence[Mapping[str, Any]], limit: int = MAX_BATCH_PAYLOAD_BYTES) -> list[list[Any]]:
    """``requests`` cut, in order, into as few batches as keep each payload under ``limit`` bytes."""
    overhead = len(b'{"requests":[]}')
    batches: list[list[Any]] = []
    current: list[Any] = []
    size = overhead
    for request in requests:
        one = len(json.dumps(dict(request), separators=(",", ":")).encode()) + 1  # and its comma
        if current and size + one > limit:
            batches.append(current)
            current, size = [], overhead
        current.append(request)
        size += one
    if current:
        batches.append(current)
    return batches


def read_queued(result: Any) -> tuple[str, str | None]:
    """``(request_id, model)`` from a submission's result."""
    if not isinstance(result, Mapping) or not isinstance(result.get("request_id"), str):
        raise ResponseFormatError("a queued batch's answer has no request_id")
    model = result.get("model")
    return result["request_id"], model if isinstance(model, str) else None


def read_status(result: Any) -> BatchStatus:
    """One poll's result: pending (``status``) or done (``responses``, sorted by ``id``)."""
    if not isinstance(result, Mapping):
        raise ResponseFormatError(f"a batch poll answered {type(result).__name__}, not an object")
    raw = result.get("responses")
    if raw is None:
        status = result.get("status")
        if status not in PENDING:
            raise ResponseFormatError(f"a batch poll answered neither responses nor a status ({status!r})")
        return BatchStatus(str(status))
    if not isinstance(raw, list):
        raise ResponseFormatError("a batch's responses are not a list")
    responses: list[BatchResponse] = []
    for item in raw:
        if (
            not isinstance(item, Mapping)
            or isinstance(item.get("id"), bool)
            or not isinstance(item.get("id"), int)
        ):
            raise ResponseFormatError("a batch response has no integer id")
        ref = item.get("external_reference")
        responses.append(
            BatchResponse(
                item["id"],
                item.get("success") is True,
                item.get("result"),
                ref if isinstance(ref, str) else None,
            )
        )
    responses.sort(key=lambda r: r.id)
    usage = result.get("usage")
    return BatchStatus("done", responses, usage if isinstance(usage, Mapping) else {})


@dataclass
class Poll:
    """Ask the service for the batch's status once; receive a :class:`BatchStatus`."""


WaitFlow = Generator[Poll | Sleep, BatchStatus | None, list[BatchResponse]]


def wait_flow(
    request_id: str, timeout: float, poll_interval: float, clock: Callable[[], float] = time.monotonic
) -> WaitFlow:
    """Poll until the batch is done (its responses, in request order) or ``timeout`` seconds pass
    (:class:`BatchTimeout`). Errors of a poll (after the transport's retries) propagate."""
    if timeout < 0 or poll_interval < 0:
        raise BadInput("timeout and poll_interval must not be negative")
    deadline = clock() + timeout
    while True:
        status = yield Poll()
        assert status is not None
        if status.responses is not None:
            return status.responses
        left = deadline - clock()
        if left <= 0:
            raise BatchTimeout(f"batch {request_id} still {status.status} after {timeout:g} s")
        yield Sleep(min(poll_interval, left))


def _unknown_id(request_id: str) -> AbstractContextManager[None]:
    """A poll's bad-input answer is :class:`BatchNotFound`: its only input is the id, so the service
    does not know it."""
    return narrowed(
        BadInput, BatchNotFound, lambda e: f"unknown batch request_id {request_id!r}: {e.message}"
    )


class BatchJob:
    """A queued batch: poll its :meth:`status`, :meth:`wait` for its responses (or ``await job``).

    A job is only its ``model`` and ``request_id``: keep those to take it up again after a restart with
    :meth:`WorkersAI.batch_job <workersai.WorkersAI.batch_job>`.
    """

    def __init__(self, client: WorkersAI, model: str, request_id: str) -> None:
        if not isinstance(request_id, str) or not request_id.strip():
            raise BadInput(f"request_id must be a non-empty string, got {request_id!r}")
        self._path = path("ai/run/{model}", model=model)  # the model id checked before any poll
        self.client, self.model, self.request_id = client, model, request_id

    def __repr__(self) -> str:
        return f"BatchJob(model={self.model!r}, request_id={self.request_id!r})"

    def _url(self) -> str:
        return self.client.account_url(self._path)

    def _body(self) -> dict[str, str]:
        return {"request_id": self.request_id}

    def status(self) -> BatchStatus:
        """Poll once."""
        with _unknown_id(self.request_id):
            response = self.client.transport.request(
                "POST", self._url(), json=self._body(), params=QUEUE_PARAMS
            )
        return read_status(unwrap_envelope(response))

    async def astatus(self) -> BatchStatus:
        """Async twin of :meth:`status`."""
        with _unknown_id(self.request_id):
            response = await self.client.transport.arequest(
                "POST", self._url(), json=self._body(), params=QUEUE_PARAMS
            )
        return read_status(unwrap_envelope(response))

    def wait(self, timeout: float = 3600.0, poll_interval: float = 1.0) -> list[BatchResponse]:
        """Poll every ``poll_interval`` seconds until done; the responses in request order."""
        flow = wait_flow(self.request_id, timeout, poll_interval)
        return drive(flow, lambda need: self.status() if isinstance(need, Poll) else time.sleep(need.seconds))

    async def await_(self, timeout: float = 3600.0, poll_interval: float = 1.0) -> list[BatchResponse]:
        """Async twin of :meth:`wait` (``await job`` uses the defaults)."""
        flow = wait_flow(self.request_id, timeout, poll_interval)

        async def step(need: Poll | Sleep) -> BatchStatus | None:
            if isinstance(need, Poll):
                return await self.astatus()
            await asyncio.sleep(need.seconds)
            return None

        return await adrive(flow, step)

    def __await__(self) -> Generator[Any, None, list[BatchResponse]]:
        return self.await_().__await__()


def results(responses: Sequence[BatchResponse]) -> list[Any]:
    """Every response's ``result``, in order; :class:`BatchItemFailed` names the first that failed."""
    for r in responses:
        if not r.success:
            raise BatchItemFailed(
                f"batch request {r.id} (reference {r.external_reference!r}) failed: {r.result!r}"
            )
    return [r.result for r in responses]


def name_queued(exc: WorkersAIError, model: str, request_ids: Sequence[str]) -> None:
    """Make ``exc``, raised by a call that had queued the batches ``request_ids`` before it failed,
    name them (``exc.queued_request_ids`` and its message), so that a caller can take them up with
    :meth:`WorkersAI.batch_job <workersai.WorkersAI.batch_job>` instead of queuing them again."""
    if request_ids and not exc.queued_request_ids:
        exc.queued_request_ids = tuple(request_ids)
        exc.message = (
            f"{exc.message}; batches already queued: {', '.join(request_ids)} "
            f"(take them up with client.batch_job({model!r}, request_id))"
        )


async def await_all(waits: Sequence[Awaitable[T]]) -> list[T]:
    """Every awaitable's result, in order, run together; the first to fail cancels the others (and
    their polling stops) before its error is raised, as ``asyncio.TaskGroup`` does (Python 3.10 has
    none). Cancelling the caller cancels them all too."""
    tasks = [asyncio.ensure_future(w) for w in waits]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        for task in tasks:
            if task.done() and not task.cancelled() and task.exception() is not None:
                raise task.exception()  # type: ignore[misc]
        return [task.result() for task in tasks]
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
