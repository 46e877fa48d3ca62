"""What the emulator can truly know about an image it is sent, told to the generator as text.

The emulator runs no vision model. For each image a request carries, it reads what the bytes state
outright and nothing more: the format (from the file's signature), the width and height in pixels
(from the PNG ``IHDR`` chunk, the JPEG ``SOFn`` frame header, the GIF screen descriptor or the WebP
``VP8``/``VP8L``/``VP8X`` header), the size in bytes, and for small 8-bit PNGs the average colour of
the decoded pixels with the nearest basic colour name. An image given by ``https://`` URL is not
fetched (the emulator never leaves the machine), and its description says so. The description is a
sentence the generator answers from like any other context; no content is invented.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

MAX_DECODED_PNG_BYTES = 1_000_000
"""Larger PNGs are described without their average colour (decoding is done in pure Python)."""

_COLOURS = {
    "black": (0, 0, 0),
    "white": (255, 255, 255),
    "grey": (128, 128, 128),
    "red": (255, 0, 0),
    "green": (0, 160, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "cyan": (0, 255, 255),
    "magenta": (255, 0, 255),
    "orange": (255, 140, 0),
    "purple": (128, 0, 128),
    "brown": (140, 80, 20),
}
_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


@dataclass(frozen=True)
class ImageFacts:
    """What an image's bytes state: format, pixel size, byte size, average colour (when decoded)."""

    size_bytes: int
    format: str | None = None
    width: int | None = None
    height: int | None = None
    mean_rgb: tuple[int, int, int] | None = None


def read_facts(data: bytes) -> ImageFacts:
    """The facts of an image's bytes; unknown formats give only the size."""
    n = len(data)
    try:
        if data.startswith(b"\x89PNG\r\n\x1a\n") and data[12:16] == b"IHDR":
            width, height = struct.unpack(">II", data[16:24])
            return ImageFacts(n, "PNG", width, height, _png_mean_rgb(data, width, height))
        if data.startswith(b"\xff\xd8"):
            size = _jpeg_size(data)
            return ImageFacts(n, "JPEG", *(size or (None, None)))
        if data[:6] in (b"GIF87a", b"GIF89a"):
            width, height = struct.unpack("<HH", data[6:10])
            return ImageFacts(n, "GIF", width, height)
        if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
            size = _webp_size(data)
            return ImageFacts(n, "WebP", *(size or (None, None)))
    except (struct.error, IndexError, zlib.error, ValueError):
        pass
    return ImageFacts(n)


def colour_name(rgb: tuple[int, int, int]) -> str:
    """The nearest basic colour name."""
    return min(_COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(_COLOURS[name], rgb, strict=True)))


def describe(number: int, data: bytes | None, url: str | None = None, declared: str | None = None) -> str:
    """One sentence about image ``number`` (1-based) of a request."""
    if data is None:
        return (
            f"Image {number} is given by the URL {url}; the emulator does not fetch URLs, so nothing more "
            "is known about it."
        )
    facts = read_facts(data)
    if facts.format is None:
        kind = f" (sent as {declared})" if declared else ""
        return (
            f"Image {number} is {facts.size_bytes} bytes in a format the emulator does not recognise{kind}."
        )
    text = f"Image {number} is a {facts.format} image"
    if facts.width is not None and facts.height is not None:
        text += f", {facts.width} pixels wide and {facts.height} pixels high"
    text += f" ({facts.size_bytes} bytes)."
    if facts.mean_rgb is not None:
        r, g, b = facts.mean_rgb
        text += f" Its average colour is {colour_name(facts.mean_rgb)} (RGB {r}, {g}, {b})."
    return text


def _png_mean_rgb(data: bytes, width: int, height: int) -> tuple[int, int, int] | None:
    bit_depth, colour_type, _, _, interlace = data[24:29]
    channels = _CHANNELS.get(colour_type)
    if (
        bit_depth != 8
        or interlace != 0
        or channels is None
        or width * height * channels > MAX_DECODED_PNG_BYTES
    ):
        return None
    idat, palette, pos = bytearray(), b"", 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        chunk = data[pos + 8 : pos + 8 + length]
        if kind == b"IDAT":
            idat += chunk
        elif kind == b"PLTE":
            palette = chunk
        elif kind == b"IEND":
            break
        pos += 12 + length
    raw = zlib.decompress(bytes(idat))
    stride = width * channels
    previous = bytearray(stride)
    totals = [0, 0, 0]
    for y in range(height):
        start = y * (stride + 1)
        kind, row = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        if len(row) != stride:
            return None
        _unfilter(kind, row, previous, channels)
        for x in range(0, stride, channels):
            if colour_type == 3:
                i = 3 * row[x]
                rgb = (palette[i], palette[i + 1], palette[i + 2])
            elif colour_type in (0, 4):
                rgb = (row[x], row[x], row[x])
            else:
                rgb = (row[x], row[x + 1], row[x + 2])
            totals = [t + c for t, c in zip(totals, rgb, strict=True)]
        previous = row
    pixels = max(1, width * height)
    return (round(totals[0] / pixels), round(totals[1] / pixels), round(totals[2] / pixels))


def _unfilter(kind: int, row: bytearray, previous: bytearray, step: int) -> None:
    """Undo one PNG row filter in place (None, Sub, Up, Average, Paeth)."""
    for i in range(len(row)):
        left = row[i - step] if i >= step else 0
        up = previous[i]
        corner = previous[i - step] if i >= step else 0
        if kind == 1:
            value = left
        elif kind == 2:
            value = up
        elif kind == 3:
            value = (left + up) // 2
        elif kind == 4:
            p = left + up - corner
            pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
            value = left if pa <= pb and pa <= pc else up if pb <= pc else corner
        elif kind == 0:
            value = 0
        else:
            raise ValueError(f"unknown PNG filter {kind}")
        row[i] = (row[i] + value) & 0xFF


def _jpeg_size(data: bytes) -> tuple[int, int] | None:
    pos = 2
    while pos + 4 <= len(data):
        if data[pos] != 0xFF:
            return None
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        length = struct.unpack(">H", data[pos + 2 : pos + 4])[0]
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            height, width = struct.unpack(">HH", data[pos + 5 : pos + 9])
            return width, height
        pos += 2 + length
    return None


def _webp_size(data: bytes) -> tuple[int, int] | None:
    kind = data[12:16]
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", data[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = int.from_bytes(data[21:25], "little")
        return (bits & 0x3FFF) + 1, ((bits >> 14) & 0x3FFF) + 1
    if kind == b"VP8X":
        return int.from_bytes(data[24:27], "little") + 1, int.from_bytes(data[27:30], "little") + 1
    return None
