"""Reasoning written into the answer text as ``<think>...</think>``, taken out of it.

DeepSeek-R1-distill and QwQ on Workers AI write their reasoning into the text, and Workers AI's chat
template already opens the ``<think>`` block, so the text often holds only the closing ``</think>``
(cloudflare/workers-ai-provider#16, "Workers AI lacks the first <think> tag for R1 model"). For those
models (``implicit_open``) everything before ``</think>`` is reasoning; for any other model only a text
that starts with ``<think>`` is split. The answer never keeps the tags or the reasoning.
"""

from __future__ import annotations

OPEN = "<think>"
CLOSE = "</think>"


def split_think(text: str, *, implicit_open: bool = False) -> tuple[str | None, str]:
    """``(reasoning, answer)`` of a whole text; reasoning is None when the text holds none.

    A ``<think>`` block that never closes (the answer was cut by ``max_tokens`` while the model was
    still reasoning) is all reasoning, and the answer is empty."""
    stripped = text.lstrip()
    if stripped.startswith(OPEN):
        thought, closed, answer = stripped[len(OPEN) :].partition(CLOSE)
        return thought.strip(), answer.lstrip() if closed else ""
    if implicit_open and CLOSE in text:
        thought, _, answer = text.partition(CLOSE)
        return thought.strip(), answer.lstrip()
    return None, text


def _held_suffix(buffer: str, tag: str) -> int:
    """How many characters at the end of ``buffer`` could be the start of ``tag``."""
    for n in range(min(len(tag) - 1, len(buffer)), 0, -1):
        if buffer.endswith(tag[:n]):
            return n
    return 0


class ThinkSplitter:
    """:func:`split_think` for a stream: text pieces in, ``(reasoning, answer)`` pieces out.

    Tags split across pieces (``"<thi"`` then ``"nk>"``) are held back until they are whole; nothing
    else is delayed. With ``implicit_open`` the text is reasoning until ``</think>`` arrives."""

    def __init__(self, *, implicit_open: bool = False) -> None:
        self._implicit = implicit_open
        self._state = "start"  # start -> think -> answer
        self._held = ""
        self._answer_started = False
        self._thought_started = False

    def _thought(self, text: str) -> str:
        if not self._thought_started:
            text = text.lstrip()
            self._thought_started = bool(text)
        return text

    def _answer(self, text: str) -> str:
        if not self._answer_started:
            text = text.lstrip()
            self._answer_started = bool(text)
        return text

    def feed(self, text: str) -> tuple[str, str]:
        """The reasoning and the answer in ``text`` (and in what was held back before it)."""
        if self._state == "answer":
            return "", self._answer(text)
        buffer = self._held + text
        self._held = ""
        if self._state == "start":
            stripped = buffer.lstrip()
            if stripped.startswith(OPEN):
                self._state = "think"
                buffer = stripped[len(OPEN) :]
            elif OPEN.startswith(stripped):  # could still become "<think>": wait for more
                self._held = buffer
                return "", ""
            elif self._implicit:
                self._state = "think"
            else:
                self._state = "answer"
                self._answer_started = True
                return "", buffer
        thought, closed, rest = buffer.partition(CLOSE)
        if closed:
            self._state = "answer"
            return self._thought(thought), self._answer(rest)
        keep = _held_suffix(buffer, CLOSE)
        self._held = buffer[len(buffer) - keep :] if keep else ""
        return self._thought(buffer[: len(buffer) - keep]), ""

    def flush(self) -> tuple[str, str]:
        """What was held back when the stream ends."""
        held, self._held = self._held, ""
        if not held:
            return "", ""
        if self._state == "think" or (self._state == "start" and self._implicit):
            return held, ""
        return "", held
