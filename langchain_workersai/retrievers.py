"""``VectorizeRetriever``: similarity search over a Vectorize index as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict, Field, model_validator

from workersai.keywords import refuse_unknown
from workersai.settings import field_names

from .rerankers import WorkersAIReranker
from .vectorstores import VectorizeVectorStore


class VectorizeRetriever(BaseRetriever):
    """Top ``k`` documents for a query, optionally filtered (Vectorize filter syntax), restricted to a
    ``namespace`` and to scores at or above ``score_threshold``. ``k`` and ``filter`` can also be given
    per call: ``retriever.invoke("question", k=2)``.

    With a ``reranker`` (:class:`~langchain_workersai.WorkersAIReranker`), ``fetch_k`` candidates (at
    least ``k``) are read from the index and the reranker's best ``k`` are returned, each with its
    ``relevance_score``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vectorstore: VectorizeVectorStore
    k: int = 4
    filter: dict[str, Any] | None = None
    namespace: str | None = None
    score_threshold: float | None = None
    reranker: WorkersAIReranker | None = None
    fetch_k: int = Field(default=20, ge=1, le=50)
    """Candidates read from the index when reranking (50 is Vectorize's topK ceiling with metadata)."""

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keywords(cls, data: Any) -> Any:
        """``VectorizeRetriever(vectorstore=s, filters=...)`` is a ``TypeError`` naming ``filter``, not a
        retriever that silently does not filter."""
        if isinstance(data, dict):
            refuse_unknown(data, field_names(cls), cls.__name__)
        return data

    def _call_options(self, kwargs: dict[str, Any]) -> tuple[int, dict[str, Any] | None]:
        """A call's ``k`` and ``filter`` (``invoke("q", k=2)``), else the retriever's; other keywords
        are refused."""
        refuse_unknown(kwargs, ("k", "filter"), "VectorizeRetriever.invoke", field_names(type(self)))
        return kwargs.get("k", self.k), kwargs.get("filter", self.filter)

    def _store(self) -> VectorizeVectorStore:
        if self.namespace is None or self.namespace == self.vectorstore.namespace:
            return self.vectorstore
        store = VectorizeVectorStore.__new__(VectorizeVectorStore)
        store.__dict__.update(self.vectorstore.__dict__, namespace=self.namespace)
        return store

    def _candidates(self, k: int) -> int:
        """How many results to read from the index: ``k``, or ``fetch_k`` (at least ``k``) to rerank."""
        return k if self.reranker is None else max(k, self.fetch_k)

    def _keep(self, scored: list[tuple[Document, float]]) -> list[Document]:
        return [d for d, s in scored if self.score_threshold is None or s >= self.score_threshold]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k, flt = self._call_options(kwargs)
        scored = self._store().similarity_search_with_score(query, k=self._candidates(k), filter=flt)
        if self.reranker is None:
            return self._keep(scored)
        return self.reranker.rerank(self._keep(scored), query, top_n=k)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        k, flt = self._call_options(kwargs)
        scored = await self._store().asimilarity_search_with_score(query, k=self._candidates(k), filter=flt)
        if self.reranker is None:
            return self._keep(scored)
        return await self.reranker.arerank(self._keep(scored), query, top_n=k)
