"""``VectorizeVectorStore``: a Cloudflare Vectorize index as a LangChain vector store."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
from langchain_core.vectorstores.utils import maximal_marginal_relevance

from workersai import BadInput, IndexNotFound, WorkersAI
from workersai.settings import ClientSettings
from workersai.vectorize import Match, Vector

TEXT_KEY = "_text"
"""The metadata key that holds a document's text (taken out again on the way back)."""

MAX_K_WITH_METADATA = 50


def _doc(vector_id: str, metadata: dict[str, Any] | None) -> Document:
    meta = dict(metadata or {})
    text = meta.pop(TEXT_KEY, "")
    return Document(id=vector_id, page_content=str(text), metadata=meta)


class VectorizeVectorStore(VectorStore):
    """Documents in a Vectorize index: the vector from ``embedding``, the text and the metadata in the
    vector's metadata (metadata values keep their JSON types).

    ``filter`` takes Vectorize's syntax (``{"lang": "en", "year": {"$gte": 2020}}``); filtering needs a
    metadata index on each property (:meth:`create_metadata_index`). Writes wait until the index has
    applied them (``wait=True``, the default) so a search right after ``add_documents`` finds them.

    .. code-block:: python

        from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

        store = VectorizeVectorStore.from_texts(["hello"], WorkersAIEmbeddings(), index_name="docs")
        store.similarity_search("hi", k=1)
    """

    def __init__(
        self,
        index_name: str,
        embedding: Embeddings,
        *,
        namespace: str | None = None,
        wait: bool = True,
        wait_timeout: float = 60.0,
        client: WorkersAI | None = None,
        **settings: Any,
    ) -> None:
        self.index_name = index_name
        self.embedding = embedding
        self.namespace = namespace
        self.wait = wait
        self.wait_timeout = wait_timeout
        if client is None:
            shared = getattr(embedding, "workers_ai", None)
            client = (
                shared
                if isinstance(shared, WorkersAI) and not settings
                else ClientSettings(**settings).workers_ai
            )
        self.client = client

    @property
    def embeddings(self) -> Embeddings:
        return self.embedding

    @property
    def _vz(self) -> Any:
        return self.client.vectorize

    # -- index helpers --------------------------------------------------------------------------
    def create_index(
        self, dimensions: int | None = None, metric: str = "cosine", *, exist_ok: bool = True
    ) -> None:
        """Create the index (dimensions from the embedding model when not given)."""
        if exist_ok:
            try:
                self._vz.get_index(self.index_name)
                return
            except IndexNotFound:
                pass
        dims = dimensions or len(self.embedding.embed_query("dimension probe"))
        self._vz.create_index(self.index_name, dimensions=dims, metric=metric)

    def create_metadata_index(self, property_name: str, index_type: str) -> None:
        """Make a metadata property filterable (for documents added from now on)."""
        self._vz.create_metadata_index(self.index_name, property_name, index_type, wait=True)

    # -- writes ---------------------------------------------------------------------------------
    def _vectors(
        self,
        texts: Sequence[str],
        vectors: list[list[float]],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
    ) -> list[Vector]:
        if metadatas is not None and len(metadatas) != len(texts):
            raise BadInput(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise BadInput(f"{len(ids)} ids for {len(texts)} texts")
        out = []
        for i, (text, values) in enumerate(zip(texts, vectors, strict=True)):
            meta = dict(metadatas[i]) if metadatas else {}
            if TEXT_KEY in meta:
                raise BadInput(f"metadata key {TEXT_KEY!r} is reserved for the document text")
            meta[TEXT_KEY] = text
            vid = (ids[i] if ids else None) or str(uuid.uuid4())
            out.append(Vector(id=vid, values=values, metadata=meta, namespace=self.namespace))
        return out

    @staticmethod
    def _too_large(exc: BadInput, vectors: list[Vector]) -> BadInput:
        for v in vectors:
            if v.id in exc.message:
                return BadInput(f"document {v.id!r} cannot be stored: {exc.message}")
        return exc

    def _add(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
    ) -> list[str]:
        if not texts:
            return []
        vectors = self._vectors(texts, self.embedding.embed_documents(list(texts)), metadatas, ids)
        try:
            self._vz.upsert(self.index_name, vectors, wait=self.wait, timeout=self.wait_timeout)
        except BadInput as exc:
            raise self._too_large(exc, vectors) from exc
        return [v.id for v in vectors]

    async def _aadd(
        self,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
    ) -> list[str]:
        if not texts:
            return []
        vectors = self._vectors(texts, await self.embedding.aembed_documents(list(texts)), metadatas, ids)
        try:
            await self._vz.aupsert(self.index_name, vectors, wait=self.wait, timeout=self.wait_timeout)
        except BadInput as exc:
            raise self._too_large(exc, vectors) from exc
        return [v.id for v in vectors]

    def add_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Embed and upsert texts (the same id again replaces the document)."""
        return self._add(list(texts), metadatas, ids)

    async def aadd_texts(
        self,
        texts: Iterable[str],
        metadatas: list[dict[str, Any]] | None = None,
        *,
        ids: list[str] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        return await self._aadd(list(texts), metadatas, ids)

    def add_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return self._add([d.page_content for d in documents], [d.metadata for d in documents], ids)

    async def aadd_documents(self, documents: list[Document], **kwargs: Any) -> list[str]:
        ids = kwargs.pop("ids", None) or [d.id for d in documents]
        return await self.aadd_texts(
            [d.page_content for d in documents], [d.metadata for d in documents], ids=ids
        )

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if not ids:
            return None
        self._vz.delete_by_ids(self.index_name, ids, wait=self.wait, timeout=self.wait_timeout)
        return True

    async def adelete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if not ids:
            return None
        await self._vz.adelete_by_ids(self.index_name, ids, wait=self.wait, timeout=self.wait_timeout)
        return True

    # -- reads ----------------------------------------------------------------------------------
    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        found = {v.id: v for v in self._vz.get_by_ids(self.index_name, list(ids))}
        return [_doc(i, found[i].metadata) for i in ids if i in found]

    async def aget_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        found = {v.id: v for v in await self._vz.aget_by_ids(self.index_name, list(ids))}
        return [_doc(i, found[i].metadata) for i in ids if i in found]

    def _query_args(self, k: int, filter: dict[str, Any] | None, values: bool = False) -> dict[str, Any]:
        if k > MAX_K_WITH_METADATA:
            raise BadInput(
                f"k is at most {MAX_K_WITH_METADATA} when documents are returned (Vectorize's limit)"
            )
        return {
            "top_k": k,
            "return_metadata": "all",
            "return_values": values,
            "filter": filter,
            "namespace": self.namespace,
        }

    @staticmethod
    def _scored(matches: list[Match]) -> list[tuple[Document, float]]:
        return [(_doc(m.id, m.metadata), m.score) for m in matches]

    def similarity_search_by_vector_with_score(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        """Documents with their scores (cosine and dot: higher is closer; euclidean: lower)."""
        result = self._vz.query(self.index_name, embedding, **self._query_args(k, filter))
        return self._scored(result.matches)

    def similarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        return self.similarity_search_by_vector_with_score(self.embedding.embed_query(query), k, filter)

    def similarity_search_by_vector(
        self, embedding: list[float], k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [d for d, _ in self.similarity_search_by_vector_with_score(embedding, k, filter)]

    def similarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [d for d, _ in self.similarity_search_with_score(query, k, filter)]

    async def asimilarity_search_with_score(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[tuple[Document, float]]:
        vector = await self.embedding.aembed_query(query)
        result = await self._vz.aquery(self.index_name, vector, **self._query_args(k, filter))
        return self._scored(result.matches)

    async def asimilarity_search(
        self, query: str, k: int = 4, filter: dict[str, Any] | None = None, **kwargs: Any
    ) -> list[Document]:
        return [d for d, _ in await self.asimilarity_search_with_score(query, k, filter)]

    def _select_relevance_score_fn(self) -> Any:
        return lambda score: (score + 1.0) / 2.0  # cosine in [-1, 1] -> [0, 1]

    def max_marginal_relevance_search_by_vector(
        self,
        embedding: list[float],
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
        result = self._vz.query(
            self.index_name, embedding, **self._query_args(max(k, fetch_k), filter, values=True)
        )
        return self._mmr(embedding, result.matches, k, lambda_mult)

    def max_marginal_relevance_search(
        self,
        query: str,
        k: int = 4,
        fetch_k: int = 20,
        lambda_mult: float = 0.5,
        filter: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> list[Document]:
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
        vector = await self.embedding.aembed_query(query)
        result = await self._vz.aquery(
            self.index_name, vector, **self._query_args(max(k, fetch_k), filter, values=True)
        )
        return self._mmr(vector, result.matches, k, lambda_mult)

    @staticmethod
    def _mmr(query: list[float], matches: list[Match], k: int, lambda_mult: float) -> list[Document]:
        if not matches:
            return []
        import numpy as np

        chosen = maximal_marginal_relevance(
            np.array(query), [m.values or [] for m in matches], k=k, lambda_mult=lambda_mult
        )
        return [_doc(matches[i].id, matches[i].metadata) for i in chosen]

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
        metric: str = "cosine",
        **kwargs: Any,
    ) -> VectorizeVectorStore:
        """Create (if needed) the index, then add the texts."""
        store = cls(index_name, embedding, **kwargs)
        store.create_index(metric=metric)
        store.add_texts(texts, metadatas, ids=ids)
        return store
