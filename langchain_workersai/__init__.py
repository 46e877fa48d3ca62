"""LangChain integration for Cloudflare Workers AI and Vectorize."""

from .ai_search import AISearchChain, AISearchRetriever
from .chat_models import ChatWorkersAI
from .embeddings import WorkersAIEmbeddings
from .rerankers import WorkersAIReranker
from .retrievers import VectorizeRetriever
from .runnables import get_workersai_callback, with_model_fallbacks, with_workersai_retry
from .vectorstores import VectorizeVectorStore

__all__ = [
    "AISearchChain",
    "AISearchRetriever",
    "ChatWorkersAI",
    "VectorizeRetriever",
    "VectorizeVectorStore",
    "WorkersAIEmbeddings",
    "WorkersAIReranker",
    "get_workersai_callback",
    "with_model_fallbacks",
    "with_workersai_retry",
]
