"""A bulk add that is killed half-way (``kill -9`` of its own process), for ``tests/test_resume.py``.

    python -m tests.resume_child INDEX N CHUNK KILL_ON_CALL STORED_AT_LEAST

Pointed at the emulator by ``CLOUDFLARE_*`` variables. On its ``KILL_ON_CALL``-th embedding call it
waits until the index holds at least ``STORED_AT_LEAST`` vectors (earlier batches uploading meanwhile),
then sends itself SIGKILL: no cleanup, no ``finally``, in-flight requests cut.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

EMBED = "@cf/baai/bge-small-en-v1.5"


def texts(n: int) -> list[str]:
    """The documents of the drill (distinct, so each embedding request names its documents)."""
    return [f"Resume note {i}: the flurbostat in hall {i % 17} reads {i * 7919 % 10007}." for i in range(n)]


def ids(n: int) -> list[str]:
    return [f"doc-{i}" for i in range(n)]


class KilledMidway(WorkersAIEmbeddings):
    """Embeddings that kill their process on the ``kill_on_call``-th ``embed_documents``."""

    kill_on_call: int = 0
    stored_at_least: int = 0
    index: str = ""
    calls: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        if self.calls == self.kill_on_call:
            deadline = time.monotonic() + 30
            while self.workers_ai.vectorize.info(self.index).vector_count < self.stored_at_least:
                if time.monotonic() > deadline:
                    sys.exit("the earlier batches were not stored within 30 s")
                time.sleep(0.02)
            os.kill(os.getpid(), signal.SIGKILL)
        return super().embed_documents(texts)


def main() -> None:
    index, n, chunk, kill_on_call, stored_at_least = sys.argv[1], *map(int, sys.argv[2:6])
    embeddings = KilledMidway(
        model=EMBED, kill_on_call=kill_on_call, stored_at_least=stored_at_least, index=index
    )
    store = VectorizeVectorStore(index, embeddings, chunk_size=chunk, batch_size=chunk)
    store.add_texts(texts(n), ids=ids(n))
    sys.exit("the add finished: it was not killed")


if __name__ == "__main__":
    main()
