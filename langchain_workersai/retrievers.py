"""``VectorizeRetriever``: similarity search over a Vectorize index as a LangChain retriever."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from .vectorstores import VectorizeVectorStore


class VectorizeRetriever(BaseRetriever):
    """Top ``k`` documents for a query, optionally filtered (Vectorize filter syntax), restricted to a
    ``namespace`` and to scores at or above ``score_threshold``. ``k`` and ``filter`` can also be given
    per call: ``retriever.invoke("question", k=2)``."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    vectorstore: VectorizeVectorStore
    k: int = 4
    filter: dict[str, Any] | None = None
    namespace: str | None = None
    score_threshold: float | None = None

    def _store(self) -> VectorizeVectorStore:
        if self.namespace is None or self.namespace == self.vectorstore.namespace:
            return self.vectorstore
        store = VectorizeVectorStore.__new__(VectorizeVectorStore)
        store.__dict__.update(self.vectorstore.__dict__, namespace=self.namespace)
        return store

    def _keep(self, scored: list[tuple[Document, float]]) -> list[Document]:
        return [d for d, s in scored if self.score_threshold is None or s >= self.score_threshold]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        scored = self._store().similarity_search_with_score(
            query, k=kwargs.get("k", self.k), filter=kwargs.get("filter", self.filter)
        )
        return self._keep(scored)

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        scored = await self._store().asimilarity_search_with_score(
            query, k=kwargs.get("k", self.k), filter=kwargs.get("filter", self.filter)
        )
        return self._keep(scored)
