"""Message content: a string, or a list of OpenAI-style parts with images for vision models.

A message's ``content`` may be a string or a list of parts::

    [{"type": "text", "text": "What is in this picture?"},
     {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR..."}}]

Text-only content is sent as one string, the parts joined by newlines: every text-generation model's
documented input takes ``content`` as a string, while only some take a list of parts (the model pages'
input schemas under https://developers.cloudflare.com/workers-ai/models/, and cloudflare-python's
``types/ai/ai_run_params.py``, where ``content`` is ``str``). Cloudflare's own AI SDK provider joins
text parts the same way (cloudflare/ai, ``packages/workers-ai-provider/src/convert-to-workersai-chat-
messages.ts``).

Images go to each model in its own documented form (:func:`place_images`):

- ``@cf/meta/llama-3.2-11b-vision-instruct`` takes one image as the top-level ``image`` field, "an array
  of integers that represent the image data constrained to 8-bit unsigned integer values", next to
  ``messages`` whose ``content`` is a string (its model page's input schema, Prompt and Messages);
- the other vision models (Llama 4 Scout, Gemma 3, Mistral Small 3.1, and the OpenAI-schema models the
  catalog marks ``vision``) take ``content`` as a list of ``{type: "text", text}`` and
  ``{type: "image_url", image_url: {url}}`` parts (``@cloudflare/workers-types``: e.g.
  ``Ai_Cf_Meta_Llama_4_Messages``, ``Google_Gemma_3_12B_It_Messages``,
  ``Mistral_Small_3_1_24B_Instruct_Messages``; the OpenAI-schema model pages);
- a model the bundled catalog lacks gets the parts as given: the service decides.

A model the catalog marks text-only (``vision`` not set) is refused an image with
:class:`~workersai.errors.BadInput` before any request.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .catalog import get_model
from .errors import BadInput

IMAGE_FIELD_MODELS = frozenset({"@cf/meta/llama-3.2-11b-vision-instruct"})
"""Models whose documented input takes the image's bytes as the top-level ``image`` field (one image),
not as message parts (developers.cloudflare.com/workers-ai/models/llama-3.2-11b-vision-instruct/)."""

_DATA_URL = re.compile(r"data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.DOTALL)


@dataclass(frozen=True)
class Image:
    """An image part: its URL as given, and for a ``data:`` URL the media type and decoded bytes."""

    url: str
    media_type: str | None = None
    data: bytes | None = None

    def part(self) -> dict[str, Any]:
        """The OpenAI-style ``image_url`` part."""
        return {"type": "image_url", "image_url": {"url": self.url}}


Part = str | Image
"""A text part (its text) or an image."""


def parse_image_url(url: Any) -> Image:
    """Check an image URL (``https://...`` or ``data:image/<type>;base64,...``) and decode a data URL."""
    if not isinstance(url, str) or not url:
        raise BadInput(f"an image_url part needs a non-empty 'url' string, got {url!r}")
    if url.startswith("https://"):
        return Image(url)
    match = _DATA_URL.fullmatch(url)
    if match is None:
        raise BadInput(f"an image URL must be https:// or a data: URL, got {url[:40]!r}")
    media_type = match["type"].strip().lower()
    if not media_type.startswith("image/"):
        raise BadInput(f"a data: URL image must have an image/* media type, got {media_type or 'none'!r}")
    if ";base64" not in match["params"].lower():
        raise BadInput("a data: URL image must be base64-encoded (data:image/<type>;base64,...)")
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadInput(f"the data: URL image is not valid base64: {exc}") from None
    if not data:
        raise BadInput("the data: URL image is empty")
    return Image(url, media_type, data)


def parse_content(content: Any) -> list[Part]:
    """``content`` (None, a string, one part or a list of parts) as a list of text and image parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [content]
    if isinstance(content, Mapping):
        content = [content]
    if not isinstance(content, Sequence):
        raise BadInput(f"message content must be a string or a list of parts, got {type(content).__name__}")
    parts: list[Part] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, Mapping) else None
        if kind == "text":
            text = part.get("text")
            if not isinstance(text, str):
                raise BadInput(f"content part {i} is a text part without a 'text' string")
            parts.append(text)
        elif kind == "image_url":
            image_url = part.get("image_url")
            url = image_url.get("url") if isinstance(image_url, Mapping) else None
            if url is None:
                raise BadInput(f"content part {i} is an image_url part without 'image_url': {{'url': ...}}")
            parts.append(parse_image_url(url))
        else:
            shown = kind if kind is not None else type(part).__name__
            raise BadInput(f"content part {i} has type {shown!r}; the parts are 'text' and 'image_url'")
    return parts


def joined_text(parts: Sequence[Part]) -> str:
    """The text parts joined by newlines (images left out)."""
    return "\n".join(p for p in parts if isinstance(p, str))


def images(parts: Sequence[Part]) -> list[Image]:
    return [p for p in parts if isinstance(p, Image)]


def wire_parts(parts: Sequence[Part]) -> list[dict[str, Any]]:
    """The parts as OpenAI-style dicts, in order."""
    return [{"type": "text", "text": p} if isinstance(p, str) else p.part() for p in parts]


def place_images(messages: list[dict[str, Any]], model: str | None) -> dict[str, Any]:
    """Put the images of ``messages`` (wire messages, ``content`` a string or a list of checked parts)
    in the form ``model`` takes; returns the top-level fields to add to the payload (``image``).

    Raises :class:`BadInput` for a model the catalog marks text-only, and for what the image-field
    models cannot take (more than one image, an image given by URL rather than by its bytes)."""
    found = [
        img for m in messages if isinstance(m["content"], list) for img in images(parse_content(m["content"]))
    ]
    if not found:
        return {}
    info = get_model(model) if model else None
    if info is not None and not info.vision:
        raise BadInput(
            f"{model} takes text only (the catalog does not mark it as a vision model); send images to "
            "a vision model such as @cf/meta/llama-4-scout-17b-16e-instruct"
        )
    if model not in IMAGE_FIELD_MODELS:
        return {}
    if len(found) > 1:
        raise BadInput(f"{model} takes one image a request (its 'image' field); got {len(found)}")
    image = found[0]
    if image.data is None:
        raise BadInput(
            f"{model} takes the image's bytes (its 'image' field), not a URL; pass a data: URL "
            "(data:image/png;base64,...)"
        )
    for m in messages:
        if isinstance(m["content"], list):
            m["content"] = joined_text(parse_content(m["content"]))
    return {"image": list(image.data)}
