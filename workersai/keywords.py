"""Keyword arguments a public method does not know: refused with a suggestion, never dropped.

One check for the core (chat options) and the adapters (LangChain's and LlamaIndex's ``**kwargs``),
so that ``similarity_search(q, filters=...)`` and ``chat(..., temprature=0)`` fail the same way."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def refuse_unknown(given: Iterable[str], known: Iterable[str], where: str, hints: Iterable[str] = ()) -> None:
    """A ``TypeError`` naming each keyword of ``given`` that is not in ``known``, with the closest known
    name (or one of ``hints``: names taken elsewhere in the same call) when one is close (difflib):
    ``similarity_search(q, filters=...)`` says "did you mean 'filter'?" instead of searching unfiltered.
    LangChain's and LlamaIndex's ``**kwargs`` conventions let a method take extra keys: it passes on the
    ones it knows and refuses the rest through this."""
    known = set(known)
    unknown = sorted(str(k) for k in given if k not in known)
    if not unknown:
        return
    candidates = sorted(known | set(hints))
    described = [
        f"{k!r} (did you mean {close[0]!r}?)"
        if (close := difflib.get_close_matches(k, candidates, 1))
        else repr(k)
        for k in unknown
    ]
    raise TypeError(f"{where} got unknown keyword arguments: {', '.join(described)}")
