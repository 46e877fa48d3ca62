"""A question about an image, asked of a vision model (Llama 4 Scout) through LangChain and the core.

Usage: ``python examples/vision.py [picture.png]``. Without a picture it draws a small orange square
(no download). The local emulator runs no vision model: it answers from what the image's bytes state
(format, pixel size, average colour). Against Cloudflare the model itself looks at the picture.
"""

from __future__ import annotations

import base64
import struct
import sys
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env
from langchain_core.messages import HumanMessage

from langchain_workersai import ChatWorkersAI
from workersai import BadInput, WorkersAI

MODEL = "@cf/meta/llama-4-scout-17b-16e-instruct"


def orange_square(size: int = 8) -> bytes:
    """A valid ``size`` x ``size`` PNG of one colour, written with zlib and struct."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = (b"\x00" + bytes((255, 140, 0)) * size) * size
    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    picture = Path(sys.argv[1]).read_bytes() if len(sys.argv) > 1 else orange_square()
    encoded = base64.b64encode(picture).decode()
    question = "What colour is this picture, and how big is it?"
    with cloudflare_env():
        # LangChain's standard image block.
        llm = ChatWorkersAI(model=MODEL, max_tokens=80)
        image = {"type": "image", "base64": encoded, "mime_type": "image/png"}
        answer = llm.invoke([HumanMessage(content=[{"type": "text", "text": question}, image])])
        print(f"Q: {question}\nA (LangChain): {answer.content}")

        # The core, with OpenAI-style content parts.
        part = {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{encoded}"}}
        with WorkersAI() as client:
            result = client.chat(
                [{"role": "user", "content": [{"type": "text", "text": question}, part]}], model=MODEL
            )
            print(f"A (core): {result.text}")
            try:  # a text-only model is refused before any request
                text_only = "@cf/meta/llama-3.1-8b-instruct-fast"
                client.chat([{"role": "user", "content": [part]}], model=text_only)
            except BadInput as exc:
                print(f"text-only model: {exc}")
        assert str(answer.content).strip() and result.text.strip(), (answer.content, result.text)


if __name__ == "__main__":
    main()
