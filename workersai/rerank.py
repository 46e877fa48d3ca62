"""Reranking: a query scored against texts by ``@cf/baai/bge-reranker-base`` (or bge-m3's scoring).

The wire, from the model pages:

- https://developers.cloudflare.com/workers-ai/models/bge-reranker-base/ (task Text Classification):
  input ``{query: string minLength 1, contexts: [{text: string minLength 1}], top_k?: integer minimum 1}``
  (``query`` and ``contexts`` required; "the index in this array is important, as the response will refer
  to it"); output ``{response: [{id, score}]}``, ``id`` the index of the context, ``top_k`` the "number
  of returned results starting with the best score". The page says the score "can be mapped to a float
  value in [0,1] by sigmoid function", so no range is assumed here.
- https://developers.cloudflare.com/workers-ai/models/bge-m3/: input ``{query?, contexts, truncate_inputs?}``
  (no ``top_k``); with a query the output is the same ``{response: [{id, score}]}``; without one, the
  contexts' embeddings (not used here).

Neither page states a limit on the number of contexts, so none is checked. Everything is checked
before any request (:class:`~workersai.errors.BadInput`); the answer is read once here, and the results
come back sorted by score, best first, cut at ``top_k`` (bge-m3 has no ``top_k``: the cut is made here).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import get_model
from .errors import BadInput, ResponseFormatError
from .usage import estimate_tokens, record_usage
from .validation import check_model

DEFAULT_RERANK_MODEL = "@cf/baai/bge-reranker-base"
BGE_M3 = "@cf/baai/bge-m3"


@dataclass(frozen=True)
class RerankResult:
    """One scored text: its ``index`` in the texts given, the model's ``score`` and the ``text``."""

    index: int
    score: float
    text: str


@dataclass(frozen=True)
class RerankRequest:
    """A checked rerank request: the body to send and what is needed to read its answer."""

    model: str
    texts: tuple[str, ...]
    top_k: int | None
    payload: dict[str, Any]

    @classmethod
    def build(
        cls,
        query: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        use_catalog: bool = True,
    ) -> RerankRequest:
        """Check the input and build the body; :class:`BadInput` for anything the page refuses.

        ``top_k`` is sent only to a reranker (bge-reranker-base's schema has it; bge-m3's does not).
        A model the catalog knows must be one that scores contexts; one it lacks is sent as a reranker.
        """
        check_model(model, use_catalog=False)
        info = get_model(model)
        if use_catalog and info is not None and not info.can_score:
            raise BadInput(f"model {model!r} is a {info.task} model that does not score contexts")
        if not isinstance(query, str) or not query:
            raise BadInput("query must be a non-empty string")
        if isinstance(texts, str):
            raise BadInput("texts must be a list of strings, not one string")
        items = tuple(texts)
        if not items:
            raise BadInput("texts must not be empty: there is nothing to rerank")
        for i, text in enumerate(items):
            if not isinstance(text, str):
                raise BadInput(f"texts[{i}] is {type(text).__name__}, not str")
            if not text:
                raise BadInput(f"texts[{i}] is empty; each context needs at least one character")
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, int) or top_k < 1):
            raise BadInput(f"top_k must be an integer of at least 1, not {top_k!r}")
        payload: dict[str, Any] = {"query": query, "contexts": [{"text": t} for t in items]}
        takes_top_k = info is None or info.is_reranker
        if top_k is not None and takes_top_k:
            payload["top_k"] = top_k
        return cls(model, items, top_k, payload)

    def parse(self, result: Any) -> list[RerankResult]:
        """The answer's ``response`` as results, best first, at most ``top_k`` of them."""
        items = result.get("response") if isinstance(result, Mapping) else None
        if not isinstance(items, list):
            raise ResponseFormatError(f"rerank answer has no 'response' list: {type(result).__name__}")
        out: list[RerankResult] = []
        seen: set[int] = set()
        for item in items:
            index = item.get("id") if isinstance(item, Mapping) else None
            score = item.get("score") if isinstance(item, Mapping) else None
            if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < len(self.texts):
                raise ResponseFormatError(f"rerank answer has an id outside the {len(self.texts)} texts")
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise ResponseFormatError(f"rerank answer for text {index} has no numeric score")
            if index in seen:
                raise ResponseFormatError(f"rerank answer scores text {index} twice")
            seen.add(index)
            out.append(RerankResult(index, float(score), self.texts[index]))
        out.sort(key=lambda r: (-r.score, r.index))
        tokens = sum(estimate_tokens(self.payload["query"]) + estimate_tokens(t) for t in self.texts)
        record_usage(self.model, tokens, estimated=True)
        return out if self.top_k is None else out[: self.top_k]
