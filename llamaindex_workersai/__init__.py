"""LlamaIndex integration for Cloudflare Workers AI and Vectorize."""

from .ai_search import AISearchQueryEngine, AISearchRetriever
from .embeddings import WorkersAIEmbedding
from .llms import WorkersAI
from .postprocessors import WorkersAIRerank
from .retrievers import VectorizeRetriever
from .vector_stores import SkipStoredNodes, VectorizeVectorStore, to_vectorize_filter

__all__ = [
    "AISearchQueryEngine",
    "AISearchRetriever",
    "SkipStoredNodes",
    "VectorizeRetriever",
    "VectorizeVectorStore",
    "WorkersAI",
    "WorkersAIEmbedding",
    "WorkersAIRerank",
    "to_vectorize_filter",
]
