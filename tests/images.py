"""Tiny real images made in the test (no downloads): a PNG written with zlib and struct."""

from __future__ import annotations

import base64
import struct
import zlib


def png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A valid 8-bit RGB PNG of one colour (each row filtered with 'Sub', so decoding is exercised)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    first = bytes(rgb)
    row = b"\x01" + first + bytes(3 * (width - 1))  # Sub filter: each later pixel = its left neighbour
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def data_url(data: bytes, media_type: str = "image/png") -> str:
    return f"data:{media_type};base64,{base64.b64encode(data).decode()}"


RED = png(3, 2, (250, 10, 10))
"""3 x 2 pixels, red: the facts an answer about it must carry are 'PNG', '3 pixels wide', 'red'."""
RED_URL = data_url(RED)


def says_red_png(text: str) -> bool:
    """Whether an answer states what the emulator can know of :data:`RED`."""
    return "PNG" in text and "3 pixels wide and 2 pixels high" in text and "red" in text
