"""``VectorizeRetriever``: the top nodes of a Vectorize index for a query, as a LlamaIndex retriever."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores.types import MetadataFilters, VectorStoreQuery, VectorStoreQueryResult

from workersai.keywords import refuse_unknown

from .postprocessors import WorkersAIRerank
from .vector_stores import VectorizeVectorStore


class VectorizeRetriever(BaseRetriever):
    """``similarity_top_k`` nodes for a query, optionally filtered, with their scores.

    The same results come from ``VectorStoreIndex.from_vector_store(store, embed_model).as_retriever()``;
    this class needs no index object.

    With a ``reranker`` (:class:`~llamaindex_workersai.WorkersAIRerank`), ``fetch_k`` candidates (at
    least ``similarity_top_k``) are read from the index and the reranker's best ``similarity_top_k``
    are returned, scored by the reranker."""

    def __init__(
        self,
        vector_store: VectorizeVectorStore,
        embed_model: BaseEmbedding,
        *,
        similarity_top_k: int = 4,
        filters: MetadataFilters | None = None,
        reranker: WorkersAIRerank | None = None,
        fetch_k: int = 20,
        **kwargs: Any,
    ) -> None:
        hints = ("vector_store", "embed_model", "similarity_top_k", "filters", "reranker", "fetch_k")
        refuse_unknown(
            kwargs, ("callback_manager", "object_map", "objects", "verbose"), "VectorizeRetriever", hints
        )
        super().__init__(**kwargs)
        if not 1 <= fetch_k <= 50:  # 50: Vectorize's topK ceiling when metadata is returned
            raise ValueError(f"fetch_k must be between 1 and 50, got {fetch_k}")
        self.reranker = reranker
        self.fetch_k = fetch_k
        self.vector_store = vector_store
        self.embed_model = embed_model
        self.similarity_top_k = similarity_top_k
        self.filters = filters

    def _query(self, bundle: QueryBundle, embedding: list[float]) -> VectorStoreQuery:
        return VectorStoreQuery(
            query_embedding=embedding,
            similarity_top_k=(
                self.similarity_top_k if self.reranker is None else max(self.similarity_top_k, self.fetch_k)
            ),
            filters=self.filters,
            query_str=bundle.query_str,
        )

    @staticmethod
    def _found(result: VectorStoreQueryResult) -> list[NodeWithScore]:
        return [
            NodeWithScore(node=n, score=s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=True)
        ]

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        embedding = self.embed_model.get_query_embedding(query_bundle.query_str)
        found = self._found(self.vector_store.query(self._query(query_bundle, embedding)))
        if self.reranker is None:
            return found
        return self.reranker.rerank(found, query_bundle.query_str, top_n=self.similarity_top_k)

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        embedding = await self.embed_model.aget_query_embedding(query_bundle.query_str)
        found = self._found(await self.vector_store.aquery(self._query(query_bundle, embedding)))
        if self.reranker is None:
            return found
        return await self.reranker.arerank(found, query_bundle.query_str, top_n=self.similarity_top_k)
