"""Cloudflare Workers AI and Vectorize: a typed sync/async client, shared by the LangChain and
LlamaIndex adapters, and a local emulator (``workersai.local``).

The names below are imported on first use (PEP 562, :mod:`workersai.lazy`): ``import workersai``
loads none of the product modules (AI Search, Batch, D1, ...) and not httpx, so an adapter that needs
one class pays only for that class's modules.

Public API: the names in ``__all__`` here and in the ``__all__`` of the two public subpackages,
:mod:`workersai.vectorize` (the Vectorize client's types) and :mod:`workersai.local` (the emulator).
Everything else (the other submodules, their names, anything starting with ``_``) may change in any
release; ``tests/test_public_api.py`` holds these lists to a snapshot, and a name appears or disappears
only with a CHANGELOG entry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._version import __version__
from .lazy import lazy_names

if TYPE_CHECKING:
    from .ai_search import (
        AISearch,
        AISearchAnswer,
        AISearchInstance,
        AISearchItem,
        AISearchStats,
        SearchChunk,
        SearchResult,
    )
    from .batch import BatchItemFailed, BatchJob, BatchResponse, BatchStatus, BatchTimeout
    from .chat import ChatOptions
    from .client import DEFAULT_CHAT_MODEL, DEFAULT_EMBEDDING_MODEL, WorkersAI
    from .decisions import Decision, DecisionAnswer
    from .errors import (
        APIConnectionError,
        APITimeoutError,
        AuthenticationError,
        BadInput,
        BatchNotFound,
        BindingError,
        BindingUnsupported,
        CapacityExceeded,
        ConfigurationError,
        Conflict,
        DailyQuotaExceeded,
        DatabaseNotFound,
        DeadlineExceeded,
        DimensionMismatch,
        IndexAlreadyExists,
        IndexNotFound,
        InstanceNotFound,
        LimitExceeded,
        MetadataTooLarge,
        ModelNotFound,
        MutationTimeout,
        NotFound,
        RateLimited,
        RequestTimeout,
        RequestTooLarge,
        ResponseFormatError,
        ServerError,
        StreamInterrupted,
        TermsNotAgreed,
        UnsupportedInput,
        WorkersAIError,
    )
    from .extraction import ExtractedField, Extraction
    from .gateway import GatewayOptions
    from .health import ModelHealth
    from .rerank import DEFAULT_RERANK_MODEL, RerankResult
    from .retry import RetryPolicy, is_retryable
    from .types import ChatChunk, ChatResult, ModelSchema, ModelSummary, ToolCall, ToolCallDelta, Usage
    from .usage import UsageTracker, track_usage

_HOMES = {
    "AISearch": "ai_search",
    "AISearchAnswer": "ai_search",
    "AISearchInstance": "ai_search",
    "AISearchItem": "ai_search",
    "AISearchStats": "ai_search",
    "SearchChunk": "ai_search",
    "SearchResult": "ai_search",
    "BatchItemFailed": "batch",
    "BatchJob": "batch",
    "BatchResponse": "batch",
    "BatchStatus": "batch",
    "BatchTimeout": "batch",
    "ChatOptions": "chat",
    "DEFAULT_CHAT_MODEL": "client",
    "DEFAULT_EMBEDDING_MODEL": "client",
    "GatewayOptions": "gateway",
    "Decision": "decisions",
    "DecisionAnswer": "decisions",
    "ExtractedField": "extraction",
    "Extraction": "extraction",
    "LimitExceeded": "errors",
    "UnsupportedInput": "errors",
    "WorkersAI": "client",
    "APIConnectionError": "errors",
    "APITimeoutError": "errors",
    "AuthenticationError": "errors",
    "BadInput": "errors",
    "BatchNotFound": "errors",
    "BindingError": "errors",
    "BindingUnsupported": "errors",
    "CapacityExceeded": "errors",
    "ConfigurationError": "errors",
    "Conflict": "errors",
    "DailyQuotaExceeded": "errors",
    "DatabaseNotFound": "errors",
    "DeadlineExceeded": "errors",
    "DimensionMismatch": "errors",
    "IndexAlreadyExists": "errors",
    "IndexNotFound": "errors",
    "InstanceNotFound": "errors",
    "MetadataTooLarge": "errors",
    "ModelNotFound": "errors",
    "MutationTimeout": "errors",
    "NotFound": "errors",
    "RateLimited": "errors",
    "RequestTimeout": "errors",
    "RequestTooLarge": "errors",
    "ResponseFormatError": "errors",
    "ServerError": "errors",
    "StreamInterrupted": "errors",
    "TermsNotAgreed": "errors",
    "WorkersAIError": "errors",
    "ModelHealth": "health",
    "DEFAULT_RERANK_MODEL": "rerank",
    "RerankResult": "rerank",
    "RetryPolicy": "retry",
    "is_retryable": "retry",
    "ChatChunk": "types",
    "ChatResult": "types",
    "ModelSchema": "types",
    "ModelSummary": "types",
    "ToolCall": "types",
    "ToolCallDelta": "types",
    "Usage": "types",
    "UsageTracker": "usage",
    "track_usage": "usage",
}

__all__ = [
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_RERANK_MODEL",
    "AISearch",
    "AISearchAnswer",
    "AISearchInstance",
    "AISearchItem",
    "AISearchStats",
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadInput",
    "BatchItemFailed",
    "BatchJob",
    "BatchNotFound",
    "BatchResponse",
    "BatchStatus",
    "BatchTimeout",
    "BindingError",
    "BindingUnsupported",
    "CapacityExceeded",
    "ChatChunk",
    "ChatOptions",
    "ChatResult",
    "ConfigurationError",
    "Conflict",
    "DailyQuotaExceeded",
    "DatabaseNotFound",
    "DeadlineExceeded",
    "Decision",
    "DecisionAnswer",
    "DimensionMismatch",
    "ExtractedField",
    "Extraction",
    "GatewayOptions",
    "IndexAlreadyExists",
    "IndexNotFound",
    "InstanceNotFound",
    "LimitExceeded",
    "MetadataTooLarge",
    "ModelHealth",
    "ModelNotFound",
    "ModelSchema",
    "ModelSummary",
    "MutationTimeout",
    "NotFound",
    "RateLimited",
    "RequestTimeout",
    "RequestTooLarge",
    "RerankResult",
    "ResponseFormatError",
    "RetryPolicy",
    "SearchChunk",
    "SearchResult",
    "ServerError",
    "StreamInterrupted",
    "TermsNotAgreed",
    "ToolCall",
    "ToolCallDelta",
    "UnsupportedInput",
    "Usage",
    "UsageTracker",
    "WorkersAI",
    "WorkersAIError",
    "__version__",
    "is_retryable",
    "track_usage",
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES)
