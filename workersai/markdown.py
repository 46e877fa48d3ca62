"""Markdown conversion (Workers AI ``toMarkdown``): files in, one typed result per file out.

Wire facts (developers.cloudflare.com/workers-ai/features/markdown-conversion/, pages updated
2026-04-21; changelogs 2025-03-20 and 2025-10-23; @cloudflare/workers-types 5.20261117.1
``ConversionResponse``; cloudflare-python 5.9.0 ``resources/ai/to_markdown.py``):

- ``POST /accounts/{id}/ai/tomarkdown``: ``multipart/form-data``, one ``files`` part per file, and an
  optional ``conversionOptions`` part holding a JSON object (conversion-options page, changelog
  2026-03-04). The answer's ``result`` is a list, one entry per file, in order:
  ``{id, name, mimeType, format: "markdown" | "text", tokens, data}`` or
  ``{id, name, mimeType, format: "error", error}``. A file that cannot be converted is such an entry,
  not a failed request. ``tokens`` is a number in the docs and workers-types, a string in the SDK's
  generated model: both are read.
- ``GET /accounts/{id}/ai/tomarkdown/supported``: ``result`` is ``[{extension, mimeType}]``.
- Binding: ``env.AI.toMarkdown(files, {conversionOptions})`` with ``files`` a list of ``{name, blob}``
  answers the same list; ``env.AI.toMarkdown().supported()`` the same formats.

Limits: the Markdown conversion pages state none (no per-file size, no file count per request). What
bounds a request is Cloudflare's network-wide request body limit, 100 MB on the Free and Pro plans
(developers.cloudflare.com/workers/platform/limits/#request-limits: larger bodies get 413). So a call's
files are sent in batches of at most :data:`MAX_REQUEST_BYTES` (multipart overhead included) and
:data:`DEFAULT_BATCH_SIZE` files (a choice of this library, to keep each request short, not a service
limit), and a file that could never fit is refused before any request.
"""

from __future__ import annotations

import mimetypes
import os
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, Literal, Union, cast

from .errors import BadInput, RequestTooLarge, ResponseFormatError, WorkersAIError

TOMARKDOWN_PATH = "ai/tomarkdown"
SUPPORTED_PATH = "ai/tomarkdown/supported"

MAX_REQUEST_BYTES = 100 * 1000 * 1000
"""Cloudflare's request body limit on the Free and Pro plans (workers/platform/limits): 100 MB."""
MULTIPART_OVERHEAD = 1024
"""Bytes reserved per file for its multipart headers and boundary (name, type, disposition)."""
MAX_FILE_BYTES = MAX_REQUEST_BYTES - 2 * MULTIPART_OVERHEAD
"""The largest file one request can carry."""
DEFAULT_BATCH_SIZE = 20
"""Files per request (this library's choice: the service documents no count limit)."""

SUPPORTED_FORMATS: tuple[tuple[str, str], ...] = (
    (".pdf", "application/pdf"),
    (".jpeg", "image/jpeg"),
    (".jpg", "image/jpeg"),
    (".png", "image/png"),
    (".webp", "image/webp"),
    (".svg", "image/svg+xml"),
    (".html", "text/html"),
    (".htm", "text/html"),
    (".xml", "application/xml"),
    (".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (".xlsm", "application/vnd.ms-excel.sheet.macroenabled.12"),
    (".xlsb", "application/vnd.ms-excel.sheet.binary.macroenabled.12"),
    (".xls", "application/vnd.ms-excel"),
    (".et", "application/vnd.ms-excel"),
    (".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    (".ods", "application/vnd.oasis.opendocument.spreadsheet"),
    (".odt", "application/vnd.oasis.opendocument.text"),
    (".csv", "text/csv"),
    (".numbers", "application/vnd.apple.numbers"),
)
"""The formats the service converts, as its "Supported Formats" page lists them (updated 2026-04-21):
extension and MIME type. :meth:`~workersai.WorkersAI.markdown_supported` reads the live list."""

_BY_EXTENSION = dict(SUPPORTED_FORMATS)
_MIME_TYPES = frozenset(mime for _, mime in SUPPORTED_FORMATS)

FileInput = Union[
    str,
    "os.PathLike[str]",
    "MarkdownFile",
    tuple[str, bytes],
    tuple[str, bytes, str],
    tuple[str, IO[bytes]],
    IO[bytes],
]
"""What :meth:`~workersai.WorkersAI.to_markdown` takes for a file: a path; ``(name, bytes)`` or
``(name, bytes, mime_type)``; ``(name, binary file object)``; a binary file object with a ``name``
(``open(path, "rb")``); or a :class:`MarkdownFile`."""


class UnsupportedFileType(BadInput):
    """A file whose extension and MIME type are both outside the service's supported formats, refused
    before any request (:data:`SUPPORTED_FORMATS`)."""


class MarkdownConversionError(WorkersAIError):
    """The service could not convert a file (its per-file ``format: "error"`` answer), raised where a
    caller asked for the file's text (:meth:`MarkdownResult.raise_for_error`, the document loaders)."""

    def __init__(self, message: str, *, name: str = "", mime_type: str = "") -> None:
        super().__init__(message)
        self.name = name
        self.mime_type = mime_type


@dataclass(frozen=True)
class MarkdownFile:
    """One file to convert: its name (the result keeps it), its bytes and its MIME type."""

    name: str
    data: bytes
    mime_type: str

    def __repr__(self) -> str:
        return f"MarkdownFile(name={self.name!r}, mime_type={self.mime_type!r}, {len(self.data)} bytes)"


@dataclass(frozen=True)
class MarkdownResult:
    """The service's answer for one file: ``format`` is ``"markdown"`` (or ``"text"`` when asked for
    with ``conversion_options={"output": {"format": "text"}}``) with ``data`` and ``tokens`` (the
    service's estimate), or ``"error"`` with ``error`` (the file could not be converted)."""

    name: str
    mime_type: str
    format: Literal["markdown", "text", "error"] | str
    data: str | None = None
    tokens: int | None = None
    error: str | None = None
    id: str | None = None

    @property
    def ok(self) -> bool:
        """Whether the file was converted (``format`` is not ``"error"``)."""
        return self.format != "error"

    def raise_for_error(self) -> MarkdownResult:
        """This result, or :class:`MarkdownConversionError` when the file was not converted."""
        if not self.ok:
            raise MarkdownConversionError(
                f"{self.name!r} ({self.mime_type}) could not be converted to Markdown: {self.error}",
                name=self.name,
                mime_type=self.mime_type,
            )
        return self


def result_metadata(result: MarkdownResult) -> dict[str, Any]:
    """A result's facts as document metadata (the document loaders and readers): ``name``,
    ``mime_type``, ``format``, and ``tokens`` or ``error``."""
    out: dict[str, Any] = {"name": result.name, "mime_type": result.mime_type, "format": result.format}
    if result.ok:
        out["tokens"] = result.tokens
    else:
        out["error"] = result.error
    return out


@dataclass(frozen=True)
class SupportedFormat:
    """One format the service converts: a file extension (with its dot) and its MIME type."""

    extension: str
    mime_type: str


def mime_for(name: str, given: str | None = None) -> str:
    """The MIME type to send: the one given, else the supported format's for the extension, else the
    system's guess, else ``application/octet-stream``."""
    if given:
        return given
    suffix = PurePath(name).suffix.lower()
    return _BY_EXTENSION.get(suffix) or mimetypes.guess_type(name)[0] or "application/octet-stream"


def _read(source: Any) -> bytes:
    data = source.read()
    if isinstance(data, str):
        raise BadInput("a file object for Markdown conversion must be opened in binary mode ('rb')")
    return bytes(data)


def as_file(item: Any) -> MarkdownFile:
    """One :data:`FileInput` as a :class:`MarkdownFile` (paths are read here)."""
    if isinstance(item, MarkdownFile):
        return item
    if isinstance(item, (str, os.PathLike)):
        path = os.fspath(item)
        if not os.path.isfile(path):
            raise BadInput(f"no such file: {path!r}")
        with open(path, "rb") as handle:
            data = handle.read()
        name = os.path.basename(path)
        return MarkdownFile(name, data, mime_for(name, None))
    if isinstance(item, tuple) and len(item) in (2, 3) and isinstance(item[0], str):
        name, content = item[0], item[1]
        mime = item[2] if len(item) == 3 else None
        data = bytes(content) if isinstance(content, (bytes, bytearray, memoryview)) else _read(content)
        return MarkdownFile(name, data, mime_for(name, mime))
    if hasattr(item, "read"):
        given = getattr(item, "name", None)
        if not isinstance(given, str) or not given:
            raise BadInput("a file object without a name: pass (name, file) instead")
        name = os.path.basename(given)
        return MarkdownFile(name, _read(item), mime_for(name, None))
    if isinstance(item, (bytes, bytearray)):
        raise BadInput("bytes need a file name: pass (name, data) or (name, data, mime_type)")
    raise BadInput(f"cannot convert {type(item).__name__} to Markdown: pass a path, (name, bytes) or a file")


def check_file(
    file: MarkdownFile, *, check_types: bool = True, max_bytes: int | None = None, size: int | None = None
) -> None:
    """Refuse, before any request, what the service cannot take: an empty name or file, a file no
    request can carry (``max_bytes``, :data:`MAX_FILE_BYTES` by default), a type it does not convert
    (unless ``check_types`` is False). ``size`` stands for ``len(file.data)`` (a file not read yet)."""
    max_bytes = MAX_FILE_BYTES if max_bytes is None else max_bytes
    size = len(file.data) if size is None else size
    if not file.name.strip():
        raise BadInput("a file to convert needs a name (the result is matched to it)")
    if not size:
        raise BadInput(f"{file.name!r} is empty: there is nothing to convert")
    if size > max_bytes:
        raise RequestTooLarge(
            f"{file.name!r} is {size:,} bytes; one request carries at most {max_bytes:,} "
            "(Cloudflare's 100 MB request body limit)"
        )
    if not check_types:
        return
    suffix = PurePath(file.name).suffix.lower()
    if suffix not in _BY_EXTENSION and file.mime_type.split(";")[0].strip().lower() not in _MIME_TYPES:
        known = ", ".join(sorted(_BY_EXTENSION))
        raise UnsupportedFileType(
            f"{file.name!r} ({file.mime_type}) is not a format Markdown conversion supports: {known}"
        )


def prepare(
    files: FileInput | Iterable[FileInput], *, check_types: bool = True, max_bytes: int | None = None
) -> list[MarkdownFile]:
    """Every file of a call, read and checked, in order; one file alone is a list of one."""
    single = isinstance(files, (str, os.PathLike, MarkdownFile, tuple)) or hasattr(files, "read")
    items: Iterable[Any] = [files] if single else cast("Iterable[Any]", files)
    prepared = [as_file(item) for item in items]
    if not prepared:
        raise BadInput("no files to convert")
    for file in prepared:
        check_file(file, check_types=check_types, max_bytes=max_bytes)
    return prepared


def batches(
    files: Sequence[MarkdownFile], *, batch_size: int = DEFAULT_BATCH_SIZE, max_bytes: int | None = None
) -> Iterator[list[MarkdownFile]]:
    """``files`` split into requests of at most ``batch_size`` files and ``max_bytes`` bytes
    (:data:`MAX_REQUEST_BYTES` by default; with :data:`MULTIPART_OVERHEAD` per file), in order."""
    max_bytes = MAX_REQUEST_BYTES if max_bytes is None else max_bytes
    if batch_size < 1:
        raise BadInput(f"batch_size must be at least 1, got {batch_size}")
    batch: list[MarkdownFile] = []
    size = MULTIPART_OVERHEAD
    for file in files:
        cost = len(file.data) + MULTIPART_OVERHEAD
        if batch and (len(batch) >= batch_size or size + cost > max_bytes):
            yield batch
            batch, size = [], MULTIPART_OVERHEAD
        batch.append(file)
        size += cost
    if batch:
        yield batch


def multipart(batch: Sequence[MarkdownFile], options: Mapping[str, Any] | None) -> tuple[bytes, str]:
    """The multipart body of one request (``files`` parts, then ``conversionOptions``) and its
    ``Content-Type`` (with the boundary), built once so every retry sends the same bytes."""
    import httpx

    from . import jsonlib

    data = {"conversionOptions": jsonlib.dumps(dict(options)).decode()} if options else None
    files = [("files", (file.name, file.data, file.mime_type)) for file in batch]
    request = httpx.Request("POST", "https://multipart.invalid/", data=data, files=files)
    return request.read(), request.headers["content-type"]


def _tokens(value: Any) -> int | None:
    if value is None:
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ResponseFormatError(f"Markdown conversion answered tokens={value!r}, not a number") from None


def read_results(result: Any, sent: Sequence[MarkdownFile]) -> list[MarkdownResult]:
    """The ``result`` of one ``tomarkdown`` answer as typed results, one per file sent."""
    if isinstance(result, Mapping):  # the binding answers one object for one file
        result = [result]
    if not isinstance(result, list) or len(result) != len(sent):
        count = len(result) if isinstance(result, list) else type(result).__name__
        raise ResponseFormatError(f"Markdown conversion of {len(sent)} files answered {count} results")
    out = []
    for entry, file in zip(result, sent, strict=True):
        if not isinstance(entry, Mapping) or "format" not in entry:
            raise ResponseFormatError(f"Markdown conversion answered {entry!r} for {file.name!r}")
        error = entry.get("format") == "error"
        out.append(
            MarkdownResult(
                name=str(entry.get("name") or file.name),
                mime_type=str(entry.get("mimeType") or file.mime_type),
                format=str(entry["format"]),
                data=None if error else str(entry.get("data") or ""),
                tokens=None if error else _tokens(entry.get("tokens")),
                error=str(entry.get("error") or "conversion failed") if error else None,
                id=entry.get("id"),
            )
        )
    return out


def read_supported(result: Any) -> list[SupportedFormat]:
    """The ``result`` of ``tomarkdown/supported`` as typed formats."""
    if not isinstance(result, list):
        raise ResponseFormatError(f"tomarkdown/supported answered {type(result).__name__}, not a list")
    try:
        return [SupportedFormat(str(item["extension"]), str(item["mimeType"])) for item in result]
    except (KeyError, TypeError):
        raise ResponseFormatError(
            "tomarkdown/supported answered entries without extension/mimeType"
        ) from None


__all__ = [
    "DEFAULT_BATCH_SIZE",
    "MAX_FILE_BYTES",
    "MAX_REQUEST_BYTES",
    "SUPPORTED_FORMATS",
    "FileInput",
    "MarkdownConversionError",
    "MarkdownFile",
    "MarkdownResult",
    "SupportedFormat",
    "UnsupportedFileType",
]
