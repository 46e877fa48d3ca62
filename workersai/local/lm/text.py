"""Turning a stream of token bytes into text pieces: whole UTF-8 characters, cut at stop strings.

A byte-level BPE token can end in the middle of a UTF-8 character, so bytes are decoded
incrementally. Text that could be the start of a stop string is held back until it is known not to
be one; when a stop string appears, the text before it is released and the stream ends.
"""

from __future__ import annotations

import codecs
from collections.abc import Sequence


class TextStream:
    def __init__(self, stop: Sequence[str] = ()) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self._stop = [s for s in stop if s]
        self._pending = ""
        self.text = ""  # everything released so far
        self.stopped = False  # a stop string was found

    def push(self, data: bytes) -> str:
        """Add a token's bytes; the text that is now safe to release (maybe "")."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(data)
        return self._release(final=False)

    def finish(self) -> str:
        """The text still held back, at the end of generation."""
        if self.stopped:
            return ""
        self._pending += self._decoder.decode(b"", final=True)
        return self._release(final=True)

    def _release(self, *, final: bool) -> str:
        pending = self._pending
        hits = [i for i in (pending.find(s) for s in self._stop) if i >= 0]
        if hits:
            out = pending[: min(hits)]
            self.stopped = True
            self._pending = ""
        elif final:
            out, self._pending = pending, ""
        else:
            hold = max((_overlap(pending, s) for s in self._stop), default=0)
            out, self._pending = pending[: len(pending) - hold], pending[len(pending) - hold :]
        self.text += out
        return out


def _overlap(text: str, stop: str) -> int:
    """Length of the longest end of ``text`` that begins ``stop`` (shorter than ``stop``)."""
    for n in range(min(len(text), len(stop) - 1), 0, -1):
        if text.endswith(stop[:n]):
            return n
    return 0
