"""Browser Run (Cloudflare's headless Chrome) for LlamaIndex: ``BrowserRunReader``, a reader of web pages
through :attr:`workersai.WorkersAI.browser` (its docstring has the wire facts)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llama_index.core.readers.base import BaseReader
from llama_index.core.schema import Document

from workersai import WorkersAI
from workersai.resources.browser_types import LoadMode, LoadSpec
from workersai.settings import connection


class BrowserRunReader(BaseReader):
    """One Document per URL (``mode="markdown"``, the default; ``"content"``: the HTML; ``"scrape"``:
    the text of ``elements``), or one per page a crawl from each URL reaches (``mode="crawl"``).
    ``metadata``: ``source`` (the page's URL), ``mode``, and for crawled pages ``title``, ``status_code``
    and ``crawl_seed``; a page that cannot be loaded raises :class:`~workersai.errors.PageLoadError`.

    .. code-block:: python

        from llamaindex_workersai import BrowserRunReader

        documents = BrowserRunReader(client=client).load_data(["https://example.com/"])

    Pass ``client=`` (a :class:`~workersai.WorkersAI`) or connection settings (``account_id``,
    ``api_token``, ``base_url``, ...), as the other classes take them."""

    def __init__(
        self,
        *,
        mode: LoadMode = "markdown",
        options: Mapping[str, Any] | None = None,
        elements: Sequence[str] = ("body",),
        crawl_limit: int | None = None,
        crawl_depth: int | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = 300.0,
        client: WorkersAI | None = None,
        **settings: Any,
    ) -> None:
        self.spec = LoadSpec(mode, options, tuple(elements), crawl_limit, crawl_depth, poll_interval, timeout)
        self.client = connection(self, client, settings, "BrowserRunReader")

    @staticmethod
    def _urls(urls: str | Sequence[str]) -> list[str]:
        return [urls] if isinstance(urls, str) else list(urls)

    def lazy_load_data(self, urls: str | Sequence[str]) -> Iterable[Document]:
        browser = self.client.browser
        for url in self._urls(urls):
            for text, metadata in self.spec.load(browser, url):
                yield Document(text=text, metadata=metadata)

    async def aload_data(self, urls: str | Sequence[str]) -> list[Document]:
        browser = self.client.browser
        documents = []
        for url in self._urls(urls):
            documents += [
                Document(text=text, metadata=meta) for text, meta in await self.spec.aload(browser, url)
            ]
        return documents

    async def alazy_load_data(self, urls: str | Sequence[str]) -> Iterable[Document]:
        return await self.aload_data(urls)

    def load_data(self, urls: str | Sequence[str]) -> list[Document]:
        return list(self.lazy_load_data(urls))
