"""``WorkersAIRerank``: Workers AI reranking as a LlamaIndex node postprocessor."""

from __future__ import annotations

from llama_index.core.postprocessor.types import BaseNodePostprocessor
from llama_index.core.schema import MetadataMode, NodeWithScore, QueryBundle
from pydantic import Field

from workersai import DEFAULT_RERANK_MODEL, RerankResult
from workersai.settings import ClientSettings


class WorkersAIRerank(ClientSettings, BaseNodePostprocessor):
    """Reorders nodes by their relevance to the query with ``@cf/baai/bge-reranker-base`` (or bge-m3's
    scoring, ``model="@cf/baai/bge-m3"``) and keeps the best ``top_n`` (all when None); each node's
    ``score`` becomes the model's score. The model reads each node's text (without its metadata).
    Use it as a query engine's node postprocessor:

    .. code-block:: python

        engine = index.as_query_engine(similarity_top_k=20, node_postprocessors=[WorkersAIRerank(top_n=3)])
    """

    model: str = Field(default=DEFAULT_RERANK_MODEL, alias="model_name")
    top_n: int | None = Field(default=3, ge=1)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIRerank"

    @staticmethod
    def _texts(nodes: list[NodeWithScore]) -> list[str]:
        return [n.node.get_content(metadata_mode=MetadataMode.NONE) for n in nodes]

    @staticmethod
    def _ranked(nodes: list[NodeWithScore], results: list[RerankResult]) -> list[NodeWithScore]:
        return [NodeWithScore(node=nodes[r.index].node, score=r.score) for r in results]

    @staticmethod
    def _query(query_bundle: QueryBundle | None) -> str:
        if query_bundle is None:
            raise ValueError("WorkersAIRerank needs the query (a QueryBundle) to rerank nodes")
        return query_bundle.query_str

    def rerank(self, nodes: list[NodeWithScore], query: str, top_n: int | None = None) -> list[NodeWithScore]:
        """The best ``top_n`` (default: this postprocessor's ``top_n``) of ``nodes`` for ``query``."""
        if not nodes:
            return []
        top = self.top_n if top_n is None else top_n
        results = self.workers_ai.rerank(query, self._texts(nodes), top_k=top, model=self.model)
        return self._ranked(nodes, results)

    async def arerank(
        self, nodes: list[NodeWithScore], query: str, top_n: int | None = None
    ) -> list[NodeWithScore]:
        """Async twin of :meth:`rerank`."""
        if not nodes:
            return []
        top = self.top_n if top_n is None else top_n
        results = await self.workers_ai.arerank(query, self._texts(nodes), top_k=top, model=self.model)
        return self._ranked(nodes, results)

    def _postprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        return self.rerank(nodes, self._query(query_bundle))

    async def _apostprocess_nodes(
        self, nodes: list[NodeWithScore], query_bundle: QueryBundle | None = None
    ) -> list[NodeWithScore]:
        return await self.arerank(nodes, self._query(query_bundle))
