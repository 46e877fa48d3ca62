"""Cloudflare AI Search for LangChain: ``AISearchRetriever`` (the chunks an instance finds, as Documents)
and ``AISearchChain`` (the instance's generated answer with its sources, as a Runnable).

Both are thin: the requests, options and checks are :class:`workersai.ai_search.AISearch`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForRetrieverRun, CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.messages import BaseMessage
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import RunnableConfig, RunnableSerializable
from pydantic import ConfigDict

from workersai.ai_search import AISearch, FusionMethod, RetrievalType, SearchChunk
from workersai.keywords import refuse_unknown
from workersai.settings import ClientSettings, field_names

_ROLES = {"human": "user", "ai": "assistant", "system": "system", "tool": "tool"}


def chunk_document(chunk: SearchChunk) -> Document:
    """A retrieved chunk as a Document: its text, and in the metadata the file name, chunk id, score,
    the file's own metadata and how the score was made."""
    return Document(
        page_content=chunk.text,
        id=chunk.id,
        metadata={
            "filename": chunk.item.key,
            "chunk_id": chunk.id,
            "score": chunk.score,
            "timestamp": chunk.item.timestamp,
            "item_metadata": dict(chunk.item.metadata),
            "scoring_details": dict(chunk.scoring_details or {}),
        },
    )


class _AISearchOptions(ClientSettings):
    """The instance, its namespace and the search options (None: the instance's own setting)."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    instance: str
    namespace: str | None = "default"
    """``None`` uses the older ``/ai-search/instances`` paths."""
    filters: dict[str, Any] | None = None
    max_num_results: int | None = None
    score_threshold: float | None = None
    retrieval_type: RetrievalType | None = None
    fusion_method: FusionMethod | None = None
    rewrite_query: bool | None = None
    reranking: bool | None = None
    reranking_model: str | None = None

    def _ai_search(self) -> AISearch:
        return self.workers_ai.ai_search.in_namespace(self.namespace)

    def _options(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The options of a call: this object's, with a call's keyword arguments over them."""
        names = (
            "filters",
            "max_num_results",
            "score_threshold",
            "retrieval_type",
            "fusion_method",
            "rewrite_query",
            "reranking",
            "reranking_model",
        )
        refuse_unknown(overrides, names, type(self).__name__, field_names(type(self)))
        options = {name: getattr(self, name) for name in names}
        options.update(overrides)
        return {k: v for k, v in options.items() if v is not None}


class AISearchRetriever(_AISearchOptions, BaseRetriever):
    """The chunks an AI Search instance finds for a query, as Documents (``metadata``: ``filename``,
    ``chunk_id``, ``score``, ``item_metadata``, ``scoring_details``). Options can be given per call:
    ``retriever.invoke("question", max_num_results=3, filters={"folder": "docs/"})``.

    .. code-block:: python

        from langchain_workersai import AISearchRetriever

        retriever = AISearchRetriever(instance="docs", max_num_results=5, reranking=True)
        docs = retriever.invoke("How do I rotate a token?")
    """

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        result = self._ai_search().search(self.instance, query, **self._options(kwargs))
        return [chunk_document(c) for c in result.chunks]

    async def _aget_relevant_documents(
        self, query: str, *, run_manager: AsyncCallbackManagerForRetrieverRun, **kwargs: Any
    ) -> list[Document]:
        result = await self._ai_search().asearch(self.instance, query, **self._options(kwargs))
        return [chunk_document(c) for c in result.chunks]


def _messages(value: Any) -> str | list[dict[str, str]]:
    """A chain input as the query or messages AI Search takes: a string, ``{"question": ...}`` (or
    ``"query"`` / ``"input"``), or a list of messages (LangChain messages or role/content dicts)."""
    if isinstance(value, Mapping):
        for key in ("question", "query", "input"):
            if key in value:
                return _messages(value[key])
        raise TypeError("AISearchChain takes a string, a dict with 'question', or a list of messages")
    if isinstance(value, str):
        return value
    if isinstance(value, Sequence):
        out = []
        for m in value:
            if isinstance(m, BaseMessage):
                out.append({"role": _ROLES.get(m.type, m.type), "content": str(m.text)})
            else:
                out.append({"role": str(m["role"]), "content": str(m["content"])})
        return out
    raise TypeError(f"AISearchChain cannot take a {type(value).__name__}")


class AISearchChain(_AISearchOptions, RunnableSerializable[Any, dict[str, Any]]):
    """The instance's answer (``/chat/completions``: retrieval and generation in one call) as a Runnable:
    input a question (or ``{"question": ...}``, or messages), output ``{"answer": str, "sources":
    [Document, ...]}`` where the sources are the chunks the answer was generated from.

    .. code-block:: python

        chain = AISearchChain(instance="docs")
        out = chain.invoke("How do I rotate a token?")
        print(out["answer"], [d.metadata["filename"] for d in out["sources"]])
    """

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        def run(value: Any) -> dict[str, Any]:
            answer = self._ai_search().answer(self.instance, _messages(value), **self._options(kwargs))
            return {"answer": answer.text, "sources": [chunk_document(c) for c in answer.chunks]}

        return self._call_with_config(run, input, config)

    async def ainvoke(
        self, input: Any, config: RunnableConfig | None = None, **kwargs: Any
    ) -> dict[str, Any]:
        async def run(value: Any) -> dict[str, Any]:
            answer = await self._ai_search().aanswer(self.instance, _messages(value), **self._options(kwargs))
            return {"answer": answer.text, "sources": [chunk_document(c) for c in answer.chunks]}

        return await self._acall_with_config(run, input, config)
