"""Markdown conversion (``POST /ai/tomarkdown``, ``GET /ai/tomarkdown/supported``): see
:mod:`workersai.markdown` for the wire facts, limits and types."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..markdown import (
    DEFAULT_BATCH_SIZE,
    SUPPORTED_PATH,
    TOMARKDOWN_PATH,
    FileInput,
    MarkdownFile,
    MarkdownResult,
    SupportedFormat,
    batches,
    multipart,
    prepare,
    read_results,
    read_supported,
)
from ..transport import unwrap_envelope
from .base import ClientBase


class Markdown(ClientBase):
    """Documents to Markdown, sync and async; the twins differ only in the send."""

    def _markdown_requests(
        self,
        files: FileInput | Iterable[FileInput],
        conversion_options: Mapping[str, Any] | None,
        batch_size: int,
        check_types: bool,
    ) -> list[tuple[list[MarkdownFile], dict[str, Any]]]:
        """Each batch of a call with its request (the transport's keyword arguments), every file read
        and checked before the first request is sent."""
        prepared = prepare(files, check_types=check_types)
        url = self.account_url(TOMARKDOWN_PATH)
        out = []
        for batch in batches(prepared, batch_size=batch_size):
            content, content_type = multipart(batch, conversion_options)
            out.append(
                (
                    batch,
                    {
                        "method": "POST",
                        "url": url,
                        "content": content,
                        "headers": {"Content-Type": content_type},
                    },
                )
            )
        return out

    def to_markdown(
        self,
        files: FileInput | Iterable[FileInput],
        *,
        conversion_options: Mapping[str, Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        check_types: bool = True,
    ) -> list[MarkdownResult]:
        """Convert documents (PDF, HTML, DOCX, spreadsheets, images, ...) to Markdown with Workers AI.

        ``files`` is one file or several: paths, ``(name, bytes)`` / ``(name, bytes, mime_type)``,
        ``(name, file object)``, binary file objects with a name, or
        :class:`~workersai.markdown.MarkdownFile`. Names and MIME types are sent as given (a MIME type
        is guessed from the extension otherwise). Every file is checked first: an empty file, a file
        over the request limit or (``check_types``) a type the service does not list raises before any
        request (:class:`~workersai.BadInput`, :class:`~workersai.RequestTooLarge`,
        :class:`~workersai.markdown.UnsupportedFileType`).

        Files are sent in batches (``batch_size`` files, within the 100 MB request limit), each retried
        as any request is. The answer is one :class:`~workersai.markdown.MarkdownResult` per file, in
        order; a file the service could not convert is a result with ``format == "error"`` (``ok``
        False), not an exception. ``conversion_options`` is the service's ``conversionOptions``
        (``{"html": {"cssSelector": "article"}}``, ``{"output": {"format": "text"}}``, ...).
        """
        results: list[MarkdownResult] = []
        for batch, request in self._markdown_requests(files, conversion_options, batch_size, check_types):
            response = self.transport.request(**request)
            results.extend(read_results(unwrap_envelope(response), batch))
        return results

    async def ato_markdown(
        self,
        files: FileInput | Iterable[FileInput],
        *,
        conversion_options: Mapping[str, Any] | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        check_types: bool = True,
    ) -> list[MarkdownResult]:
        """Async twin of :meth:`to_markdown` (also on a Workers binding: ``env.AI.toMarkdown``)."""
        results: list[MarkdownResult] = []
        for batch, request in self._markdown_requests(files, conversion_options, batch_size, check_types):
            response = await self.transport.arequest(**request)
            results.extend(read_results(unwrap_envelope(response), batch))
        return results

    def markdown_supported(self) -> list[SupportedFormat]:
        """The formats the service converts now (``GET /ai/tomarkdown/supported``)."""
        response = self.transport.request("GET", self.account_url(SUPPORTED_PATH))
        return read_supported(unwrap_envelope(response))

    async def amarkdown_supported(self) -> list[SupportedFormat]:
        """Async twin of :meth:`markdown_supported` (``env.AI.toMarkdown().supported()`` on a binding)."""
        response = await self.transport.arequest("GET", self.account_url(SUPPORTED_PATH))
        return read_supported(unwrap_envelope(response))
