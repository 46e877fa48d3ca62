"""``BrowserRunLoader`` and ``BrowserRunTool`` against the emulator's real browser, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from langchain_core.document_loaders import BaseLoader
from langchain_core.tools import BaseTool

from langchain_workersai import BrowserRunLoader, BrowserRunTool
from tests.web_pages import Site
from workersai import PageLoadError, WorkersAI


def test_loader_gives_one_document_per_url_with_metadata(client: WorkersAI, site: Site) -> None:
    loader = BrowserRunLoader([site.url(), site.url("about.html")], client=client)
    assert isinstance(loader, BaseLoader)
    docs = list(loader.lazy_load())
    assert [d.metadata for d in docs] == [
        {"source": site.url(), "mode": "markdown"},
        {"source": site.url("about.html"), "mode": "markdown"},
    ]
    assert docs[1].page_content == "## About us\n\nWe test."
    scrape = BrowserRunLoader(site.url(), mode="scrape", elements=["h1"], client=client)
    [scraped] = asyncio.run(scrape.aload())
    assert scraped.page_content == "Welcome" and scraped.metadata["selectors"] == ["h1"]
    crawl = BrowserRunLoader(site.url(), mode="crawl", poll_interval=0.05, client=client)
    crawled = asyncio.run(crawl.aload())
    assert {d.metadata["source"]: d.metadata["title"] for d in crawled} == {
        site.url(): "Home",
        site.url("about.html"): "About",
    }
    assert all(d.metadata["crawl_seed"] == site.url() for d in crawled)


def test_tool_reads_a_page_for_an_agent(client: WorkersAI, site: Site) -> None:
    tool = BrowserRunTool(client=client)
    assert isinstance(tool, BaseTool) and tool.name == "browser_run"
    assert set(tool.tool_call_schema.model_json_schema()["properties"]) == {"url"}
    assert tool.invoke({"url": site.url("about.html")}) == "## About us\n\nWe test."
    links = BrowserRunTool(mode="links", client=client)
    assert asyncio.run(links.ainvoke({"url": site.url()})).splitlines()[0] == site.url("about.html")
    with pytest.raises(PageLoadError, match=r"example\.com"):
        tool.invoke({"url": "https://example.com/"})
    kept = BrowserRunTool(client=client, handle_tool_error=True).invoke({"url": "https://example.com/"})
    assert "ERR_BLOCKED_BY_ADMINISTRATOR" in kept
    with pytest.raises(ValueError, match="mode='json'"):
        BrowserRunTool(prompt="x", client=client)
