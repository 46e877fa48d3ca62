"""Batch embeddings with a cost estimate: 1,000 texts, 100 a request, several requests at once."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import WorkersAIEmbeddings, get_workersai_callback

TIMEOUT_S = 600.0


def main() -> None:
    texts = [f"Support ticket {i}: the customer asks about invoice {i * 7 % 1000}." for i in range(1000)]
    with cloudflare_env(), get_workersai_callback() as usage:
        # timeout: generous for the local emulator, which embeds on this machine's CPU one request at a
        # time, so the last of the concurrent requests waits for all the others (a minute or more on a
        # busy machine); the default, 60 s, then times out and retries, and requests != 10.
        embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", timeout=TIMEOUT_S)
        start = time.perf_counter()
        vectors = embeddings.embed_documents(texts)
        elapsed = time.perf_counter() - start
    entry = usage.by_model["@cf/baai/bge-small-en-v1.5"]
    print(
        f"{len(vectors)} vectors of {len(vectors[0])} dimensions in {elapsed:.1f}s, {entry.requests} requests"
    )
    print(f"usage (input tokens estimated): {usage.summary()}")
    assert len(vectors) == 1000 and entry.requests == 10


if __name__ == "__main__":
    main()
