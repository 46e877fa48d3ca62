"""The live model catalog (``GET /ai/models/search``, ``/ai/models/schema``), kept per client."""

from __future__ import annotations

from typing import Any

from ..flows import adrive, drive
from ..live_catalog import (
    DEFAULT_PER_PAGE,
    SCHEMA_PATH,
    SEARCH_PATH,
    Page,
    PageFlow,
    check_per_page,
    read_page,
    read_schema,
    search_filters,
    search_pages,
)
from ..types import ModelSchema, ModelSummary
from ..validation import check_model
from .base import ClientBase


class Models(ClientBase):
    """The service's catalog of models: listing and schemas, sync and async."""

    # The live catalog (GET /ai/models/search, /ai/models/schema), read through live_catalog's paging flow;
    # the sync and async twins differ only in the send.
    def _listing(
        self, task: str | None, search: str | None, author: str | None, per_page: int, refresh: bool
    ) -> tuple[dict[str, str], PageFlow, list[ModelSummary] | None]:
        """The filters of a listing, its paging flow, and the listing kept for them (None: read it)."""
        filters = search_filters(task, search, author)
        cached = None if refresh else self._catalog.listing(filters)
        return filters, search_pages(filters, check_per_page(per_page)), cached

    def _kept_schema(self, model: str, refresh: bool) -> ModelSchema | None:
        """``model``'s schema as kept by an earlier call (None: read it); the id checked first."""
        check_model(model, use_catalog=False)
        return None if refresh else self._catalog.schema(model)

    def models(
        self,
        task: str | None = None,
        search: str | None = None,
        author: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        refresh: bool = False,
    ) -> list[ModelSummary]:
        """Every model the service's catalog lists (``GET /ai/models/search``), all pages followed.

        ``task`` is a task name (``"Text Generation"``, ``"Text Embeddings"``, ...), ``search`` matches
        names and descriptions, ``author`` the author (``"meta"``). The answer is kept per client: the
        same filters are read once; ``refresh=True`` reads the service again.
        """
        filters, flow, cached = self._listing(task, search, author, per_page, refresh)
        if cached is not None:
            return cached
        url = self.account_url(SEARCH_PATH)
        found = drive(flow, lambda query: read_page(self.transport.request("GET", url, params=query)))
        return self._catalog.keep_listing(filters, found)

    async def amodels(
        self,
        task: str | None = None,
        search: str | None = None,
        author: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        refresh: bool = False,
    ) -> list[ModelSummary]:
        """Async twin of :meth:`models` (sharing its cache)."""
        filters, flow, cached = self._listing(task, search, author, per_page, refresh)
        if cached is not None:
            return cached
        url = self.account_url(SEARCH_PATH)

        async def fetch(query: dict[str, Any]) -> Page:
            return read_page(await self.transport.arequest("GET", url, params=query))

        return self._catalog.keep_listing(filters, await adrive(flow, fetch))

    def model_schema(self, model: str, *, refresh: bool = False) -> ModelSchema:
        """The input and output JSON schemas of ``model`` (``GET /ai/models/schema``), kept per client."""
        cached = self._kept_schema(model, refresh)
        if cached is not None:
            return cached
        response = self.transport.request("GET", self.account_url(SCHEMA_PATH), params={"model": model})
        return self._catalog.keep_schema(read_schema(model, response))

    async def amodel_schema(self, model: str, *, refresh: bool = False) -> ModelSchema:
        """Async twin of :meth:`model_schema`."""
        cached = self._kept_schema(model, refresh)
        if cached is not None:
            return cached
        response = await self.transport.arequest(
            "GET", self.account_url(SCHEMA_PATH), params={"model": model}
        )
        return self._catalog.keep_schema(read_schema(model, response))
