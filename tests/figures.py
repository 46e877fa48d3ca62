"""Figures the reliability tests record as they run, printed at the end of the session
(the README's reliability section quotes them)."""

from __future__ import annotations

from collections import Counter

FIGURES: Counter[str] = Counter()


def record(name: str, amount: int = 1) -> None:
    """Add ``amount`` to the figure ``name``."""
    FIGURES[name] += amount
