"""The rules of ``{query, contexts}`` scoring on ``/ai/run``, as the model pages state them.

- https://developers.cloudflare.com/workers-ai/models/bge-reranker-base/: ``query`` (string, minLength 1)
  and ``contexts`` (array of ``{text: string minLength 1}``) are required; ``top_k`` is an integer of at
  least 1, the "number of returned results starting with the best score". The answer is
  ``{response: [{id, score}]}``, ``id`` the index of the context.
- https://developers.cloudflare.com/workers-ai/models/bge-m3/: ``contexts`` required, ``query``
  optional ("If no query is provided the model with respond with embeddings for contexts"),
  ``truncate_inputs`` a boolean; no ``top_k``.

Neither page states a maximum number of contexts, so the emulator sets none. A bad field is 400 with
code 5006 and an ``AiError: Bad input:`` message, as every Workers AI schema failure
(https://developers.cloudflare.com/workers-ai/platform/errors/).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ...catalog import ModelInfo
from .ai import bad_input


@dataclass(frozen=True)
class Scoring:
    """A checked scoring request: ``query`` None asks bge-m3 for the contexts' embeddings."""

    query: str | None
    texts: list[str]
    top_k: int | None


def scoring(info: ModelInfo, body: dict[str, Any]) -> Scoring:
    """The query, context texts and ``top_k`` of a ``{query, contexts}`` request to ``info``."""
    query = body.get("query")
    if query is None and info.is_reranker:
        raise bad_input("must have required property 'query'")
    if query is not None and (not isinstance(query, str) or not query):
        raise bad_input("'/query' must be a string of at least 1 character")
    contexts = body.get("contexts")
    if contexts is None:
        raise bad_input("must have required property 'contexts'")
    if not isinstance(contexts, list):
        raise bad_input("Type mismatch of '/contexts', must be array")
    texts: list[str] = []
    for i, item in enumerate(contexts):
        text = item.get("text") if isinstance(item, dict) else None
        if not isinstance(text, str) or not text:
            raise bad_input(f"'/contexts/{i}/text' must be a string of at least 1 character")
        texts.append(text)
    if not texts:  # an empty list has nothing to score; the pages' examples always send contexts
        raise bad_input("'/contexts' must NOT have fewer than 1 items")
    top_k = body.get("top_k") if info.is_reranker else None  # bge-m3's schema has no top_k
    if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
        raise bad_input("'/top_k' must be an integer >= 1")
    if "truncate_inputs" in body and not isinstance(body["truncate_inputs"], bool):
        raise bad_input("Type mismatch of '/truncate_inputs', must be boolean")
    return Scoring(query, texts, top_k)
