"""Small documents made on the spot (a PDF with fpdf2, a DOCX with python-docx, an HTML page, an XLSX
with openpyxl, a CSV, a PNG) for the Markdown conversion tests: each states a fact the tests look for."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path


def pdf(title: str = "Volcano report", text: str = "Mount Etna erupted 12 times in 2021.") -> bytes:
    from fpdf import FPDF

    doc = FPDF()
    doc.set_title(title)
    doc.add_page()
    doc.set_font("Helvetica", size=12)
    doc.multi_cell(0, 8, text)
    return bytes(doc.output())


def docx(heading: str = "Tea guide", text: str = "Green tea steeps for 2 minutes at 80 degrees.") -> bytes:
    from docx import Document

    doc = Document()
    doc.add_heading(heading, level=1)
    doc.add_paragraph(text)
    table = doc.add_table(rows=2, cols=2)
    for (row, col), value in {(0, 0): "Tea", (0, 1): "Minutes", (1, 0): "Green", (1, 1): "2"}.items():
        table.cell(row, col).text = value
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()


def html(text: str = "The Seine flows through Paris.") -> bytes:
    return (
        "<html><head><title>Rivers</title><script>var x = 1;</script></head><body>"
        "<nav>Menu</nav><article><h1>Rivers of France</h1>"
        f"<p>{text} <a href='/seine'>More</a></p></article></body></html>"
    ).encode()


def xlsx() -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Sales"
    sheet.append(["Region", "Units"])
    sheet.append(["North", 42])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def png(width: int = 4, height: int = 3, rgb: tuple[int, int, int] = (255, 0, 0)) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def folder(path: Path) -> Path:
    """``path`` with ``report.pdf``, ``tea.docx`` and ``rivers.html`` written in it (the loaders' tests)."""
    (path / "report.pdf").write_bytes(pdf())
    (path / "tea.docx").write_bytes(docx())
    (path / "rivers.html").write_bytes(html())
    return path
