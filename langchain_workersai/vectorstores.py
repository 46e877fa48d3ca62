"""``VectorizeVectorStore``: a Cloudflare Vectorize index as a LangChain vector store."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import TYPE_CHECKING, Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from workersai import BadInput, WorkersAI
from workersai.keywords import refuse_unknown
from workersai.settings import ClientSettings, field_names, owned_by

# The Vectorize modules and the ingestion helpers are imported where a store is built or used, not with
# the module, so importing the class stays cheap (building a store builds a client, which imports them).
if TYPE_CHECKING:
    from workersai.vectorize import Match, Metric, Vectorize, Wait

    from .ingestion import AMissing, Missing

Found = Sequence[tuple[str, "dict[str, Any] | None"]]
"""Stored vectors as (id, metadata), in the order their documents are returned."""

_PARAMETERS = (
    "index_name",
    "embedding",
    "namespace",
    "wait",
    "wait_timeout",
    "chunk_size",
    "batch_size",
    "show_progress",
    "skip_existing",
    "d1_database_id",
    "client",
    "metric",
)
"""The store's own keywords: suggestions for a misspelt one."""
_ADD_OPTIONS = ("show_progress", "skip_existing", "batch_size")
"""What an add takes besides texts, metadatas and ids. ``batch_size`` is what LangChain's indexing API
passes (``index()`` calls ``add_documents`` once per batch of that many documents, so each call is one
batch already); the store's own ``batch_size`` still sets how many vectors go in one upload request."""
_SEARCH_KEYWORDS = ("query", "embedding", "k", "filter", "fetch_k", "lambda_mult")


def _no_other_keywords(kwargs: dict[str, Any], method: str) -> None:
    """A search takes no keyword beyond its named ones: ``filters=`` is refused ("did you mean
    'filter'?"), not dropped for an unfiltered search."""
    refuse_unknown(kwargs, (), f"VectorizeVectorStore.{method}", _SEARCH_KEYWORDS)


class VectorizeVectorStore(VectorStore):
    """Documents in a Vectorize index: the vector from ``embedding``, the text and the metadata in the
    vector's metadata (metadata values keep their JSON types).

    ``filter`` takes Vectorize's syntax (``{"lang": "en", "year": {"$gte": 2020}}``); filtering needs a
    metadata index on each property (:meth:`create_metadata_index`). Writes wait until the index has
    applied them (``wait=True``, the default) so a search right after ``add_documents`` finds them.
    With ``wait="deferred"`` a write returns once Vectorize has accepted it, and the store waits for
    its pending writes before its next read (search, get, delete): adding in many calls then pays one
    wait, not one per call. Another client reading the index should first call
    ``store.client.vectorize.confirm_writes(index_name)``. ``wait=False`` never waits.

    Any number of documents can be added in one call: every document is checked first (nothing is
    sent if one is bad), then texts are embedded ``chunk_size`` at a time while earlier vectors upload
    as NDJSON in requests of ``batch_size``, so memory stays flat however many documents there are.
    ``show_progress=True`` (on the store, or per ``add_texts`` / ``add_documents`` call) shows a tqdm
    bar over the documents.

    ``skip_existing=True`` (on the store, or per call) resumes a bulk add that was stopped (a crash,
    ``kill -9``): the store first waits until the index has applied every write it accepted
    (``Vectorize.settle``), then checks each chunk's ids in bulk with ``get_by_ids`` before embedding
    it, and embeds and writes only the documents whose ids are not stored yet in its namespace. Give
    the documents stable ids (a stored document is not compared, only its id: to update changed
    documents use LangChain's indexing API with a record manager). A stored document is never changed,
    its text in D1 included.

    Texts live in the vector's metadata, which Vectorize caps at 10 KiB: a longer document is refused
    before anything is embedded (:class:`~workersai.vectorize.TextTooLong`, naming the document). Split
    documents with a text splitter, or pass ``d1_database_id=`` (a D1 database, e.g. from
    ``client.d1.create_database("texts")``): the texts then go to a D1 table the store creates
    (``vectorize_text_versions_<index>``), each version written before the vector that names it and the
    old one deleted once the new vector is applied, so a search never returns a vector with another
    text than the one it was embedded from, even after a crash or a failed call
    (:class:`~workersai.vectorize.IndexDocuments`). Documents of any length (up to D1's 1 MB row) are
    kept whole.

    .. code-block:: python

        from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

        store = VectorizeVectorStore.from_texts(["hello"], WorkersAIEmbeddings(), index_name="docs")
        store.similarity_search("hi", k=1)

    ``metric`` is the index's distance metric, for relevance scores; when not given it is read from the
    index once. Inside a Python Worker (a client on ``env.VECTORIZE``, which cannot read an index's
    metric) give it to use relevance scores.
    """

    def __init__(
        self,
        index_name: str,
        embedding: Embeddings,
        *,
        namespace: str | None = None,
        wait: Wait = True,
        wait_timeout: float = 60.0,
        chunk_size: int = 1600,
        batch_size: int = 1000,
        show_progress: bool = False,
        skip_existing: bool = False,
        d1_database_id: str | None = None,
        client: WorkersAI | None = None,
        metric: Metric | None = None,
        **settings: Any,
    ) -> None:
        from workersai.vectorize import IndexDocuments, TextStore, check_wait

        if chunk_size < 1:
            raise BadInput("chunk_size must be at least 1")
        self.index_name = index_name
        self.embedding = embedding
        self.namespace = namespace
        self.wait = check_wait(wait)
        self.wait_timeout = wait_timeout
        self.chunk_size = chunk_size
        self.batch_size = batch_size
        self.show_progress = show_progress
        self.skip_existing = skip_existing
        if settings:
            refuse_unknown(settings, field_names(ClientSettings), "VectorizeVectorStore", _PARAMETERS)
            if client is not None:
                unused = sorted(settings)
                raise TypeError(
                    f"VectorizeVectorStore takes client= or connection settings, not both: {unused}"
                )
        if client is None:
            shared = getattr(embedding, "workers_ai", None)
            client = (
                shared
                if isinstance(shared, WorkersAI) and not settings
                else owned_by(self, ClientSettings(**settings).build_client())
            )
        self.client = client
        self.d1_database_id = d1_database_id
        self._texts = TextStore(client.d1, d1_database_id, index_name) if d1_database_id else None
        """Where the texts are kept when not in metadata (a D1 table), or None."""
        self._docs = IndexDocuments(client.vectorize, index_name, self._texts)
        """How vectors and their texts are written, read and deleted together."""
        self._metric: str | None = metric  # the index's, read once when relevance scores need it

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    @property
    def _vz(self) -> Vectorize:
        return self.client.vectorize

    # -- index helpers --------------------------------------------------------------------------
    def create_index(
        self, dimensions: int | None = None, metric: Metric = "cosine", *, exist_ok: bool = True
    ) -> None:
        """Create the index (dimensions from the embedding model when not given); with ``exist_ok``
        an index of that name is used as it is."""
        dims = dimensions or len(self.embedding.embed_query("dimension probe"))
        desc = self._vz.create_index(self.index_name, dimensions=dims, metric=metric, exist_ok=exist_ok)
        self._metric = desc.metric

    async def acreate_index(
        self, dimensions: int | None = None, metric: Metric = "cosine", *, exist_ok: bool = True
    ) -> None:
        """Async twin of :meth:`create_index`."""
        dims = dimensions or len(await self.embedding.aembed_query("dimension probe"))
        desc = await self._vz.acreate_index(
            self.index_name, dimensions=dims, metric=metric, exist_ok=exist_ok
        )
        self._metric = desc.metric

    def create_metadata_index(self, property_name: str, index_type: str, *, exist_ok: bool = False) -> None:
        """Make a metadata property filterable (for documents added from now on: documents written
        before it existed stay unfilterable until written again). ``exist_ok=True``: one that already
        exists with that type is fine (so a setup script can run twice)."""
        self._vz.create_metadata_index(
            self.index_name, property_name, index_type, wait=True, exist_ok=exist_ok
        )

    async def acreate_metadata_index(
        self, property_name: str, index_type: str, *, exist_ok: bool = False
    ) -> None:
        await self._vz.acreate_metadata_index(
            self.index_name, property_name, index_type, wait=True, exist_ok=exist_ok
        )

    # -- writes ---------------------------------------------------------------------------------
    def _write_options(self) -> dict[str, Any]:
        """How this store's upserts are batched and waited for."""
        return {"wait": self.wait, "timeout": self.wait_timeout, "batch_size": self.batch_size}

    def _add(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
        options: dict[str, Any],
    ) -> list[str]:
        from .ingestion import Documents, embedded, progress_bar

        refuse_unknown(options, _ADD_OPTIONS, "VectorizeVectorStore.add", ("texts", "metadatas", "ids"))
        docs = Documents.checked(texts, metadatas, ids, self.namespace, texts_in_metadata=self._texts is None)
        if docs.texts:
            missing: Missing | None = None
            if self._option(options, "skip_existing"):
                self._docs.settle(self.wait_timeout)
                missing = partial(self._vz.missing_ids, self.index_name, namespace=self.namespace)
            with progress_bar(len(docs.ids), self._option(options, "show_progress")) as progress:
                items = embedded(docs, self.embedding, self.chunk_size, progress, missing)
                self._docs.write(items, **self._write_options())
        return docs.ids

    async def _aadd(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
        options: dict[str, Any],
    ) -> list[str]:
        from .ingestion import Documents, aembedded, progress_bar

        refuse_unknown(options, _ADD_OPTIONS, "VectorizeVectorStore.aadd", ("texts", "metadatas", "ids"))
        docs = Documents.checked(texts, metadatas, ids, self.namespace, texts_in_metadata=self._texts is None)
        if docs.texts:
            missing: AMissing | None = None
            if self._option(options, "skip_existing"):
                await self._docs.asettle(self.wait_timeout)
                missing = partial(self._vz.amissing_ids, self.index_name, namespace=self.namespace)
            with progress_bar(len(docs.ids), self._option(options, "show_progress")) as progress:
                items = aembedded(docs, self.embedding, self.chunk_size, progress, missing)
                await self._docs.awrite(items, **self._write_options())
        return docs.ids

    def _option(self, options: dict[str, Any], name: str) -> bool:
        """A per-call option (``show_progress``, ``skip_existing``), else the store's."""
        value = options.get(name)
        return bool(getattr(self, name) if value is None else value)

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and upsert texts (the same id again replaces the document, unless ``skip_existing``
        leaves stored ids as they are: see the class docstring)."""
        return self._add(list(texts), metadatas, ids, kwargs)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        return await self._aadd(list(texts), metadatas, ids, kwargs)

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        texts, metadatas = [d.page_content for d in documents], [d.metadata for d in documents]
        return self._add(texts, metadatas, ids, kwargs)

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        texts, metadatas = [d.page_content for d in documents], [d.metadata for d in documents]
        return await self._aadd(texts, metadatas, ids, kwargs)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        """Delete documents by id; ``ids=None`` deletes every document of the store (LangChain's
        contract): the whole index, or only its namespace when the store has one. Texts kept in D1 are
        deleted after their vectors."""
        refuse_unknown(kwargs, (), "VectorizeVectorStore.delete", ("ids",))
        self._writes_landed()
        if ids is None:
            ids = list(self._vz.list_ids(self.index_name, namespace=self.namespace))
        if ids:
            self._docs.delete(ids, wait=bool(self.wait), timeout=self.wait_timeout)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        refuse_unknown(kwargs, (), "VectorizeVectorStore.adelete", ("ids",))
        await self._awrites_landed()
        if ids is None:
            ids = [i async for i in self._vz.alist_ids(self.index_name, namespace=self.namespace)]
        if ids:
            await self._docs.adelete(ids, wait=bool(self.wait), timeout=self.wait_timeout)
        return True

    # -- reads ----------------------------------------------------------------------------------
    def _writes_landed(self) -> None:
        """Wait for this index's deferred writes (``wait="deferred"``); at once when there are none."""
        self._docs.landed(self.wait_timeout)

    async def _awrites_landed(self) -> None:
        await self._docs.alanded(self.wait_timeout)

    # Texts kept in D1 are read for a whole result page in one request (only for vectors whose
    # metadata does not hold their text, e.g. written before the store had a D1 database).
    def _in_d1(self, found: Found) -> Found:
        from .ingestion import TEXT_KEY

        return [(vid, meta) for vid, meta in found if TEXT_KEY not in (meta or {})] if self._texts else []

    @staticmethod
    def _with_texts(found: Found, wanted: Found, texts: dict[str, str]) -> list[Document]:
        """The documents of ``found``; one whose text D1 should hold but does not (its vector being
        deleted) is left out, never returned with another text."""
        from workersai.vectorize.documents import absent

        from .ingestion import document

        gone = absent(wanted, texts)
        return [document(vid, meta, texts.get(vid)) for vid, meta in found if vid not in gone]

    def _documents(self, found: Found) -> list[Document]:
        wanted = self._in_d1(found)
        return self._with_texts(found, wanted, self._docs.read(wanted))

    async def _adocuments(self, found: Found) -> list[Document]:
        wanted = self._in_d1(found)
        return self._with_texts(found, wanted, await self._docs.aread(wanted))

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        self._writes_landed()
        found = {v.id: v for v in self._vz.get_by_ids(self.index_name, list(ids))}
        return self._documents([(i, found[i].metadata) for i in ids if i in found])

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        await self._awrites_landed()
        found = {v.id: v for v in await self._vz.aget_by_ids(self.index_name, list(ids))}
        return await self._adocuments([(i, found[i].metadata) for i in ids if i in found])

    def _query_args(self, k: int, filter: dict[str, Any] | None, values: bool = False) -> dict[str, Any]:
        from workersai.vectorize.checks import MAX_TOP_K_WITH_DATA

        if k > MAX_TOP_K_WITH_DATA:
            raise BadInput(
                f"k is at most {MAX_TOP_K_WITH_DATA} when documents are returned (Vectorize's limit)"
            )
        return {
            "top_k": k,
            "return_metadata": "all",
            "return_values": values,
            "filter": filter,
            "namespace": self.namespace,
        }

    @staticmethod
    def _paired(docs: list[Document], matches: list[Match]) -> list[tuple[Document, float]]:
        score = {m.id: m.score for m in matches}
        return [(d, score[str(d.id)]) for d in docs]

    def _scored(self, matches: list[Match]) -> list[tuple[Document, float]]:
        return self._paired(self._documents([(m.id, m.metadata) for m in matches]), matches)

    async def _ascored(self, matches: list[Match]) -> list[tuple[Document, float]]:
        return self._paired(await self._adocuments([(m.id, m.metadata) for m in matches]), matches)

    def similarity_search_by_vector_with_score(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with their scores (cosine and dot: higher is closer; euclidean: lower)."""
        _no_other_keywords(kwargs, "similarity_search_by_vector_with_score")
        self._writes_landed()
        result = self._vz.query(self.index_name, embedding, **self._query_args(k, filter))
        return self._scored(result.matches)

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        _no_other_keywords(kwargs, "similarity_search_with_score")
        return self.similarity_search_by_vector_with_score(self.embedding.embed_query(query), k, filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        _no_other_keywords(kwargs, "similarity_search_by_vector")
        return [d for d, _ in self.similarity_search_by_vector_with_score(embedding, k, filter)]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        _no_other_keywords(kwargs, "similarity_search")
        return [d for d, _ in self.similarity_search_with_score(query, k, filter)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        _no_other_keywords(kwargs, "asimilarity_search_with_score")
        vector = await self.embedding.aembed_query(query)
        await self._awrites_landed()
        result = await self._vz.aquery(self.index_name, vector, **self._query_args(k, filter))
        return await self._ascored(result.matches)

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        _no_other_keywords(kwargs, "asimilarity_search")
        return [d for d, _ in await self.asimilarity_search_with_score(query, k, filter)]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Scores mapped to [0, 1], higher is closer, by the index's metric (read once): cosine
        similarity from [-1, 1]; euclidean distance ``d`` as ``1 / (1 + d)``; a dot product ``s`` as
        ``1 / (1 + e^-s)`` (embeddings need not be normalized)."""
        if self._metric is None:
            self._metric = self._vz.get_index(self.index_name).metric
        if self._metric == "euclidean":
            return lambda distance: 1.0 / (1.0 + distance)
        if self._metric == "dot-product":
            return lambda score: 1.0 / (1.0 + math.exp(-score))
        return lambda score: (score + 1.0) / 2.0

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        _no_other_keywords(kwargs, "max_marginal_relevance_search_by_vector")
        self._writes_landed()
        result = self._vz.query(
            self.index_name, embedding, **self._query_args(max(k, fetch_k), filter, values=True)
        )
        chosen = self._mmr(embedding, result.matches, k, lambda_mult)
        return self._documents([(m.id, m.metadata) for m in chosen])

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        _no_other_keywords(kwargs, "max_marginal_relevance_search")
        return self.max_marginal_relevance_search_by_vector(
            self.embedding.embed_query(query), k, fetch_k, lambda_mult, filter
        )

    async def amax_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        _no_other_keywords(kwargs, "amax_marginal_relevance_search")
        vector = await self.embedding.aembed_query(query)
        await self._awrites_landed()
        result = await self._vz.aquery(
            self.index_name, vector, **self._query_args(max(k, fetch_k), filter, values=True)
        )
        chosen = self._mmr(vector, result.matches, k, lambda_mult)
        return await self._adocuments([(m.id, m.metadata) for m in chosen])

    @staticmethod
    def _mmr(query: list[float], matches: list[Match], k: int, lambda_mult: float) -> list[Match]:
        if not matches:
            return []
        import numpy as np

        # Imported here: it pulls in numpy, which nothing else at import time needs.
        from langchain_core.vectorstores.utils import maximal_marginal_relevance

        chosen = maximal_marginal_relevance(
            np.array(query), [m.values or [] for m in matches], k=k, lambda_mult=lambda_mult
        )
        return [matches[i] for i in chosen]

    # -- constructors ---------------------------------------------------------------------------
    @classmethod
    def from_texts(
        cls,
        texts: list[str],
        embedding: Embeddings,
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        index_name: str = "langchain",
        metric: Metric = "cosine",
        **kwargs: Any,
    ) -> VectorizeVectorStore:
        """Create (if needed) the index, then add the texts."""
        store = cls(index_name, embedding, **kwargs)
        store.create_index(metric=metric)
        store.add_texts(texts, metadatas, ids=ids)
        return store
