"""Vectorize write bodies turned into batches the store can enqueue, off the emulator's event loop and,
for big bodies, out of its process.

A batch is the checked vectors of one insert or upsert (:func:`workersai.local.rules.vectorize.ndjson`)
with their values packed into one float32 matrix. Parsing a body of 1,000 vectors of 768 numbers
creates 768,000 Python floats: a few hundred milliseconds of CPU that, in a worker thread, still holds
the interpreter lock, so the event loop waited for it in slices and every other request (and the rate
limits' clocks) with it (``benchmarks/emulator_write_lag.py``). Bodies of at least
:data:`PROCESS_THRESHOLD_BYTES` are therefore parsed by :class:`ParserPool`'s worker processes, which
send back only the matrix and the small records; smaller ones (every test's) stay in a thread, where a
process round trip would cost more than it saves. Both run the same :func:`parse_batch`.

The workers are plain ``python -c`` children reading pickled requests on stdin: unlike
``multiprocessing``'s spawn (or ``anyio.to_process``), they never re-run the parent's ``__main__``, so a
user's script without an ``if __name__ == "__main__"`` guard is not run twice. A child exits when its
stdin closes, that is with the emulator's process at the latest.
"""

from __future__ import annotations

import contextlib
import logging
import pickle
import subprocess
import sys
import threading
from dataclasses import dataclass
from typing import IO, Any

import numpy as np
from numpy.typing import NDArray

from .rules import Rejected
from .rules import vectorize as rules

log = logging.getLogger("workersai.local.vectorize")

PROCESS_THRESHOLD_BYTES = 1_000_000
"""Write bodies at least this big are parsed in a worker process (about 120 vectors of 768 numbers)."""

MAX_WORKERS = 2
"""Worker processes at most (each parses one body at a time; more wait for a free one)."""


@dataclass
class VectorBatch:
    """The vectors of one write: ``records`` (id, metadata, namespace of each) and their values, as one
    ``(n, dims)`` float32 matrix when every vector has the same length (else None: ``lengths`` then
    says which vector differs, for the dimension error)."""

    records: list[dict[str, Any]]
    values: NDArray[np.float32] | None
    lengths: list[int]

    @property
    def dimensions(self) -> int:
        return self.lengths[0] if self.lengths else 0


def pack(vectors: list[dict[str, Any]]) -> VectorBatch:
    """Checked vectors as a batch: one float32 matrix for the values (when they are all one length)."""
    lengths = [len(v["values"]) for v in vectors]
    uniform = bool(vectors) and lengths.count(lengths[0]) == len(lengths)
    values = np.asarray([v["values"] for v in vectors], dtype=np.float32) if uniform else None
    records = [
        {"id": v["id"], "metadata": v.get("metadata"), "namespace": v.get("namespace")} for v in vectors
    ]
    return VectorBatch(records, values, lengths)


def parse_batch(raw: bytes, discard_unparsable: bool) -> VectorBatch:
    """An NDJSON write body, checked line by line and packed (raises :class:`Rejected`)."""
    return pack(rules.ndjson(raw, discard_unparsable))


class _Worker:
    """One child process parsing bodies: a pickled ``(raw, discard)`` in, a pickled answer out."""

    def __init__(self) -> None:
        code = (
            f"import sys; sys.path[:0] = {[p for p in sys.path if p]!r}; "
            "from workersai.local.vectorize_batch import serve; serve()"
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def parse(self, raw: bytes, discard_unparsable: bool) -> VectorBatch:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        pickle.dump((raw, discard_unparsable), stdin, protocol=pickle.HIGHEST_PROTOCOL)
        stdin.flush()
        answer = pickle.load(stdout)
        if answer[0] == "rejected":
            raise Rejected(*answer[1:])
        if answer[0] != "ok":
            raise RuntimeError(f"vectorize parser process: {answer[1]}")
        batch: VectorBatch = answer[1]
        return batch

    def close(self) -> None:
        if self.proc.stdin is not None:
            # The child's cue to exit; OSError: it is gone already (the buffer has nowhere to go).
            with contextlib.suppress(OSError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=2)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


class ParserPool:
    """Up to :data:`MAX_WORKERS` parser processes, started on first need and reused; call from worker
    threads (each call blocks its thread, in pipe I/O that releases the interpreter lock)."""

    def __init__(self, max_workers: int = MAX_WORKERS) -> None:
        self._idle: list[_Worker] = []
        self._started = 0
        self._max = max_workers
        self._free = threading.Condition()

    def _take(self) -> _Worker:
        with self._free:
            while not self._idle and self._started >= self._max:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._started += 1
        try:
            return _Worker()
        except BaseException:
            self._give_back(None)
            raise

    def _give_back(self, worker: _Worker | None) -> None:
        with self._free:
            if worker is None:
                self._started -= 1
            else:
                self._idle.append(worker)
            self._free.notify()

    def parse(self, raw: bytes, discard_unparsable: bool) -> VectorBatch:
        """:func:`parse_batch` in a worker process; in this thread if the worker breaks."""
        worker = self._take()
        try:
            batch = worker.parse(raw, discard_unparsable)
        except Rejected:
            self._give_back(worker)
            raise
        except Exception:  # a child killed, a broken pipe: drop it, parse here
            log.exception("vectorize parser process failed; parsing in the emulator's process")
            worker.close()
            self._give_back(None)
            return parse_batch(raw, discard_unparsable)
        self._give_back(worker)
        return batch

    def close(self) -> None:
        with self._free:
            idle, self._idle = self._idle, []
            self._started -= len(idle)
        for worker in idle:
            worker.close()


_pool: ParserPool | None = None
_pool_lock = threading.Lock()


def parser_pool() -> ParserPool:
    """The process's parser pool (one for every emulator in it), made on first use."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ParserPool()
        return _pool


def parse_write(raw: bytes, discard_unparsable: bool) -> VectorBatch:
    """A write body as a batch: in a worker process when it is big, else here. Blocks: call it in a
    worker thread."""
    if len(raw) >= PROCESS_THRESHOLD_BYTES:
        return parser_pool().parse(raw, discard_unparsable)
    return parse_batch(raw, discard_unparsable)


def _answer(raw: bytes, discard_unparsable: bool) -> tuple[Any, ...]:
    try:
        return ("ok", parse_batch(raw, discard_unparsable))
    except Rejected as exc:
        return ("rejected", exc.status, exc.code, exc.message)
    except Exception as exc:
        return ("error", repr(exc)[:500])


def serve(stdin: IO[bytes] | None = None, stdout: IO[bytes] | None = None) -> None:
    """A parser process's loop: answers each request on stdout until stdin closes."""
    source = stdin or sys.stdin.buffer
    sink = stdout or sys.stdout.buffer
    while True:
        try:
            raw, discard = pickle.load(source)
        except EOFError:
            return
        pickle.dump(_answer(raw, discard), sink, protocol=pickle.HIGHEST_PROTOCOL)
        sink.flush()
