"""``WorkersAIReranker``: Workers AI reranking as a LangChain document compressor."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.callbacks import Callbacks
from langchain_core.documents import BaseDocumentCompressor, Document
from pydantic import ConfigDict, Field

from workersai import DEFAULT_RERANK_MODEL, RerankResult
from workersai.settings import ClientSettings


class WorkersAIReranker(ClientSettings, BaseDocumentCompressor):
    """Reorders documents by their relevance to a query with ``@cf/baai/bge-reranker-base`` (or
    bge-m3's scoring, ``model="@cf/baai/bge-m3"``) and keeps the best ``top_n`` (all when None).

    Each document comes back as a copy with the model's score in ``metadata["relevance_score"]``, best
    first. Use it in a ``ContextualCompressionRetriever``:

    .. code-block:: python

        from langchain_classic.retrievers import ContextualCompressionRetriever
        from langchain_workersai import WorkersAIReranker

        retriever = ContextualCompressionRetriever(
            base_compressor=WorkersAIReranker(top_n=3),
            base_retriever=store.as_retriever(search_kwargs={"k": 20}),
        )
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    model: str = Field(default=DEFAULT_RERANK_MODEL, alias="model_name")
    top_n: int | None = Field(default=3, ge=1)

    @staticmethod
    def _ranked(documents: list[Document], results: list[RerankResult]) -> list[Document]:
        out = []
        for result in results:
            doc = documents[result.index]
            metadata = {**doc.metadata, "relevance_score": result.score}
            out.append(Document(page_content=doc.page_content, metadata=metadata, id=doc.id))
        return out

    def rerank(self, documents: Sequence[Document], query: str, top_n: int | None = None) -> list[Document]:
        """The best ``top_n`` (default: this reranker's ``top_n``) of ``documents`` for ``query``."""
        docs = list(documents)
        if not docs:
            return []
        texts = [d.page_content for d in docs]
        top = self.top_n if top_n is None else top_n
        return self._ranked(docs, self.workers_ai.rerank(query, texts, top_k=top, model=self.model))

    async def arerank(
        self, documents: Sequence[Document], query: str, top_n: int | None = None
    ) -> list[Document]:
        """Async twin of :meth:`rerank`."""
        docs = list(documents)
        if not docs:
            return []
        texts = [d.page_content for d in docs]
        top = self.top_n if top_n is None else top_n
        return self._ranked(docs, await self.workers_ai.arerank(query, texts, top_k=top, model=self.model))

    def compress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """The best ``top_n`` documents for ``query``, best first, scored in ``relevance_score``."""
        return self.rerank(documents, query)

    async def acompress_documents(
        self, documents: Sequence[Document], query: str, callbacks: Callbacks | None = None
    ) -> Sequence[Document]:
        """Async twin of :meth:`compress_documents`."""
        return await self.arerank(documents, query)
