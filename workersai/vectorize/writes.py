"""The write flows: bulk NDJSON writes and single mutations, each optionally waited on.

A bulk write sends its batches concurrently (at most ``concurrency`` at once). Two rules keep it true:

- a batch that holds an id also in a batch still in flight waits for that batch's answer, so the
  later occurrence of an id is applied later (last wins for upsert; insert keeps the first, as it
  keeps any id that exists), even when the earlier batch was retried after a 429;
- a write that will be waited on sends its last batch as a fence (see
  :mod:`~workersai.vectorize.consistency`) once all its other batches are answered, and waits for the
  fence: when the index has applied it, it has applied the whole call.

A write with ``skip_existing`` (resuming a bulk write that was stopped, e.g. by ``kill -9``) first
waits until the index has applied every write it accepted before (:func:`settle_id`: a waited delete
of an id nobody has; Vectorize applies an index's mutations in order), then reads ``window`` ids at a
time with ``get_by_ids`` and leaves out the vectors already stored in the namespace they are written
to (:func:`skip_stored`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from typing import Any

from ..errors import MutationTimeout
from ..flows import Call, Collect, Flow, Pull, Request, Sleep, Start
from .batching import Batch, VectorLike, Wait, checked_records, record
from .consistency import Mutation, MutationLog, Written, confirm
from .results import IndexInfo


def write(
    log: MutationLog,
    call_for: Callable[[Batch], Call[str]],
    *,
    wait: Wait,
    concurrency: int,
    info: Call[Any],
    index: str,
    timeout: float,
    poll_interval: float,
) -> Flow[list[str]]:
    """Send every batch the runner's source gives (through :class:`~workersai.flows.Pull`); returns one
    mutation id per request, in order."""
    fence = wait is not False
    inflight: dict[int, tuple[int, frozenset[str]]] = {}  # ticket -> (batch number, its ids)
    written: dict[int, Written] = {}
    number = 0

    def landed(answer: tuple[int, Written]) -> None:
        ticket, done = answer
        written[inflight.pop(ticket)[0]] = done

    batch: Batch | None = yield Pull()
    while batch is not None:
        following: Batch | None = (yield Pull()) if fence else None
        call = call_for(batch)
        if fence and following is None:
            while inflight:
                landed((yield Collect()))
            written[number] = yield Request(Mutation(call, log, fence=True))
        else:
            ids = frozenset(batch.ids)
            while len(inflight) >= concurrency or any(not ids.isdisjoint(o) for _, o in inflight.values()):
                landed((yield Collect()))
            inflight[(yield Start(Mutation(call, log)))] = (number, ids)
        number += 1
        batch = following if fence else (yield Pull())
    while inflight:
        landed((yield Collect()))
    writes = [written[n] for n in range(number)]
    if writes and wait == "deferred":
        log.defer(writes[-1:])
    elif writes and wait:
        yield from confirm(log, info, writes[-1:], index=index, timeout=timeout, poll_interval=poll_interval)
    return [w.mutation_id for w in writes]


def mutate(
    log: MutationLog,
    call: Call[str],
    *,
    wait: bool,
    info: Call[Any],
    index: str,
    timeout: float,
    poll_interval: float,
) -> Flow[str]:
    """Send one write (a delete, a metadata index change); with ``wait``, until it is applied."""
    done: Written = yield Request(Mutation(call, log, fence=wait))
    if wait:
        yield from confirm(log, info, [done], index=index, timeout=timeout, poll_interval=poll_interval)
    return done.mutation_id


StoredIds = Mapping[str, "str | None"]
"""``{id: namespace}`` of the stored vectors among some ids (:func:`~.reads.stored`)."""


def settle_id() -> str:
    """A fresh id no one has written, for :func:`settle`'s fences."""
    return f"workersai-settle-{uuid.uuid4().hex}"


SETTLE_QUIET = 2.0
"""Seconds ``info`` may name another process's mutation, unchanged, before :func:`settle` sends a new
fence (that write may have been accepted after the fence, and then the fence is never named)."""


def settle(
    log: MutationLog,
    fence_call: Callable[[], Call[str]],
    info: Call[Any],
    *,
    index: str,
    timeout: float,
    poll_interval: float,
    quiet: float = SETTLE_QUIET,
) -> Flow[None]:
    """Return once the index has applied every write it accepted before the call, from any process.

    A fence (a delete of an id nobody has, :func:`settle_id`) is sent and ``info`` polled until it names
    the fence: mutations are applied in order, so everything accepted before the fence is applied. A
    write of another process (e.g. the last upload of a client that was killed, still being read by the
    service) may be accepted just after the fence; ``info`` then names it instead, and the fence is
    never named. So when ``info`` has named the same foreign mutation for ``quiet`` seconds, a new fence
    is sent, until one is named; :class:`~workersai.errors.MutationTimeout` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        fence: Written = yield Request(Mutation(fence_call(), log, fence=True))
        seen: str | None = None
        since = time.monotonic()
        while True:
            state: IndexInfo = yield Request(info)
            processed = state.processed_up_to_mutation
            log.observe(processed)
            if log.applied(fence, processed):
                return
            now = time.monotonic()
            if now >= deadline:
                raise MutationTimeout(f"the writes to {index!r} were not all applied within {timeout:g}s")
            if processed != seen:
                seen, since = processed, now
            elif now - since >= quiet:
                break  # a foreign write was applied after the fence: fence again
            yield Sleep(poll_interval)


def unstored(records: list[dict[str, Any]], found: StoredIds) -> list[dict[str, Any]]:
    """The records whose id is not stored in the namespace the record is written to."""
    return [r for r in records if r["id"] not in found or found[r["id"]] != r.get("namespace")]


def _windows(records: Iterable[dict[str, Any]], window: int) -> Iterator[list[dict[str, Any]]]:
    part: list[dict[str, Any]] = []
    for rec in records:
        part.append(rec)
        if len(part) >= window:
            yield part
            part = []
    if part:
        yield part


def skip_stored(
    vectors: Iterable[VectorLike],
    stored: Callable[[list[str]], StoredIds],
    window: int,
    dimensions: int | None = None,
) -> Iterator[dict[str, Any]]:
    """The checked records of ``vectors`` that are not stored yet, asked ``window`` ids at a time (a
    list is checked whole before the first question, so a bad vector still stops the call before any
    request; an iterator is read as it goes, never held whole)."""
    for part in _windows(checked_records(vectors, dimensions), window):
        yield from unstored(part, stored([r["id"] for r in part]))


async def askip_stored(
    vectors: Iterable[VectorLike] | AsyncIterable[VectorLike],
    stored: Callable[[list[str]], Awaitable[StoredIds]],
    window: int,
    dimensions: int | None = None,
) -> AsyncIterator[dict[str, Any]]:
    """:func:`skip_stored` asking with an async ``stored``; ``vectors`` may be an async iterable."""
    if not isinstance(vectors, AsyncIterable):
        for part in _windows(checked_records(vectors, dimensions), window):
            for rec in unstored(part, await stored([r["id"] for r in part])):
                yield rec
        return
    pending: list[dict[str, Any]] = []
    async for item in vectors:
        rec = record(item, dimensions)
        dimensions = len(rec["values"])
        pending.append(rec)
        if len(pending) >= window:
            for kept in unstored(pending, await stored([r["id"] for r in pending])):
                yield kept
            pending = []
    if pending:
        for kept in unstored(pending, await stored([r["id"] for r in pending])):
            yield kept
