"""Vectorize v2: the client (``WorkersAI().vectorize``) and what it reads and writes.

Modules, by what they hold: :mod:`.client` (the :class:`Vectorize` operations), :mod:`.models` (typed
answers and their parsers), :mod:`.checks` (the service's limits, checked before any request),
:mod:`.filters` (metadata filters), :mod:`.batching` (NDJSON request bodies), :mod:`.flows` (multi-
request flows and their sync and async runners), :mod:`.writes` and :mod:`.reads` (the flows), and
:mod:`.consistency` (which writes the index has applied), :mod:`.texts` (document texts in metadata or,
when long, in a D1 table).
"""

from .batching import Batch, VectorLike, Wait, andjson_batches, check_wait, ndjson_batches
from .client import Vectorize
from .filters import FilterNotIndexed
from .models import IndexDescription, IndexInfo, Match, Metric, QueryResult, ReturnMetadata, Vector
from .texts import TextStore, TextTooLong

__all__ = [
    "Batch",
    "FilterNotIndexed",
    "IndexDescription",
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
