"""A bulk add that is killed half-way (``kill -9`` of its own process), for ``tests/test_resume.py``.

    python -m tests.resume_child INDEX N CHUNK KILL_ON_CALL STORED_AT_LEAST [--d1 DATABASE]
        [--kill-at WHEN:PATH:COUNT] [--version V]

Pointed at the emulator by ``CLOUDFLARE_*`` variables. On its ``KILL_ON_CALL``-th embedding call (0:
never) it waits until the index holds at least ``STORED_AT_LEAST`` vectors (earlier batches uploading
meanwhile), then sends itself SIGKILL: no cleanup, no ``finally``, in-flight requests cut.

``--kill-at request:/upsert:2`` kills it instead just before its 2nd request whose path contains
``/upsert`` is sent; ``response:/d1/:1`` just after the answer to its 1st D1 request arrived. ``--d1``
keeps the texts in that D1 database; ``--version`` picks which texts the documents get (an update of
an earlier version).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time

import httpx

from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
from workersai import WorkersAI

EMBED = "@cf/baai/bge-small-en-v1.5"


def texts(n: int, version: int = 0) -> list[str]:
    """The documents of the drill (distinct, so each embedding request names its documents); each
    version of a document has another text."""
    edition = f" (edition {version})" if version else ""
    return [
        f"Resume note {i}: the flurbostat in hall {i % 17} reads {i * 7919 % 10007}.{edition}"
        for i in range(n)
    ]


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


class KillAt:
    """httpx event hooks that kill the process at the ``count``-th request (``when`` "request": before
    it is sent; "response": once its answer arrived) whose path contains ``path``."""

    def __init__(self, spec: str) -> None:
        when, self.path, count = spec.split(":")
        self.when, self.count, self.seen = when, int(count), 0

    def _saw(self, path: str) -> None:
        if self.path in path:
            self.seen += 1
            if self.seen == self.count:
                os.kill(os.getpid(), signal.SIGKILL)

    def request(self, request: httpx.Request) -> None:
        if self.when == "request":
            self._saw(request.url.path)

    def response(self, response: httpx.Response) -> None:
        if self.when == "response":
            self._saw(response.request.url.path)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("index")
    parser.add_argument("numbers", type=int, nargs=4)
    parser.add_argument("--d1", default=None)
    parser.add_argument("--kill-at", default=None)
    parser.add_argument("--version", type=int, default=0)
    args = parser.parse_args()
    n, chunk, kill_on_call, stored_at_least = args.numbers
    hooks: dict[str, list[object]] = {}
    if args.kill_at:
        kill = KillAt(args.kill_at)
        hooks = {"request": [kill.request], "response": [kill.response]}
    client = WorkersAI(http_client=httpx.Client(timeout=60, event_hooks=hooks))  # type: ignore[arg-type]
    embeddings = KilledMidway(
        model=EMBED,
        client=client,
        kill_on_call=kill_on_call,
        stored_at_least=stored_at_least,
        index=args.index,
    )
    store = VectorizeVectorStore(
        args.index, embeddings, client=client, chunk_size=chunk, batch_size=chunk, d1_database_id=args.d1
    )
    store.add_texts(texts(n, args.version), ids=ids(n))
    sys.exit("the add finished: it was not killed")


if __name__ == "__main__":
    main()
