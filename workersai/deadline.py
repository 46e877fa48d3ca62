"""A call's total time budget, shared by its attempts, its waits and its fallbacks.

``deadline=`` (seconds) on :meth:`WorkersAI.with_options <workersai.WorkersAI.with_options>` or on an
adapter's call bounds the whole call: each attempt's HTTP timeout is cut to the time left, a retry whose
wait would end past the deadline is not made, and a fallback that finds no time left raises
:class:`~workersai.errors.DeadlineExceeded` instead of sending. One :class:`Deadline` object is handed
to every model a fallback chain tries, so they share one budget.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import DeadlineExceeded


@dataclass
class Deadline:
    """``seconds`` from its creation on ``clock`` (``time.monotonic`` unless a test injects one)."""

    seconds: float
    clock: Callable[[], float] = field(default=time.monotonic, repr=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        if not self.seconds > 0:  # also refuses NaN
            raise ValueError(f"a deadline is a positive number of seconds, not {self.seconds!r}")
        self.at = self.clock() + self.seconds

    def remaining(self) -> float:
        """Seconds left (0 once it has passed)."""
        return max(0.0, self.at - self.clock())

    def check(self, what: str = "the call") -> float:
        """The seconds left; :class:`DeadlineExceeded` when none are."""
        left = self.remaining()
        if left <= 0:
            raise DeadlineExceeded(f"{what}: the deadline of {self.seconds:g} s has passed")
        return left


DeadlineLike = float | Deadline
"""A deadline as given: seconds (a budget that starts with each call) or a :class:`Deadline` (a budget
already running, shared)."""


def start(deadline: DeadlineLike | None, clock: Callable[[], float] | None = None) -> Deadline | None:
    """The running deadline of a call: a given :class:`Deadline` as it is, seconds started now."""
    if deadline is None or isinstance(deadline, Deadline):
        return deadline
    return Deadline(float(deadline), clock or time.monotonic)
