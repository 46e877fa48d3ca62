"""Documents to Markdown with Workers AI, as LangChain document loaders: ``WorkersAIMarkdownLoader``
(a ``BaseLoader`` over files) and ``WorkersAIMarkdownParser`` (a ``BaseBlobParser`` for
``GenericLoader``). The conversion is the core client's :meth:`~workersai.WorkersAI.to_markdown`."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from langchain_core.document_loaders import BaseBlobParser, BaseLoader
from langchain_core.document_loaders.blob_loaders import Blob
from langchain_core.documents import Document
from pydantic import ConfigDict, Field

from workersai.errors import BadInput
from workersai.markdown import (
    DEFAULT_BATCH_SIZE,
    MarkdownFile,
    MarkdownResult,
    as_file,
    check_file,
    mime_for,
    result_metadata,
)
from workersai.settings import ClientSettings

OnError = Literal["raise", "skip", "keep"]


def _document(result: MarkdownResult, source: str, on_error: OnError) -> Document | None:
    """The Document of one result (None: skipped). A per-file error raises
    :class:`~workersai.MarkdownConversionError` (``on_error="raise"``), is left out (``"skip"``) or
    is an empty Document whose metadata holds the error (``"keep"``)."""
    if not result.ok:
        if on_error == "raise":
            result.raise_for_error()
        if on_error == "skip":
            return None
    return Document(page_content=result.data or "", metadata={"source": source, **result_metadata(result)})


class _MarkdownSettings(ClientSettings):
    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    conversion_options: dict[str, Any] | None = None
    """The service's ``conversionOptions`` (``{"html": {"cssSelector": "main"}}``, ...)."""
    on_error: OnError = "raise"
    """A file the service could not convert: raise, skip it, or keep an empty Document with
    ``metadata["error"]``."""


class WorkersAIMarkdownLoader(_MarkdownSettings, BaseLoader):
    """Loads files (PDF, HTML, DOCX, spreadsheets, images, ...) as Markdown converted by Workers AI:
    one ``Document`` per file, in order, with ``metadata`` ``source`` (the path), ``name``,
    ``mime_type``, ``format`` and ``tokens`` (the service's estimate).

    Lazy: files are read and sent ``batch_size`` at a time, and each batch's Documents are yielded
    before the next is read. Every path is checked first (exists, not empty, within the request
    limit, a supported type), so a bad one fails before any request.

    .. code-block:: python

        from langchain_workersai import WorkersAIMarkdownLoader

        docs = WorkersAIMarkdownLoader(file_path=["report.pdf", "page.html"]).load()
    """

    file_path: str | Path | Sequence[str | Path]
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1)

    def __init__(self, file_path: str | Path | Sequence[str | Path] | None = None, **kwargs: Any) -> None:
        if file_path is not None:
            kwargs["file_path"] = file_path
        super().__init__(**kwargs)

    def _paths(self) -> list[str]:
        given = self.file_path
        paths = [given] if isinstance(given, (str, os.PathLike)) else list(given)
        out = [os.fspath(path) for path in paths]
        for path in out:  # what a path can be checked for without reading it
            if not os.path.isfile(path):
                raise BadInput(f"no such file: {path!r}")
            name = os.path.basename(path)
            check_file(MarkdownFile(name, b"", mime_for(name)), size=os.path.getsize(path))
        return out

    def _batches(self) -> Iterator[list[str]]:
        paths = self._paths()
        for start in range(0, len(paths), self.batch_size):
            yield paths[start : start + self.batch_size]

    def lazy_load(self) -> Iterator[Document]:
        """One Document per file, a batch at a time."""
        for batch in self._batches():
            results = self.workers_ai.to_markdown(batch, conversion_options=self.conversion_options)
            for path, result in zip(batch, results, strict=True):
                doc = _document(result, path, self.on_error)
                if doc is not None:
                    yield doc

    async def alazy_load(self) -> AsyncIterator[Document]:
        """Async twin of :meth:`lazy_load` (also on a Workers binding)."""
        for batch in self._batches():
            results = await self.workers_ai.ato_markdown(batch, conversion_options=self.conversion_options)
            for path, result in zip(batch, results, strict=True):
                doc = _document(result, path, self.on_error)
                if doc is not None:
                    yield doc


class WorkersAIMarkdownParser(_MarkdownSettings, BaseBlobParser):
    """Parses blobs (files, bytes) to Markdown with Workers AI: one Document per blob, with the
    metadata of :class:`WorkersAIMarkdownLoader`. Use it with ``GenericLoader``:

    .. code-block:: python

        from langchain_community.document_loaders.generic import GenericLoader
        from langchain_workersai import WorkersAIMarkdownParser

        loader = GenericLoader.from_filesystem(
            "docs/", glob="**/*", suffixes=[".pdf", ".html", ".docx"], parser=WorkersAIMarkdownParser()
        )

    ``GenericLoader`` hands over one blob at a time, so each is one request; for many small files,
    :class:`WorkersAIMarkdownLoader` sends them in batches.
    """

    @staticmethod
    def _file(blob: Blob) -> tuple[MarkdownFile, str]:
        source = str(blob.source or blob.path or "")
        name = os.path.basename(source) or "document"
        file = as_file((name, blob.as_bytes(), blob.mimetype) if blob.mimetype else (name, blob.as_bytes()))
        return file, source or name

    def lazy_parse(self, blob: Blob) -> Iterator[Document]:
        """The blob's Document (none when its conversion failed and ``on_error="skip"``)."""
        file, source = self._file(blob)
        (result,) = self.workers_ai.to_markdown(file, conversion_options=self.conversion_options)
        doc = _document(result, source, self.on_error)
        if doc is not None:
            yield doc

    async def aparse(self, blob: Blob) -> list[Document]:
        """Async: the blob's Documents (``BaseBlobParser`` has no async method of its own)."""
        file, source = self._file(blob)
        (result,) = await self.workers_ai.ato_markdown(file, conversion_options=self.conversion_options)
        doc = _document(result, source, self.on_error)
        return [] if doc is None else [doc]
