"""Read-your-writes: which of this process's writes an index has applied, decided by mutation id.

Vectorize applies an index's mutations in order, and ``info`` names the last one applied:
``processedUpToMutation`` is "the last mutation processed by the index. All changes before this
mutation will be reflected in the index state" (workers-types ``VectorizeIndexInfo``; API reference
"Get Vectorize Index Info"). Mutation ids are UUIDs, so the client cannot order two ids by looking at
them; it orders its own writes by when they were sent and acknowledged instead. A write sent after
another's answer arrived was accepted after it, so once ``info`` names the later one, both are applied.

Each index has one :class:`MutationLog` per process (shared by every client pointed at the same
account and index). Writes pass through it in two kinds:

- a *plain* write (one request of a bulk call, or a write nobody waits for): any number at once;
- a *fence* (the last request of a write that will be waited on, or a single waited write): sent
  alone, once every write in flight has been answered, and holding back new ones until its own answer.

So every plain write is ordered against every fence, and fences against each other. A waited call
sends all its other requests first, then its fence, and is confirmed once ``info`` names the fence or
any write of this process sent after the fence's answer. Nothing compares contents: metadata that
changes on the JSON round trip (dates, tuples, NaN) cannot make a wait fail.

A writer in another process is unknown here: while ``info`` names its mutation, a wait cannot decide,
and goes on polling until it names one of ours (or times out with
:class:`~workersai.errors.MutationTimeout`).
"""

from __future__ import annotations

import asyncio
import itertools
import math
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from ..errors import MutationTimeout
from ..flows import Flow, Request, Sleep
from .results import IndexInfo

_STAMPS = itertools.count()
"""One clock for every log in the process: a write's send and answer stamps come from it."""

MAX_REMEMBERED = 10_000
"""Writes a log remembers before it forgets the oldest (a long-running process that never waits)."""


@dataclass(eq=False)
class Written:
    """One write the index accepted: its mutation id and when, on the process's clock, it was sent
    and answered (a mutation not written through this log has neither)."""

    mutation_id: str
    sent: float = -math.inf
    answered: float = math.inf
    applied: bool = False


@dataclass
class Mutation:
    """A write request sent through ``log``; answers a :class:`Written`. ``fence`` sends it alone."""

    call: Any  # flows.Call[str]: its parse gives the mutation id
    log: MutationLog
    fence: bool = False


@dataclass
class MutationLog:
    """The order of this process's writes to one index, and how far the index has applied them."""

    _cond: threading.Condition = field(default_factory=threading.Condition)
    _plain: int = 0
    _fence: bool = False
    _fences_waiting: int = 0
    _written: dict[str, Written] = field(default_factory=dict)
    _applied_before: float = -math.inf  # every write answered before this stamp is applied
    _deferred: list[Written] = field(default_factory=list)

    # -- sending --------------------------------------------------------------------------------
    def _may_enter(self, fence: bool) -> bool:
        if self._fence:
            return False
        return self._plain == 0 if fence else self._fences_waiting == 0

    def _enter(self, fence: bool) -> float:
        if fence:
            self._fence = True
        else:
            self._plain += 1
        return next(_STAMPS)

    def _leave(self, fence: bool, mutation_id: str | None, sent: float) -> Written | None:
        with self._cond:
            answered = next(_STAMPS)
            if fence:
                self._fence = False
            else:
                self._plain -= 1
            self._cond.notify_all()
            if mutation_id is None:
                return None
            written = Written(mutation_id, sent, answered)
            self._written[mutation_id] = written
            if len(self._written) > MAX_REMEMBERED:
                del self._written[next(iter(self._written))]
            return written

    def send(self, mutation: Mutation, do: Callable[[Any], str]) -> Written:
        """Send ``mutation`` with blocking I/O, in its turn."""
        with self._cond:
            self._fences_waiting += mutation.fence
            try:
                self._cond.wait_for(lambda: self._may_enter(mutation.fence))
            finally:
                self._fences_waiting -= mutation.fence
            sent = self._enter(mutation.fence)
        mutation_id: str | None = None
        try:
            mutation_id = do(mutation.call)
        finally:
            written = self._leave(mutation.fence, mutation_id, sent)
        assert written is not None
        return written

    async def asend(self, mutation: Mutation, do: Callable[[Any], Awaitable[str]]) -> Written:
        """Send ``mutation`` on the event loop, in its turn (polling: other threads may hold the turn)."""
        with self._cond:
            self._fences_waiting += mutation.fence
        try:
            delay = 0.0005
            while True:
                with self._cond:
                    if self._may_enter(mutation.fence):
                        sent = self._enter(mutation.fence)
                        break
                await asyncio.sleep(delay)
                delay = min(2 * delay, 0.01)
        finally:
            with self._cond:
                self._fences_waiting -= mutation.fence
        mutation_id: str | None = None
        try:
            mutation_id = await do(mutation.call)
        finally:
            written = self._leave(mutation.fence, mutation_id, sent)
        assert written is not None
        return written

    # -- applied --------------------------------------------------------------------------------
    def target(self, mutation_id: str) -> Written:
        """What to wait for to see ``mutation_id`` applied: this process's record of it, or (a mutation
        written elsewhere) one that only ``info`` naming it confirms."""
        with self._cond:
            return self._written.get(mutation_id) or Written(mutation_id)

    def observe(self, processed: str | None) -> None:
        """``info`` named ``processed`` as the last applied mutation."""
        with self._cond:
            written = self._written.get(processed) if processed else None
            if written is None:
                return
            written.applied = True
            if written.sent > self._applied_before:
                self._applied_before = written.sent
                keep = self._applied_before
                self._written = {k: w for k, w in self._written.items() if w.answered >= keep}

    def applied(self, written: Written, processed: str | None) -> bool:
        return written.applied or written.answered < self._applied_before or written.mutation_id == processed

    # -- deferred waits -------------------------------------------------------------------------
    def defer(self, writes: Iterable[Written]) -> None:
        with self._cond:
            self._deferred.extend(writes)

    def take_deferred(self) -> list[Written]:
        with self._cond:
            taken, self._deferred = self._deferred, []
            return taken

    def restore_deferred(self, writes: list[Written]) -> None:
        with self._cond:
            self._deferred[:0] = writes

    def has_deferred(self) -> bool:
        return bool(self._deferred)


def confirm(
    log: MutationLog,
    info: Any,
    targets: list[Written],
    *,
    index: str,
    timeout: float,
    poll_interval: float,
) -> Flow[None]:
    """Poll ``info`` (a call answering :class:`~workersai.vectorize.results.IndexInfo`) until every
    target is applied; :class:`~workersai.errors.MutationTimeout` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while targets:
        state: IndexInfo = yield Request(info)
        processed = state.processed_up_to_mutation
        log.observe(processed)
        targets = [t for t in targets if not log.applied(t, processed)]
        if not targets:
            return
        if time.monotonic() >= deadline:
            first = targets[0].mutation_id
            raise MutationTimeout(
                f"{len(targets)} write(s) to {index!r} not applied within {timeout:g}s (mutation {first})"
            )
        yield Sleep(poll_interval)


_LOGS: dict[str, MutationLog] = {}
_LOGS_LOCK = threading.Lock()


def log_for(index_url: str) -> MutationLog:
    """The process's log of writes to the index at ``index_url``."""
    with _LOGS_LOCK:
        log = _LOGS.get(index_url)
        if log is None:
            log = _LOGS[index_url] = MutationLog()
        return log


def forget(index_url: str) -> None:
    """Drop the log of a deleted index (a new index of the same name starts a new one)."""
    with _LOGS_LOCK:
        _LOGS.pop(index_url, None)
