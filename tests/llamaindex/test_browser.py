"""``BrowserRunReader`` against the emulator's real browser, sync and async."""

from __future__ import annotations

import asyncio

import pytest
from llama_index.core.readers.base import BaseReader

from llamaindex_workersai import BrowserRunReader
from tests.web_pages import Site
from workersai import PageLoadError, WorkersAI


def test_reader_gives_one_document_per_url(client: WorkersAI, site: Site) -> None:
    reader = BrowserRunReader(client=client)
    assert isinstance(reader, BaseReader)
    [doc] = reader.load_data(site.url("about.html"))
    assert doc.text == "## About us\n\nWe test." and doc.metadata == {
        "source": site.url("about.html"),
        "mode": "markdown",
    }
    html = asyncio.run(BrowserRunReader(mode="content", client=client).aload_data([site.url()]))
    assert "<h1>Welcome</h1>" in html[0].text and html[0].metadata["mode"] == "content"
    with pytest.raises(PageLoadError, match=r"example\.com"):
        reader.load_data(["https://example.com/"])
