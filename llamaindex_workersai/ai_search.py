"""Cloudflare AI Search for LlamaIndex: ``AISearchRetriever`` (the chunks an instance finds, as
``NodeWithScore``) and ``AISearchQueryEngine`` (the instance's generated answer with its source nodes).

Both are thin: the requests, options and checks are :class:`workersai.ai_search.AISearch`'s.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from llama_index.core.base.base_retriever import BaseRetriever
from llama_index.core.base.response.schema import Response
from llama_index.core.query_engine import CustomQueryEngine
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import ConfigDict, Field, PrivateAttr

from workersai import WorkersAI
from workersai.ai_search import AISearch, SearchChunk
from workersai.keywords import refuse_unknown
from workersai.settings import ClientSettings, client_keyword, connection, field_names

_RETRIEVER_KEYWORDS = ("callback_manager", "object_map", "objects", "verbose")
"""What LlamaIndex's ``BaseRetriever.__init__`` takes (llama-index-core 0.14.25)."""

OPTION_NAMES = (
    "filters",
    "max_num_results",
    "score_threshold",
    "retrieval_type",
    "fusion_method",
    "keyword_match_mode",
    "rewrite_query",
    "rewrite_model",
    "reranking",
    "reranking_model",
    "reranking_threshold",
)
"""The search options passed through (see :meth:`workersai.ai_search.AISearch.search`)."""


def chunk_node(chunk: SearchChunk) -> NodeWithScore:
    """A retrieved chunk as a scored node: its text, id, and in the metadata the file name, chunk id,
    score, the file's own metadata and how the score was made."""
    node = TextNode(
        id_=chunk.id,
        text=chunk.text,
        metadata={
            "filename": chunk.item.key,
            "chunk_id": chunk.id,
            "score": chunk.score,
            "item_metadata": dict(chunk.item.metadata),
            "scoring_details": dict(chunk.scoring_details or {}),
        },
    )
    return NodeWithScore(node=node, score=chunk.score)


def _split(
    kwargs: dict[str, Any], framework: Iterable[str], where: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(search options, connection settings) out of keyword arguments; what is left must be one of the
    ``framework`` base class's keywords."""
    options = {k: kwargs.pop(k) for k in list(kwargs) if k in OPTION_NAMES}
    settings = {k: kwargs.pop(k) for k in list(kwargs) if k in field_names(ClientSettings)}
    refuse_unknown(
        kwargs, framework, where, (*OPTION_NAMES, *field_names(ClientSettings), "namespace", "client")
    )
    return {k: v for k, v in options.items() if v is not None}, settings


def _client(
    owner: object,
    client: WorkersAI | None,
    workers_ai: WorkersAI | None,
    settings: dict[str, Any],
    namespace: str | None,
    where: str,
) -> AISearch:
    given = client_keyword(client, workers_ai, where, depth=2)
    return connection(owner, given, settings, where).ai_search.in_namespace(namespace)


class AISearchRetriever(BaseRetriever):
    """The chunks an AI Search instance finds for a query, as nodes with scores (``metadata``:
    ``filename``, ``chunk_id``, ``score``, ``item_metadata``, ``scoring_details``). Search options
    (``max_num_results``, ``filters``, ``score_threshold``, ``reranking``, ``rewrite_query``, ...) are
    keyword arguments; connection settings too (``account_id``, ``api_token``, ``base_url``), or an
    existing client as ``client`` (``workers_ai``, its older name, is deprecated)."""

    def __init__(
        self,
        instance: str,
        *,
        namespace: str | None = "default",
        client: WorkersAI | None = None,
        workers_ai: WorkersAI | None = None,
        **kwargs: Any,
    ) -> None:
        options, settings = _split(kwargs, _RETRIEVER_KEYWORDS, "AISearchRetriever")
        super().__init__(**kwargs)
        self.instance = instance
        self.options = options
        self.ai_search = _client(self, client, workers_ai, settings, namespace, "AISearchRetriever")

    def _retrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = self.ai_search.search(self.instance, query_bundle.query_str, **self.options)
        return [chunk_node(c) for c in result.chunks]

    async def _aretrieve(self, query_bundle: QueryBundle) -> list[NodeWithScore]:
        result = await self.ai_search.asearch(self.instance, query_bundle.query_str, **self.options)
        return [chunk_node(c) for c in result.chunks]


class AISearchQueryEngine(CustomQueryEngine):
    """The instance's answer (``/chat/completions``: retrieval and generation in one call) as a
    LlamaIndex ``Response`` whose ``source_nodes`` are the chunks it was generated from.

    .. code-block:: python

        engine = AISearchQueryEngine(instance="docs", max_num_results=5)
        response = engine.query("How do I rotate a token?")
        print(response.response, [n.node.metadata["filename"] for n in response.source_nodes])
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    instance: str
    namespace: str | None = "default"
    options: dict[str, Any] = Field(default_factory=dict)
    _ai_search: AISearch = PrivateAttr()

    def __init__(
        self,
        instance: str,
        *,
        namespace: str | None = "default",
        client: WorkersAI | None = None,
        workers_ai: WorkersAI | None = None,
        **kwargs: Any,
    ) -> None:
        options, settings = _split(kwargs, ("callback_manager",), "AISearchQueryEngine")
        super().__init__(instance=instance, namespace=namespace, options=options, **kwargs)  # type: ignore[call-arg]
        self._ai_search = _client(self, client, workers_ai, settings, namespace, "AISearchQueryEngine")

    def custom_query(self, query_str: str) -> Response:
        answer = self._ai_search.answer(self.instance, query_str, **self.options)
        return Response(response=answer.text, source_nodes=[chunk_node(c) for c in answer.chunks])

    async def acustom_query(self, query_str: str) -> Response:
        answer = await self._ai_search.aanswer(self.instance, query_str, **self.options)
        return Response(response=answer.text, source_nodes=[chunk_node(c) for c in answer.chunks])
