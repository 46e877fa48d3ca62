"""The emulator's Markdown conversion routes: ``POST /ai/tomarkdown`` (multipart ``files`` parts and an
optional ``conversionOptions`` JSON part) and ``GET /ai/tomarkdown/supported``, answering the service's
shapes (developers.cloudflare.com/workers-ai/features/markdown-conversion/usage/rest-api/); the
conversions themselves are :mod:`workersai.local.markdown_convert`'s.

The official SDK (cloudflare-python 5.9.0 ``ai.to_markdown.transform``) names its parts ``files[]``
(Stainless's bracket array format): both names are read. A request without any file, or with a
``conversionOptions`` that is not a JSON object, is refused with 400/5006 (the emulator's choice: the
service's answer to those is not documented)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..markdown import MAX_REQUEST_BYTES
from .emulator import Emulator
from .faults import Decision
from .markdown_convert import convert, supported
from .responses import ApiError, envelope

FILE_FIELDS = ("files", "files[]")


def _options(raw: Any) -> dict[str, Any]:
    if raw is None:
        return {}
    try:
        options = json.loads(raw if isinstance(raw, str) else raw.decode())
    except (ValueError, AttributeError):
        options = None
    if not isinstance(options, dict):
        raise ApiError(400, 5006, "Bad input: conversionOptions must be a JSON object")
    return options


def markdown_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The Markdown conversion routes under ``prefix`` (``/client/v4/accounts/{account_id}``)."""

    async def transform(request: Request, decision: Decision) -> Response:
        await emu.read_body(request, MAX_REQUEST_BYTES)
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            raise ApiError(400, 5006, "Bad input: send the files as multipart/form-data")
        async with request.form(max_files=10_000, max_fields=100) as form:
            uploads = [
                item for field in FILE_FIELDS for item in form.getlist(field) if isinstance(item, UploadFile)
            ]
            if not uploads:
                raise ApiError(
                    400, 5006, "Bad input: no files (send one multipart part named 'files' per file)"
                )
            options = _options(form.get("conversionOptions"))
            files = [(item.filename or "file", item.content_type, await item.read()) for item in uploads]
        # The converters are CPU work: off the event loop, so other requests keep being served.
        results = await asyncio.to_thread(
            lambda: [convert(name, kind, data, options) for name, kind, data in files]
        )
        return envelope(results)

    async def formats(request: Request, decision: Decision) -> Response:
        return envelope(supported())

    return [
        Route(prefix + "/ai/tomarkdown", emu.guarded("ai", transform), methods=["POST"]),
        Route(prefix + "/ai/tomarkdown/supported", emu.guarded("ai", formats), methods=["GET"]),
    ]
