"""LlamaIndex integration for Cloudflare Workers AI and Vectorize.

Names are imported on first use (PEP 562), so importing one class does not load the rest
(AI Search, rerankers, runnables): the package adds little to the framework's own import time.

Public API: the names in ``__all__``, and only those. Everything else (the submodules, their other
names, anything starting with ``_``) may change in any release; ``tests/test_public_api.py`` holds
``__all__`` to a snapshot, and a name appears or disappears only with a CHANGELOG entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workersai.lazy import lazy_names, require_extra

require_extra("llamaindex_workersai", "llama_index.core", "llamaindex", "LlamaIndex (llama-index-core)")

if TYPE_CHECKING:
    from .ai_search import AISearchQueryEngine, AISearchRetriever
    from .browser import BrowserRunReader
    from .chat_store import D1ChatStore, D1MemoryStore
    from .embeddings import WorkersAIEmbedding
    from .llms import WorkersAI
    from .native_models import WorkersAIDecisionFilter, WorkersAINative, WorkersAINativeProgram
    from .postprocessors import WorkersAIRerank
    from .readers import WorkersAIMarkdownReader
    from .retrievers import VectorizeRetriever
    from .vector_stores import SkipStoredNodes, VectorizeVectorStore, to_vectorize_filter

_WHERE = {
    "AISearchQueryEngine": "ai_search",
    "AISearchRetriever": "ai_search",
    "BrowserRunReader": "browser",
    "D1ChatStore": "chat_store",
    "D1MemoryStore": "chat_store",
    "WorkersAIEmbedding": "embeddings",
    "WorkersAI": "llms",
    "WorkersAIDecisionFilter": "native_models",
    "WorkersAINative": "native_models",
    "WorkersAINativeProgram": "native_models",
    "WorkersAIRerank": "postprocessors",
    "WorkersAIMarkdownReader": "readers",
    "VectorizeRetriever": "retrievers",
    "SkipStoredNodes": "vector_stores",
    "VectorizeVectorStore": "vector_stores",
    "to_vectorize_filter": "vector_stores",
}

__all__ = [
    "AISearchQueryEngine",
    "AISearchRetriever",
    "BrowserRunReader",
    "D1ChatStore",
    "D1MemoryStore",
    "SkipStoredNodes",
    "VectorizeRetriever",
    "VectorizeVectorStore",
    "WorkersAI",
    "WorkersAIDecisionFilter",
    "WorkersAIEmbedding",
    "WorkersAIMarkdownReader",
    "WorkersAINative",
    "WorkersAINativeProgram",
    "WorkersAIRerank",
    "to_vectorize_filter",
]


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
