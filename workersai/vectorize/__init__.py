"""Vectorize v2: the client (``WorkersAI().vectorize``) and what it reads and writes.

Modules, by what they hold: :mod:`.client` (the :class:`Vectorize` operations), :mod:`.results` (typed
answers and their parsers), :mod:`.checks` (the service's limits, checked before any request),
:mod:`.filters` (metadata filters), :mod:`.batching` (NDJSON request bodies), the flows of several
requests (:mod:`workersai.flows` runs them), :mod:`.writes` and :mod:`.reads` (the flows), and
:mod:`.consistency` (which writes the index has applied), :mod:`.texts` (document texts in metadata or,
when long, in a D1 table), :mod:`.documents` (vectors and their D1 texts written, read and deleted in
agreement).

The names below are imported on first use (PEP 562, :mod:`workersai.lazy`): a module that needs one
of them (a type, a check) does not load the whole client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .batching import Batch, VectorLike, Wait, andjson_batches, check_wait, ndjson_batches
    from .client import Vectorize
    from .documents import IndexDocuments
    from .filters import FilterNotIndexed
    from .results import IndexDescription, IndexInfo, Match, Metric, QueryResult, ReturnMetadata, Vector
    from .texts import TextStore, TextTooLong

_HOMES = {
    "Batch": "batching",
    "VectorLike": "batching",
    "Wait": "batching",
    "andjson_batches": "batching",
    "check_wait": "batching",
    "ndjson_batches": "batching",
    "Vectorize": "client",
    "IndexDocuments": "documents",
    "FilterNotIndexed": "filters",
    "IndexDescription": "results",
    "IndexInfo": "results",
    "Match": "results",
    "Metric": "results",
    "QueryResult": "results",
    "ReturnMetadata": "results",
    "Vector": "results",
    "TextStore": "texts",
    "TextTooLong": "texts",
}

__all__ = [
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
]


__getattr__, __dir__ = lazy_names(__name__, _HOMES)
