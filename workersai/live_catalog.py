"""The service's live model catalog: ``GET /accounts/{id}/ai/models/search`` followed page by page, and
``GET /accounts/{id}/ai/models/schema``; both cached per client.

Wire facts (Cloudflare API reference, "Workers AI > Models > Model Search" and "Get Model Schema",
https://developers.cloudflare.com/api/resources/ai/subresources/models/methods/list/ and
.../models/subresources/schema/methods/get/; the official SDK's ``ai.models.list`` and
``ai.models.schema.get`` in cloudflare-python ``src/cloudflare/resources/ai/models/``):

- search takes the query parameters ``page``, ``per_page``, ``task`` (a task *name*, "Filter by Task
  Name"), ``search``, ``author``, ``source``, ``hide_experimental``; it answers the envelope with
  ``result`` a list of models and, for the SDK's ``V4PagePaginationArray``, an optional
  ``result_info`` (``page``, ``per_page``, and here also ``count``, ``total_count``). The SDK asks for
  the next page until one comes back empty.
- schema takes ``model`` and answers ``result: {input, output}``, each a JSON schema object.

The paging is a flow, as httpx's ``Auth.auth_flow``: a generator that yields the query of the next page
and receives that page; :func:`workersai.flows.drive` and :func:`~workersai.flows.adrive` do the I/O.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from . import jsonlib
from .errors import BadInput, ResponseFormatError
from .transport import unwrap_envelope
from .types import ModelSchema, ModelSummary

if TYPE_CHECKING:
    import httpx

SEARCH_PATH = "ai/models/search"
SCHEMA_PATH = "ai/models/schema"
DEFAULT_PER_PAGE = 50
MAX_PAGES = 10_000
"""A guard against a server that never ends the listing (the SDK would loop forever)."""


@dataclass(frozen=True)
class Page:
    """One answer of the search: its models and its ``result_info`` (None when the service sent none)."""

    models: list[ModelSummary]
    info: Mapping[str, Any] | None = None


PageFlow = Generator[dict[str, Any], Page, list[ModelSummary]]


def search_filters(task: str | None, search: str | None, author: str | None) -> dict[str, str]:
    """The filter parameters of a search, checked (strings, stripped; empty ones left out)."""
    out: dict[str, str] = {}
    for key, value in (("task", task), ("search", search), ("author", author)):
        if value is None:
            continue
        if not isinstance(value, str):
            raise BadInput(f"{key} must be a string, got {type(value).__name__}")
        if value.strip():
            out[key] = value.strip()
    return out


def check_per_page(per_page: Any) -> int:
    if isinstance(per_page, bool) or not isinstance(per_page, int) or per_page < 1:
        raise BadInput(f"per_page must be a positive integer, got {per_page!r}")
    return per_page


def _int(info: Mapping[str, Any] | None, key: str) -> int | None:
    value = info.get(key) if info is not None else None
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def search_pages(filters: Mapping[str, str], per_page: int) -> PageFlow:
    """Every model the search lists: ask for page 1, 2, ... until the listing ends.

    It ends on an empty page (the SDK's rule), once ``result_info.total_count`` models have come, or on
    a page shorter than the ``result_info.per_page`` the service says it used. Without ``result_info``
    a short page is not taken as the end (the service may cap ``per_page``): the next page is asked for.
    A page that repeats only models already seen means the server ignores ``page``:
    :class:`~workersai.errors.ResponseFormatError` rather than a loop.
    """
    found: list[ModelSummary] = []
    seen: set[str] = set()
    for number in range(1, MAX_PAGES + 1):
        page = yield {**filters, "page": number, "per_page": per_page}
        if not page.models:
            return found
        new = [m for m in page.models if m.name not in seen]
        if not new:
            raise ResponseFormatError(f"models search page {number} repeats models of earlier pages")
        found.extend(new)
        seen.update(m.name for m in new)
        total, size = _int(page.info, "total_count"), _int(page.info, "per_page")
        if (total is not None and len(found) >= total) or (size is not None and len(page.models) < size):
            return found
    raise ResponseFormatError(f"models search did not end within {MAX_PAGES} pages")


def parse_model(entry: Any) -> ModelSummary:
    """One search entry (``{id, source, name, description, task: {id, name, description}, tags,
    properties: [{property_id, value}]}``) as a :class:`ModelSummary`."""
    if not isinstance(entry, dict) or not isinstance(entry.get("name"), str) or not entry["name"]:
        raise ResponseFormatError("models search entry has no name")
    task = entry.get("task")
    task_name = task.get("name") if isinstance(task, dict) else task
    properties: dict[str, Any] = {}
    for prop in entry.get("properties") or []:
        if isinstance(prop, dict) and isinstance(prop.get("property_id"), str):
            properties[prop["property_id"]] = prop.get("value")
    source = entry.get("source")
    tags = entry.get("tags")
    return ModelSummary(
        name=entry["name"],
        id=str(entry.get("id") or ""),
        description=str(entry.get("description") or ""),
        task=task_name if isinstance(task_name, str) else None,
        source=int(source) if isinstance(source, (int, float)) and not isinstance(source, bool) else None,
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        properties=properties,
        raw=entry,
    )


def read_page(response: httpx.Response) -> Page:
    """The models and ``result_info`` of one search answer."""
    result = unwrap_envelope(response)
    if not isinstance(result, list):
        raise ResponseFormatError("models search result is not a list of models")
    body = jsonlib.loads(response.content)
    info = body.get("result_info") if isinstance(body, dict) else None
    return Page([parse_model(m) for m in result], info if isinstance(info, dict) else None)


def read_schema(model: str, response: httpx.Response) -> ModelSchema:
    """``result: {input, output}`` of a schema answer."""
    result = unwrap_envelope(response)
    if (
        not isinstance(result, dict)
        or not isinstance(result.get("input"), dict)
        or not isinstance(result.get("output"), dict)
    ):
        raise ResponseFormatError("model schema result is not {input, output} JSON schemas")
    return ModelSchema(model=model, input=result["input"], output=result["output"])


class CatalogCache:
    """What this client has read of the live catalog: listings by filters, schemas by model.

    Filled after a successful read; two threads asking for the same thing at once may both read it
    (the answer is the same), never see a half-filled entry."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._listings: dict[tuple[tuple[str, str], ...], tuple[ModelSummary, ...]] = {}
        self._schemas: dict[str, ModelSchema] = {}

    @staticmethod
    def key(filters: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(filters.items()))

    def listing(self, filters: Mapping[str, str]) -> list[ModelSummary] | None:
        with self._lock:
            found = self._listings.get(self.key(filters))
        return list(found) if found is not None else None

    def keep_listing(self, filters: Mapping[str, str], models: list[ModelSummary]) -> list[ModelSummary]:
        with self._lock:
            self._listings[self.key(filters)] = tuple(models)
        return list(models)

    def schema(self, model: str) -> ModelSchema | None:
        with self._lock:
            return self._schemas.get(model)

    def keep_schema(self, schema: ModelSchema) -> ModelSchema:
        with self._lock:
            self._schemas[schema.model] = schema
        return schema
