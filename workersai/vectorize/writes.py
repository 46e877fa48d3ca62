"""The write flows: bulk NDJSON writes and single mutations, each optionally waited on.

A bulk write sends its batches concurrently (at most ``concurrency`` at once). Two rules keep it true:

- a batch that holds an id also in a batch still in flight waits for that batch's answer, so the
  later occurrence of an id is applied later (last wins for upsert; insert keeps the first, as it
  keeps any id that exists), even when the earlier batch was retried after a 429;
- a write that will be waited on sends its last batch as a fence (see
  :mod:`~workersai.vectorize.consistency`) once all its other batches are answered, and waits for the
  fence: when the index has applied it, it has applied the whole call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .batching import Batch, Wait
from .consistency import Mutation, MutationLog, Written, confirm
from .flows import Call, Collect, Flow, Pull, Request, Start


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
    """Send every batch the runner's source gives (through :class:`~.flows.Pull`); returns one
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
