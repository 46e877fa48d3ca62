"""Flows, written once and driven by a sync and an async runner that only do the I/O.

As httpx's ``Auth.auth_flow``: a flow is a generator that yields what it needs next (a page's query, a
poll, a pause) and receives the answer; it holds the logic and can be tested without HTTP by sending it
answers. :func:`drive` and :func:`adrive` run a flow whose steps are one call each (the catalog's pages,
a batch's polls); Vectorize's flows, which also start requests concurrently and stream their input,
have their own runners in :mod:`workersai.vectorize.flows`, with the same :class:`Sleep`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Generator
from dataclasses import dataclass
from typing import TypeVar

Y = TypeVar("Y")
S = TypeVar("S")
R = TypeVar("R")


@dataclass
class Sleep:
    """Pause for ``seconds``; receive ``None``."""

    seconds: float


def drive(flow: Generator[Y, S, R], step: Callable[[Y], S]) -> R:
    """Run ``flow`` to its end, answering each thing it yields with ``step(thing)``; returns what the
    flow returns. An error of ``step`` propagates (the flow is closed)."""
    try:
        need = next(flow)
        while True:
            need = flow.send(step(need))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()


async def adrive(flow: Generator[Y, S, R], step: Callable[[Y], Awaitable[S]]) -> R:
    """Async twin of :func:`drive`: each answer is ``await step(thing)``."""
    try:
        need = next(flow)
        while True:
            need = flow.send(await step(need))
    except StopIteration as stop:
        return stop.value  # type: ignore[no-any-return]
    finally:
        flow.close()
