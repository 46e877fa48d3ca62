"""``VectorizeRetriever``: the top nodes of a Vectorize index for a query, as a LlamaIndex retriever."""

from __future__ import annotations

from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.embeddings.base import BaseEmbedding
from llama_index.core.schema import NodeWithScore, QueryBundle
from llama_index.core.vector_stores.types import MetadataFilters, VectorStoreQuery

from .vector_stores import VectorizeVectorStore


class VectorizeRetriever(BaseRetriever):
    """``similarity_top_k`` nodes for a query, optionally filtered, with their scores.

    The same results come from ``VectorStoreIndex.from_vector_store(store, embed_model).as_retriever()``;
    this class needs no index object."""

    def __init__(
        self,
        vector_store: VectorizeVectorStore,
        embed_model: BaseEmbedding,
        *,
        similarity_top_k: int = 4,
        filters: MetadataFilters | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.vector_store = vector_store
        self.embed_model = embed_model
        self.similarity_top_k = similarity_top_k
        self.filters = filters

    def _query(self, bundle: QueryBundle, embedding: list[float]) -> VectorStoreQuery:
        return VectorStoreQuery(
            query_embedding=embedding,
            similarity_top_k=self.similarity_top_k,
            filters=self.filters,
            query_str=bundle.query_str,
        )

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        embedding = self.embed_model.get_query_embedding(query_bundle.query_str)
        result = self.vector_store.query(self._query(query_bundle, embedding))
        return [
            NodeWithScore(node=n, score=s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=True)
        ]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        embedding = await self.embed_model.aget_query_embedding(query_bundle.query_str)
        result = await self.vector_store.aquery(self._query(query_bundle, embedding))
        return [
            NodeWithScore(node=n, score=s)
            for n, s in zip(result.nodes or [], result.similarities or [], strict=True)
        ]
