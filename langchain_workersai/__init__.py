"""LangChain integration for Cloudflare Workers AI and Vectorize.

Names are imported on first use (PEP 562), so importing one class does not load the rest
(AI Search, rerankers, runnables): the package adds little to the framework's own import time.

Public API: the names in ``__all__``, and only those. Everything else (the submodules, their other
names, anything starting with ``_``) may change in any release; ``tests/test_public_api.py`` holds
``__all__`` to a snapshot, and a name appears or disappears only with a CHANGELOG entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from workersai.lazy import lazy_names, require_extra

require_extra("langchain_workersai", "langchain_core", "langchain", "LangChain (langchain-core)")

if TYPE_CHECKING:
    from .ai_search import AISearchChain, AISearchRetriever
    from .browser import BrowserRunLoader, BrowserRunTool
    from .chat_models import ChatWorkersAI
    from .checkpoint import AsyncWorkersAID1Saver, WorkersAID1Saver
    from .document_loaders import WorkersAIMarkdownLoader, WorkersAIMarkdownParser
    from .embeddings import WorkersAIEmbeddings
    from .native_models import WorkersAIDecisionModel, WorkersAIExtractionModel
    from .rerankers import WorkersAIReranker
    from .retrievers import VectorizeRetriever
    from .runnables import get_workersai_callback, with_model_fallbacks, with_workersai_retry
    from .store import VectorizeD1Store
    from .vectorstores import VectorizeVectorStore

_WHERE = {
    "AISearchChain": "ai_search",
    "AISearchRetriever": "ai_search",
    "BrowserRunLoader": "browser",
    "BrowserRunTool": "browser",
    "ChatWorkersAI": "chat_models",
    "AsyncWorkersAID1Saver": "checkpoint",
    "WorkersAID1Saver": "checkpoint",
    "WorkersAIMarkdownLoader": "document_loaders",
    "WorkersAIMarkdownParser": "document_loaders",
    "WorkersAIEmbeddings": "embeddings",
    "WorkersAIDecisionModel": "native_models",
    "WorkersAIExtractionModel": "native_models",
    "WorkersAIReranker": "rerankers",
    "VectorizeRetriever": "retrievers",
    "get_workersai_callback": "runnables",
    "with_model_fallbacks": "runnables",
    "with_workersai_retry": "runnables",
    "VectorizeVectorStore": "vectorstores",
    "VectorizeD1Store": "store",
}

__all__ = [
    "AISearchChain",
    "AISearchRetriever",
    "AsyncWorkersAID1Saver",
    "BrowserRunLoader",
    "BrowserRunTool",
    "ChatWorkersAI",
    "VectorizeD1Store",
    "VectorizeRetriever",
    "VectorizeVectorStore",
    "WorkersAID1Saver",
    "WorkersAIDecisionModel",
    "WorkersAIEmbeddings",
    "WorkersAIExtractionModel",
    "WorkersAIMarkdownLoader",
    "WorkersAIMarkdownParser",
    "WorkersAIReranker",
    "get_workersai_callback",
    "with_model_fallbacks",
    "with_workersai_retry",
]


__getattr__, __dir__ = lazy_names(__name__, _WHERE)
