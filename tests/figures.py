"""Figures the reliability tests record as they run, printed at the end of the session
(the README's reliability section quotes them).

Under pytest-xdist (``-n``) each worker records its own figures: a worker hands them to the controller
when it finishes (``workeroutput``), and the controller adds them up before printing, so the totals are
those of a run in one process. The hooks are wired in tests/conftest.py.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest

FIGURES: Counter[str] = Counter()

INJECTED = "faults injected by the emulator over the whole run"
"""Counted by each process's shared emulator, whether or not a reliability test ran in it; printed only
when some figure was recorded (as in a run in one process)."""
_KEY = "workersai_figures"

_injected: list[int] = []
"""What each worker's shared emulator injected (in the controller; workers without one send nothing)."""


def record(name: str, amount: int = 1) -> None:
    """Add ``amount`` to the figure ``name``."""
    FIGURES[name] += amount


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def finish_worker(config: pytest.Config, injected: Callable[[], int | None]) -> None:
    """In an xdist worker: hand this worker's figures and its emulator's injected faults over."""
    if _is_worker(config):
        config.workeroutput[_KEY] = {"figures": dict(FIGURES), "injected": injected()}  # type: ignore[attr-defined]


def worker_done(node: Any) -> None:
    """In the controller: add up a finished worker's figures."""
    sent = getattr(node, "workeroutput", {}).get(_KEY)
    if sent:
        FIGURES.update(sent["figures"])
        if sent["injected"] is not None:
            _injected.append(sent["injected"])


def summary(terminalreporter: pytest.TerminalReporter, injected: Callable[[], int | None]) -> None:
    """Print the figures (in the controller, or in the only process)."""
    if _is_worker(terminalreporter.config):
        return
    figures = Counter(FIGURES)
    here = injected()
    counts = _injected if here is None else [*_injected, here]
    if figures and counts:
        figures[INJECTED] = sum(counts)
        terminalreporter.section("reliability figures")
        for name, value in sorted(figures.items()):
            terminalreporter.write_line(f"{value:>9,}  {name}")
