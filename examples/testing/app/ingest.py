"""An ingestion job: embed texts in requests of at most 100 and write them to a Vectorize index."""

from __future__ import annotations

from collections.abc import Sequence

from workersai import WorkersAI

EMBEDDING_MODEL = "@cf/baai/bge-small-en-v1.5"


def ingest(client: WorkersAI, index: str, texts: Sequence[str], batch_size: int = 100) -> int:
    """Create ``index`` if needed and store ``texts`` in it (ids ``doc-0``, ``doc-1``, ...), embedded
    ``batch_size`` texts per request (Workers AI takes at most 100)."""
    client.vectorize.create_index(index, dimensions=384, metric="cosine", exist_ok=True)
    vectors = client.embed(list(texts), model=EMBEDDING_MODEL, batch_size=batch_size)
    records = [
        {"id": f"doc-{i}", "values": v, "metadata": {"text": t}}
        for i, (t, v) in enumerate(zip(texts, vectors, strict=True))
    ]
    client.vectorize.upsert(index, records, wait=True)
    return len(vectors)
