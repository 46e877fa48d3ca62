"""The catalog endpoints' query parameters as the service takes them.

Sources: the API reference "Workers AI > Models > Model Search"
(https://developers.cloudflare.com/api/resources/ai/subresources/models/methods/list/: ``author``,
``hide_experimental`` (boolean), ``page``, ``per_page``, ``search``, ``source`` (number), ``task``
"Filter by Task Name") and "Get Model Schema" (``model``, required). The official SDK sends booleans as
``true`` / ``false``. What the service answers for a malformed ``page`` or an unknown model is not
documented: the emulator answers 400 with 5006 (bad input) and, for a model it does not serve,
400/5007 as ``/ai/run`` does (https://developers.cloudflare.com/workers-ai/platform/errors/).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from ...catalog import ModelInfo
from . import Rejected, paging
from .ai import BAD_INPUT, model_info

MAX_PER_PAGE = 1000
"""Not documented; a ceiling so that a page stays a page."""


@dataclass(frozen=True)
class Search:
    page: int
    per_page: int
    task: str
    search: str
    author: str
    source: float | None
    hide_experimental: bool


def search(params: Mapping[str, str]) -> Search:
    """The checked query of ``GET /ai/models/search``."""
    hide = (params.get("hide_experimental") or "false").lower()
    if hide not in ("true", "false"):
        raise Rejected(400, BAD_INPUT, "hide_experimental must be true or false")
    source_raw = params.get("source")
    try:
        source = float(source_raw) if source_raw not in (None, "") else None
    except ValueError:
        raise Rejected(400, BAD_INPUT, f"source must be a number, got {source_raw!r}") from None
    chosen = paging.page(params, default_per_page=50, max_per_page=MAX_PER_PAGE, code=BAD_INPUT, prefix="")
    return Search(
        page=chosen.page,
        per_page=chosen.per_page,
        task=(params.get("task") or "").strip().lower(),
        search=(params.get("search") or "").strip().lower(),
        author=(params.get("author") or "").strip().lower(),
        source=source,
        hide_experimental=hide == "true",
    )


def schema_model(params: Mapping[str, str]) -> ModelInfo:
    """The model of ``GET /ai/models/schema?model=...`` (400/5006 without one; 404/3042 for a malformed
    name and 400/5007 for one the emulator does not serve, as ``/ai/run``)."""
    model = params.get("model")
    if not model:
        raise Rejected(400, BAD_INPUT, "model is required")
    return model_info(model)
