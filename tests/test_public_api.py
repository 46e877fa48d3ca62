"""The public surface is what the packages' ``__all__`` lists say, held to a snapshot.

A name that appears in or disappears from an ``__all__`` fails this test unless the ``Unreleased``
section of CHANGELOG.md names it (in backquotes, e.g. ``- `DatabaseNotFound`: ...``). When a release is
cut, its section stops being ``Unreleased`` and :data:`SNAPSHOT` is brought up to date with it: between
releases the snapshot is the last agreed surface. Dunder names (``__version__``) are not compared."""

from __future__ import annotations

import importlib
import re
from pathlib import Path

import pytest

CHANGELOG = Path(__file__).resolve().parent.parent / "CHANGELOG.md"

SNAPSHOT: dict[str, list[str]] = {
    "workersai": [
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
        "Browser",
        "CapacityExceeded",
        "ChatChunk",
        "ChatOptions",
        "ChatResult",
        "ConfigurationError",
        "Conflict",
        "CrawlJob",
        "CrawlRecord",
        "CrawlTimeout",
        "DEFAULT_CHAT_MODEL",
        "DEFAULT_EMBEDDING_MODEL",
        "DEFAULT_RERANK_MODEL",
        "DailyQuotaExceeded",
        "DatabaseNotFound",
        "DeadlineExceeded",
        "DimensionMismatch",
        "GatewayOptions",
        "IndexAlreadyExists",
        "IndexNotFound",
        "InstanceNotFound",
        "MarkdownConversionError",
        "MarkdownFile",
        "MarkdownResult",
        "MetadataTooLarge",
        "ModelHealth",
        "ModelNotFound",
        "ModelSchema",
        "ModelSummary",
        "MutationTimeout",
        "NotFound",
        "PageLoadError",
        "RateLimited",
        "RequestTimeout",
        "RequestTooLarge",
        "RerankResult",
        "ResponseFormatError",
        "RetryPolicy",
        "ScrapeResult",
        "ScrapedElement",
        "SearchChunk",
        "SearchResult",
        "ServerError",
        "Snapshot",
        "StreamInterrupted",
        "SupportedFormat",
        "TermsNotAgreed",
        "ToolCall",
        "ToolCallDelta",
        "UnsupportedFileType",
        "Usage",
        "UsageTracker",
        "WorkersAI",
        "WorkersAIError",
        "is_retryable",
        "track_usage",
    ],
    "workersai.vectorize": [
        "Batch",
        "FilterNotIndexed",
        "IndexDescription",
        "IndexDocuments",
        "IndexInfo",
        "Match",
        "Metric",
        "QueryResult",
        "ReturnMetadata",
        "TextStore",
        "TextTooLong",
        "Vector",
        "VectorLike",
        "Vectorize",
        "Wait",
        "andjson_batches",
        "check_wait",
        "ndjson_batches",
    ],
    "workersai.local": [
        "EmulatorConfig",
        "FaultPlan",
        "LOCAL_ACCOUNT_ID",
        "LocalEmulator",
        "create_app",
        "tool_call",
    ],
    "langchain_workersai": [
        "AISearchChain",
        "AISearchRetriever",
        "BrowserRunLoader",
        "BrowserRunTool",
        "AsyncWorkersAID1Saver",
        "ChatWorkersAI",
        "VectorizeD1Store",
        "VectorizeRetriever",
        "VectorizeVectorStore",
        "WorkersAID1Saver",
        "WorkersAIEmbeddings",
        "WorkersAIMarkdownLoader",
        "WorkersAIMarkdownParser",
        "WorkersAIReranker",
        "get_workersai_callback",
        "with_model_fallbacks",
        "with_workersai_retry",
    ],
    "llamaindex_workersai": [
        "AISearchQueryEngine",
        "AISearchRetriever",
        "BrowserRunReader",
        "D1ChatStore",
        "D1MemoryStore",
        "SkipStoredNodes",
        "VectorizeRetriever",
        "VectorizeVectorStore",
        "WorkersAI",
        "WorkersAIEmbedding",
        "WorkersAIMarkdownReader",
        "WorkersAIRerank",
        "to_vectorize_filter",
    ],
}


def unreleased(changelog: str) -> str:
    """The text of the ``## [Unreleased]`` section (empty when there is none)."""
    found = re.search(r"^## \[Unreleased\][^\n]*\n(.*?)(?=^## |\Z)", changelog, re.M | re.S)
    return found.group(1) if found else ""


def mentioned(name: str, section: str) -> bool:
    """``name`` inside a backquoted span of ``section`` (`` `Name` ``, `` `pkg.Name(...)` ``)."""
    return any(
        re.search(rf"(?<![\w]){re.escape(name)}(?!\w)", span) for span in re.findall(r"`([^`]+)`", section)
    )


def unexplained(package: str, current: list[str], snapshot: list[str], changelog: str) -> list[str]:
    """The names added to or removed from ``package``'s ``__all__`` that the Unreleased section does not
    name, each with what happened to it."""
    section = unreleased(changelog)
    now = {n for n in current if not n.startswith("__")}
    before = set(snapshot)
    changes = [f"{package}.{n} added" for n in sorted(now - before) if not mentioned(n, section)]
    changes += [f"{package}.{n} removed" for n in sorted(before - now) if not mentioned(n, section)]
    return changes


@pytest.mark.parametrize("package", sorted(SNAPSHOT))
def test_public_names_change_only_with_a_changelog_entry(package: str) -> None:
    module = importlib.import_module(package)
    changes = unexplained(package, list(module.__all__), SNAPSHOT[package], CHANGELOG.read_text())
    assert not changes, (
        f"public names changed without a CHANGELOG entry: {changes}. Name each in CHANGELOG.md's "
        "[Unreleased] section (in backquotes), or put the name back."
    )


@pytest.mark.parametrize("package", sorted(SNAPSHOT))
def test_every_public_name_resolves_and_no_lazy_name_is_hidden(package: str) -> None:
    """Each ``__all__`` name imports; each name of the package's lazy-import map is in ``__all__`` (a
    name reachable as ``package.Name`` but not listed would be public by accident)."""
    module = importlib.import_module(package)
    assert len(module.__all__) == len(set(module.__all__))
    for name in module.__all__:
        getattr(module, name)
    lazy = getattr(module, "_HOMES", None) or module._WHERE  # the lazy_names map of each package
    assert set(lazy) - {"__version__"} <= set(module.__all__)


CHANGELOG_SAMPLE = """# Changelog

## [Unreleased]

### Added
- `workersai.DatabaseNotFound` for D1's 404; `Brand(new)` too.

## [0.1.0]
- `OldName` was added long ago.
"""


def test_the_check_names_an_unexplained_change_and_accepts_an_explained_one() -> None:
    assert unexplained("p", ["A", "DatabaseNotFound"], ["A"], CHANGELOG_SAMPLE) == []
    assert unexplained("p", ["A", "Brand"], ["A"], CHANGELOG_SAMPLE) == []
    assert unexplained("p", ["A", "Extra"], ["A"], CHANGELOG_SAMPLE) == ["p.Extra added"]
    assert unexplained("p", ["A"], ["A", "OldName"], CHANGELOG_SAMPLE) == [
        "p.OldName removed"
    ]  # not Unreleased
    assert unexplained("p", ["A", "Database"], ["A"], CHANGELOG_SAMPLE) == ["p.Database added"]  # whole names
    assert unexplained("p", ["A", "__version__"], ["A"], CHANGELOG_SAMPLE) == []
