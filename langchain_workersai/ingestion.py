"""Documents on their way into Vectorize: checked whole first, then embedded a chunk ahead of the upload.

The text of a document is kept in its vector's metadata under :data:`TEXT_KEY` and taken out again
on the way back (:func:`document`), or, when the store has a D1 database, in a D1 table
(:class:`workersai.vectorize.TextStore`) and only the document's own metadata (and the version of its
text, :data:`~workersai.vectorize.texts.TEXT_HASH_KEY`) in Vectorize. The records go out with their
texts (:data:`~workersai.vectorize.documents.Item`): :class:`~workersai.vectorize.IndexDocuments`
writes them.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings

from workersai import BadInput, MetadataTooLarge, ResponseFormatError
from workersai.raw_vectors import RawVector
from workersai.vectorize import TextTooLong
from workersai.vectorize.batching import CheckedRecord
from workersai.vectorize.checks import check_id, check_namespace
from workersai.vectorize.documents import Item, visible
from workersai.vectorize.texts import check_document

from .embeddings import WorkersAIEmbeddings

Values = list[float] | RawVector
"""A document's vector: parsed floats, or the embedding answer's JSON bytes (:func:`embedder`)."""

TEXT_KEY = "_text"
"""The metadata key that holds a document's text (taken out again on the way back)."""


def document(vector_id: str, metadata: dict[str, Any] | None, text: str | None = None) -> Document:
    """The LangChain document a stored vector holds: its text from the metadata, else ``text`` (read
    from D1); the store's own keys taken out of the metadata."""
    meta = visible(metadata)
    kept = meta.pop(TEXT_KEY, None)
    content = kept if kept is not None else text
    return Document(id=vector_id, page_content=str(content or ""), metadata=meta)


def stored_metadata(text: str | None, metadata: dict[str, Any] | None) -> dict[str, Any]:
    """The metadata stored for a document: its own, plus its text unless ``text`` is None (kept in D1)."""
    meta = dict(metadata) if metadata else {}
    if TEXT_KEY in meta:
        raise BadInput(f"metadata key {TEXT_KEY!r} is reserved for the document text")
    if text is not None:
        meta[TEXT_KEY] = text
    return meta


@dataclass
class Documents:
    """Documents to add, every one checked before any request (a bad one stops the call before
    anything is embedded or written), with the ids they will have. ``texts_in_metadata`` is False
    when the texts go to D1: then only their size is checked against D1's row limit, and a text too
    long for metadata is otherwise a :class:`~workersai.vectorize.TextTooLong`."""

    texts: list[str]
    metadatas: Sequence[dict[str, Any]] | None
    ids: list[str]
    namespace: str | None
    texts_in_metadata: bool = True

    @classmethod
    def checked(
        cls,
        texts: Sequence[str],
        metadatas: Sequence[dict[str, Any]] | None,
        ids: Sequence[str | None] | None,
        namespace: str | None,
        *,
        texts_in_metadata: bool = True,
    ) -> Documents:
        texts = list(texts)
        if metadatas is not None and len(metadatas) != len(texts):
            raise BadInput(f"{len(metadatas)} metadatas for {len(texts)} texts")
        if ids is not None and len(ids) != len(texts):
            raise BadInput(f"{len(ids)} ids for {len(texts)} texts")
        check_namespace(namespace)
        out_ids = []
        for i, text in enumerate(texts):
            vid = (ids[i] if ids else None) or str(uuid.uuid4())
            meta = stored_metadata(text if texts_in_metadata else None, metadatas[i] if metadatas else None)
            try:
                check_id(vid)
                check_document(meta, vid, i, text, in_d1=not texts_in_metadata)
            except (TextTooLong, MetadataTooLarge):  # they name the document already
                raise
            except BadInput as exc:
                raise BadInput(f"document {vid!r} cannot be stored: {exc.message}") from exc
            out_ids.append(vid)
        return cls(texts, metadatas, out_ids, namespace, texts_in_metadata)

    def records(self, positions: list[int], vectors: Sequence[Values]) -> Iterator[Item]:
        """The wire records of the documents at ``positions``, given their vectors, with their texts."""
        if len(vectors) != len(positions):
            raise ResponseFormatError(
                f"the embedding model returned {len(vectors)} vectors for {len(positions)} texts"
            )
        for i, values in zip(positions, vectors, strict=True):
            # Checked in `checked` (id, metadata, namespace): the core checks only the values again.
            record = CheckedRecord(
                id=self.ids[i],
                values=values,
                metadata=stored_metadata(
                    self.texts[i] if self.texts_in_metadata else None,
                    self.metadatas[i] if self.metadatas else None,
                ),
            )
            if self.namespace is not None:
                record["namespace"] = self.namespace
            yield record, self.texts[i]

    def chunk(self, start: int, size: int, missing: list[str] | None = None) -> list[int]:
        """The positions of the chunk at ``start``; with ``missing`` (the ids of the chunk not stored
        yet), only theirs."""
        positions = range(start, min(start + size, len(self.ids)))
        if missing is None:
            return list(positions)
        keep = set(missing)
        return [i for i in positions if self.ids[i] in keep]

    def texts_at(self, positions: list[int]) -> list[str]:
        return [self.texts[i] for i in positions]


Progress = Callable[[int], object]
"""Told how many more documents were embedded (a tqdm bar's ``update``)."""


@contextlib.contextmanager
def progress_bar(total: int, show: bool) -> Iterator[Progress | None]:
    """A tqdm bar over ``total`` documents when ``show`` (tqdm is imported only then)."""
    if not show:
        yield None
        return
    try:
        from tqdm.auto import tqdm
    except ImportError:  # pragma: no cover - tqdm comes with the langchain extra
        raise ImportError("show_progress=True needs tqdm: pip install tqdm") from None
    with tqdm(total=total, desc="Embedding and uploading documents", unit="doc") as bar:
        yield bar.update


def embedder(embedding: Embeddings) -> Callable[[list[str]], Sequence[Values]]:
    """How the store embeds documents it only writes: with our own :class:`WorkersAIEmbeddings`
    (direct, its ``embed_documents`` not overridden) the core's ``embed_raw``, whose vectors stay the
    JSON bytes of the answer and go into the NDJSON as they are; any other embeddings as they are."""
    if isinstance(embedding, WorkersAIEmbeddings) and _plain(embedding, "embed_documents"):
        return partial(embedding.workers_ai.embed_raw, **embedding._options())
    return embedding.embed_documents


def aembedder(embedding: Embeddings) -> Callable[[list[str]], Awaitable[Sequence[Values]]]:
    """:func:`embedder`, async."""
    if isinstance(embedding, WorkersAIEmbeddings) and _plain(embedding, "aembed_documents"):
        return partial(embedding.workers_ai.aembed_raw, **embedding._options())
    return embedding.aembed_documents


def _plain(embedding: WorkersAIEmbeddings, method: str) -> bool:
    return not embedding.batch_api and getattr(type(embedding), method) is getattr(
        WorkersAIEmbeddings, method
    )


Missing = Callable[[list[str]], list[str]]
"""Which of some ids are not stored yet (``Vectorize.missing_ids`` for the store's index and namespace)."""
AMissing = Callable[[list[str]], Awaitable[list[str]]]


def embedded(
    docs: Documents,
    embedding: Embeddings,
    chunk_size: int,
    progress: Progress | None = None,
    missing: Missing | None = None,
) -> Iterator[Item]:
    """Records (with their texts) embedded ``chunk_size`` texts at a time, pulled by the writer as
    it fills NDJSON batches. The next chunk is already being embedded while this one is checked,
    serialized and uploaded; at most two chunks' vectors are held, however many texts there are.
    With ``missing``, each chunk's ids are checked first (in bulk, ``get_by_ids``) and only the
    documents not stored yet are embedded and written."""
    size, total, embed = chunk_size, len(docs.ids), embedder(embedding)

    def prepare(start: int) -> tuple[list[int], Sequence[Values]]:
        ids = docs.ids[start : start + size]
        positions = docs.chunk(start, size, None if missing is None else missing(ids))
        return positions, embed(docs.texts_at(positions)) if positions else []

    with ThreadPoolExecutor(1, thread_name_prefix="workersai-embed-ahead") as ahead:
        future = ahead.submit(prepare, 0)
        for start in range(0, total, size):
            positions, vectors = future.result()
            if start + size < total:
                future = ahead.submit(prepare, start + size)
            yield from docs.records(positions, vectors)
            if progress is not None:
                progress(min(size, total - start))


async def aembedded(
    docs: Documents,
    embedding: Embeddings,
    chunk_size: int,
    progress: Progress | None = None,
    missing: AMissing | None = None,
) -> AsyncIterator[Item]:
    """:func:`embedded` on the event loop (the next chunk checked and embedded by a task)."""
    size, total, embed = chunk_size, len(docs.ids), aembedder(embedding)

    async def prepare(start: int) -> tuple[list[int], Sequence[Values]]:
        ids = docs.ids[start : start + size]
        positions = docs.chunk(start, size, None if missing is None else await missing(ids))
        return positions, await embed(docs.texts_at(positions)) if positions else []

    task = asyncio.ensure_future(prepare(0))
    try:
        for start in range(0, total, size):
            positions, vectors = await task
            if start + size < total:
                task = asyncio.ensure_future(prepare(start + size))
            for item in docs.records(positions, vectors):
                yield item
            if progress is not None:
                progress(min(size, total - start))
    finally:
        task.cancel()
