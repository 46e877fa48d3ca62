"""The emulator's Markdown conversion: real converters for the formats it can read, the service's
per-file error for the others (never a made-up text).

The service (developers.cloudflare.com/workers-ai/features/markdown-conversion/supported-formats/,
updated 2026-04-21) converts PDF, images (JPEG, PNG, WebP, SVG), HTML, XML, Excel (xlsx, xlsm, xlsb,
xls, et), DOCX, OpenDocument (ods, odt), CSV and Apple Numbers. Here, with well-kept libraries that
each do one format (rather than one converter that pulls dozens of dependencies):

- PDF: ``pypdf`` (pure Python, BSD, maintained by the py-pdf organisation): the text layer, page by
  page. A scanned PDF without text converts to an empty document, as a text extractor does.
- DOCX: ``python-docx`` (MIT, on lxml): paragraphs and tables in document order, headings from the
  ``Heading N`` / ``Title`` styles, list styles as list items, bold and italic runs. (``mammoth`` was
  tried first: 0.35 s per document against 0.02 s, parsing the styles part with minidom.)
- HTML: ``markdownify`` (MIT, on BeautifulSoup): ATX headings; ``conversionOptions.html.cssSelector``
  picks elements and ``hostname`` resolves relative links, as the conversion-options page describes.
- XLSX / XLSM: ``openpyxl`` (MIT): one Markdown table per sheet, the cached values of formulas.
- CSV: the standard library, one Markdown table. XML: the document in a fenced ``xml`` block.
- Images (JPEG, PNG, WebP): the service describes them with two Workers AI models (object detection
  and summarisation; supported-formats page, footnote 1). The emulator runs no vision model: it
  answers what :mod:`workersai.local.images` reads from the bytes (format, pixel size, byte size,
  average colour of small PNGs), the same facts its vision path gives the chat models.
- xls, xlsb, et, ods, odt, numbers, svg: no converter here; each gets the per-file error
  ``{format: "error"}`` that the service answers for a file it cannot convert.

``tokens`` is estimated as one token per four characters (the service documents only "estimated").
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Callable, Mapping
from pathlib import PurePath
from typing import Any
from urllib.parse import urljoin

from ..markdown import SUPPORTED_FORMATS
from . import images

_BY_EXTENSION = dict(SUPPORTED_FORMATS)
_EXTENSIONS_BY_MIME: dict[str, str] = {}
for _ext, _mime in SUPPORTED_FORMATS:
    _EXTENSIONS_BY_MIME.setdefault(_mime, _ext)


class CannotConvert(Exception):
    """This file gets the per-file error, with this message."""


def _table(rows: list[list[Any]]) -> str:
    rows = [
        ["" if cell is None else str(cell).replace("|", "\\|").replace("\n", " ") for cell in row]
        for row in rows
    ]
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        return ""
    width = max(len(row) for row in rows)
    rows = [row + [""] * (width - len(row)) for row in rows]
    lines = ["| " + " | ".join(rows[0]) + " |", "|" + " --- |" * width]
    lines += ["| " + " | ".join(row) + " |" for row in rows[1:]]
    return "\n".join(lines)


def _pdf(data: bytes, options: Mapping[str, Any]) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        pages = [(page.extract_text() or "").strip() for page in reader.pages]
        meta = reader.metadata if (options.get("pdf") or {}).get("metadata", True) is not False else None
    except (PyPdfError, ValueError, KeyError, TypeError) as exc:
        raise CannotConvert(f"the PDF could not be read: {exc}") from None
    head = ""
    if meta is not None:
        fields = [("Title", meta.title), ("Author", meta.author), ("Subject", meta.subject)]
        head = "".join(f"{key}: {value}\n" for key, value in fields if value)
    body = "\n\n".join(page for page in pages if page)
    return (head + "\n" + body).strip() if head else body


def _html(data: bytes | str, options: Mapping[str, Any]) -> str:
    from bs4 import BeautifulSoup
    from markdownify import markdownify

    html = options.get("html") or {}
    soup = BeautifulSoup(data, "html.parser")
    for tag in soup(["script", "style", "noscript", "template"]):
        tag.decompose()
    if html.get("hostname"):
        base = str(html["hostname"])
        base = base if "://" in base else f"https://{base}/"
        for tag in soup.find_all(["a", "img"]):
            attr = "href" if tag.name == "a" else "src"
            if tag.get(attr):
                tag[attr] = urljoin(base, str(tag[attr]))
    parts: list[Any] = (
        soup.select(str(html["cssSelector"])) if html.get("cssSelector") else [soup.body or soup]
    )
    text = "\n\n".join(markdownify(str(part), heading_style="ATX", strip=["img"]) for part in parts)
    return re.sub(r"\n{3,}", "\n\n", text).strip()


def _runs(paragraph: Any) -> str:
    """A paragraph's text with bold and italic runs marked."""
    out = []
    for run in paragraph.runs:
        text = run.text
        if text.strip() and run.bold:
            text = f"**{text}**"
        if text.strip() and run.italic:
            text = f"*{text}*"
        out.append(text)
    return "".join(out).strip()


def _docx(data: bytes, options: Mapping[str, Any]) -> str:
    from docx import Document as read_docx
    from docx.table import Table

    try:
        document = read_docx(io.BytesIO(data))
        blocks = list(document.iter_inner_content())
    except Exception as exc:  # zipfile.BadZipFile, KeyError, lxml's errors, python-docx's own
        raise CannotConvert(f"the DOCX could not be read: {type(exc).__name__}") from None
    out = []
    for block in blocks:
        if isinstance(block, Table):
            out.append(_table([[cell.text for cell in row.cells] for row in block.rows]))
            continue
        text = _runs(block)
        style = (block.style.name if block.style is not None else "") or ""
        if not text:
            continue
        level = re.fullmatch(r"Heading (\d)", style)
        if style == "Title" or level:
            out.append("#" * (int(level[1]) if level else 1) + " " + text.replace("**", ""))
        elif style.startswith("List Number"):
            out.append(f"1. {text}")
        elif style.startswith("List"):
            out.append(f"- {text}")
        else:
            out.append(text)
    return "\n\n".join(part for part in out if part)


def _xlsx(data: bytes, options: Mapping[str, Any]) -> str:
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # zipfile.BadZipFile, KeyError, openpyxl's InvalidFileException
        raise CannotConvert(f"the workbook could not be read: {type(exc).__name__}") from None
    try:
        sheets = [
            f"## {sheet.title}\n\n{_table([list(row) for row in sheet.iter_rows(values_only=True)])}"
            for sheet in book.worksheets
        ]
    finally:
        book.close()
    return "\n\n".join(sheets).strip()


def _csv(data: bytes, options: Mapping[str, Any]) -> str:
    text = data.decode("utf-8-sig", errors="replace")
    return _table(list(csv.reader(io.StringIO(text))))


def _xml(data: bytes, options: Mapping[str, Any]) -> str:
    from xml.dom import minidom
    from xml.parsers.expat import ExpatError

    try:
        minidom.parseString(data)  # well-formed, or the per-file error
    except ExpatError as exc:
        raise CannotConvert(f"the XML is not well-formed: {exc}") from None
    return "```xml\n" + data.decode("utf-8", errors="replace").strip() + "\n```"


def _image(data: bytes, options: Mapping[str, Any]) -> str:
    facts = images.read_facts(data)
    if facts.format is None:
        raise CannotConvert("the image could not be read")
    return images.describe(1, data).replace("Image 1 is", "This is", 1)


_CONVERTERS: dict[str, Callable[[bytes, Mapping[str, Any]], str]] = {
    ".pdf": _pdf,
    ".html": _html,
    ".htm": _html,
    ".docx": _docx,
    ".xlsx": _xlsx,
    ".xlsm": _xlsx,
    ".csv": _csv,
    ".xml": _xml,
    ".jpeg": _image,
    ".jpg": _image,
    ".png": _image,
    ".webp": _image,
}


def _plain_text(markdown: str) -> str:
    """``output.format: "text"``: the Markdown syntax removed (headings, emphasis, links, tables)."""
    text = re.sub(r"^#{1,6}\s*", "", markdown, flags=re.MULTILINE)
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_|`{1,3})", "", text)
    text = re.sub(r"^\|?\s*-{3,}.*$\n?", "", text, flags=re.MULTILINE)
    return re.sub(r"\s*\|\s*", " ", text).strip()


def convert(name: str, content_type: str | None, data: bytes, options: Mapping[str, Any]) -> dict[str, Any]:
    """One file's entry of the answer: ``{id, name, mimeType, format, tokens, data}`` or the per-file
    ``{id, name, mimeType, format: "error", error}``."""
    suffix = PurePath(name).suffix.lower()
    mime = (content_type or "").split(";")[0].strip().lower()
    if suffix not in _BY_EXTENSION and mime in _EXTENSIONS_BY_MIME:
        suffix = _EXTENSIONS_BY_MIME[mime]
    entry: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "name": name,
        "mimeType": _BY_EXTENSION.get(suffix, mime),
    }
    try:
        if suffix not in _BY_EXTENSION:
            raise CannotConvert(f"unsupported file type: {name!r} ({mime or 'no type'})")
        if not data:
            raise CannotConvert("the file is empty")
        converter = _CONVERTERS.get(suffix)
        if converter is None:
            raise CannotConvert(
                f"the local emulator cannot convert {suffix} files (Workers AI can): "
                "use PDF, HTML, DOCX, XLSX, CSV, XML or a JPEG/PNG/WebP image here"
            )
        try:
            markdown = converter(data, options)
        except ImportError as exc:  # an emulator installed without the `local` extra's converters
            raise CannotConvert(
                f"the emulator needs {exc.name} for {suffix} files: install workersai[local]"
            ) from None
    except CannotConvert as exc:
        return {**entry, "format": "error", "error": str(exc)}
    output = (options.get("output") or {}).get("format", "markdown")
    text = _plain_text(markdown) if output == "text" else markdown
    return {
        **entry,
        "format": "text" if output == "text" else "markdown",
        "tokens": (len(text) + 3) // 4,
        "data": text,
    }


def supported() -> list[dict[str, str]]:
    """``GET /ai/tomarkdown/supported``: every format the service lists (the emulator answers the
    formats it cannot convert with the per-file error, as documented above)."""
    return [{"extension": ext, "mimeType": mime} for ext, mime in SUPPORTED_FORMATS]
