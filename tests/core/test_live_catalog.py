"""The catalog paging flow fed by hand (no HTTP): when a listing ends, and entries read as the
service writes them."""

from __future__ import annotations

from typing import Any

import pytest

from workersai import ResponseFormatError, flows
from workersai.live_catalog import Page, PageFlow, parse_model, search_pages
from workersai.types import ModelSummary


def summaries(*names: str) -> list[ModelSummary]:
    return [ModelSummary(name=f"@cf/a/{n}") for n in names]


def drive(flow: PageFlow, pages: list[Page]) -> tuple[list[ModelSummary], list[dict[str, Any]]]:
    asked: list[dict[str, Any]] = []

    def fetch(query: dict[str, Any]) -> Page:
        asked.append(query)
        return pages[len(asked) - 1]

    return flows.drive(flow, fetch), asked


def test_without_result_info_a_short_page_is_not_the_end_an_empty_one_is() -> None:
    pages = [Page(summaries("a", "b")), Page(summaries("c")), Page([])]  # the server capped per_page at 2
    found, asked = drive(search_pages({"task": "Text Generation"}, per_page=3), pages)
    assert [m.name for m in found] == ["@cf/a/a", "@cf/a/b", "@cf/a/c"]
    assert asked == [{"task": "Text Generation", "page": p, "per_page": 3} for p in (1, 2, 3)]


def test_result_info_ends_the_listing_without_an_empty_request() -> None:
    by_total = [Page(summaries("a", "b"), {"total_count": 3}), Page(summaries("c"), {"total_count": 3})]
    found, asked = drive(search_pages({}, per_page=2), by_total)
    assert len(found) == 3 and len(asked) == 2
    by_size = [Page(summaries("a", "b"), {"per_page": 2}), Page(summaries("c"), {"per_page": 2})]
    found, asked = drive(search_pages({}, per_page=2), by_size)
    assert len(found) == 3 and len(asked) == 2


def test_a_server_that_ignores_page_is_an_error_not_a_loop() -> None:
    pages = [Page(summaries("a", "b")), Page(summaries("a", "b"))]
    with pytest.raises(ResponseFormatError, match="repeats"):
        drive(search_pages({}, per_page=2), pages)


def test_entries_read_as_the_service_writes_them() -> None:
    entry = {
        "id": "86b3e51a-4b05-43fa-a403-0f27821919d2",
        "source": 1,
        "name": "@cf/zai-org/glm-4.7-flash",
        "description": "fast multilingual model",
        "task": {"id": "c329a1f9", "name": "Text Generation", "description": "..."},
        "tags": [],
        "properties": [
            {"property_id": "context_window", "value": "131072"},
            {
                "property_id": "price",
                "value": [{"unit": "per M input tokens", "price": 0.06, "currency": "USD"}],
            },
            {"property_id": "function_calling", "value": "true"},
        ],
    }
    model = parse_model(entry)
    assert (model.task, model.author, model.context_window, model.function_calling) == (
        "Text Generation",
        "zai-org",
        131072,
        True,
    )
    assert model.properties["price"][0]["price"] == 0.06 and model.raw == entry
    bare = parse_model(
        {"name": "@cf/x/bare", "properties": [{"property_id": "context_window", "value": 8000}]}
    )
    assert (bare.context_window, bare.function_calling, bare.task) == (8000, False, None)
    with pytest.raises(ResponseFormatError):
        parse_model({"description": "no name"})
