"""``WorkersAIMarkdownReader``: documents to Markdown with Workers AI, as a LlamaIndex reader (and a
``SimpleDirectoryReader`` file extractor). The conversion is the core client's
:meth:`~workersai.WorkersAI.to_markdown`."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any, Literal

from llama_index.core.readers.base import BasePydanticReader
from llama_index.core.schema import Document
from pydantic import Field

from workersai.markdown import DEFAULT_BATCH_SIZE, FileInput, MarkdownResult, result_metadata
from workersai.settings import ClientSettings

FilesArg = str | Path | Sequence[str | Path]
_NOT_FOR_MODELS = ["mime_type", "format", "tokens", "error"]
"""Metadata the embedding model and the LLM do not need to read."""


class WorkersAIMarkdownReader(ClientSettings, BasePydanticReader):
    """Reads files (PDF, HTML, DOCX, spreadsheets, images, ...) as Markdown converted by Workers AI:
    one ``Document`` per file, in order, its metadata ``file_path``, ``name``, ``mime_type``,
    ``format`` and ``tokens`` (the service's estimate) plus any ``extra_info``.

    As a ``SimpleDirectoryReader`` file extractor (one request per file):

    .. code-block:: python

        from llama_index.core import SimpleDirectoryReader
        from llamaindex_workersai import WorkersAIMarkdownReader

        reader = WorkersAIMarkdownReader()
        docs = SimpleDirectoryReader(
            "docs/", file_extractor={".pdf": reader, ".html": reader, ".docx": reader}
        ).load_data()

    or alone, on many files at once (sent ``batch_size`` at a time):
    ``WorkersAIMarkdownReader().load_data(["a.pdf", "b.docx"])``. A file the service cannot convert
    raises :class:`~workersai.MarkdownConversionError` (``on_error="raise"``), is left out
    (``"skip"``) or becomes an empty Document with ``metadata["error"]`` (``"keep"``).
    """

    is_remote: bool = True
    conversion_options: dict[str, Any] | None = None
    """The service's ``conversionOptions`` (``{"html": {"cssSelector": "main"}}``, ...)."""
    on_error: Literal["raise", "skip", "keep"] = "raise"
    batch_size: int = Field(default=DEFAULT_BATCH_SIZE, ge=1)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIMarkdownReader"

    @staticmethod
    def _inputs(file: FilesArg, fs: Any) -> list[tuple[str, FileInput]]:
        """(path, what to_markdown takes) for each file; through ``fs`` (fsspec) when one is given."""
        paths = [file] if isinstance(file, (str, os.PathLike)) else list(file)
        out: list[tuple[str, FileInput]] = []
        for path in (os.fspath(p) for p in paths):
            if fs is None:
                out.append((path, path))
            else:
                with fs.open(path, "rb") as handle:
                    out.append((path, (os.path.basename(path), handle.read())))
        return out

    def _document(
        self, path: str, result: MarkdownResult, extra_info: dict[str, Any] | None
    ) -> Document | None:
        if not result.ok:
            if self.on_error == "raise":
                result.raise_for_error()
            if self.on_error == "skip":
                return None
        metadata = {"file_path": path, **(extra_info or {}), **result_metadata(result)}
        return Document(
            text=result.data or "",
            metadata=metadata,
            excluded_embed_metadata_keys=list(_NOT_FOR_MODELS),
            excluded_llm_metadata_keys=list(_NOT_FOR_MODELS),
        )

    def lazy_load_data(
        self, file: FilesArg, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> Iterator[Document]:
        """One Document per file, a batch at a time (every file of a batch checked before it is sent)."""
        inputs = self._inputs(file, fs)
        for start in range(0, len(inputs), self.batch_size):
            batch = inputs[start : start + self.batch_size]
            results = self.workers_ai.to_markdown(
                [item for _, item in batch], conversion_options=self.conversion_options
            )
            for (path, _), result in zip(batch, results, strict=True):
                doc = self._document(path, result, extra_info)
                if doc is not None:
                    yield doc

    def load_data(
        self, file: FilesArg, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> list[Document]:
        """Every file's Document (``SimpleDirectoryReader`` calls this with one path and its metadata)."""
        return list(self.lazy_load_data(file, extra_info=extra_info, fs=fs))

    async def aload_data(
        self, file: FilesArg, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> list[Document]:
        """Async twin of :meth:`load_data` (``SimpleDirectoryReader.aload_data``; also on a binding)."""
        inputs = self._inputs(file, fs)
        docs: list[Document] = []
        for start in range(0, len(inputs), self.batch_size):
            batch = inputs[start : start + self.batch_size]
            results = await self.workers_ai.ato_markdown(
                [item for _, item in batch], conversion_options=self.conversion_options
            )
            for (path, _), result in zip(batch, results, strict=True):
                doc = self._document(path, result, extra_info)
                if doc is not None:
                    docs.append(doc)
        return docs

    async def alazy_load_data(
        self, file: FilesArg, extra_info: dict[str, Any] | None = None, fs: Any = None
    ) -> Iterable[Document]:
        """Async: every file's Document (LlamaIndex's ``alazy_load_data`` answers them all at once)."""
        return await self.aload_data(file, extra_info=extra_info, fs=fs)
