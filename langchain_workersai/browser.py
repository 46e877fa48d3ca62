"""Browser Run (Cloudflare's headless Chrome) for LangChain: ``BrowserRunLoader``, a document loader, and
``BrowserRunTool``, an agent tool. Both call :attr:`workersai.WorkersAI.browser` (its docstring has the
wire facts); a page the service cannot load raises :class:`~workersai.errors.PageLoadError` naming it."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import Any, Literal

from langchain_core.document_loaders import BaseLoader
from langchain_core.documents import Document
from langchain_core.tools import BaseTool, ToolException
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr

from workersai import PageLoadError, WorkersAI
from workersai.resources.browser_types import LoadMode, LoadSpec
from workersai.settings import ClientSettings, connection, owned_by


class BrowserRunLoader(BaseLoader):
    """One Document per URL (``mode="markdown"``, the default; ``"content"``: the HTML; ``"scrape"``:
    the text of ``elements``), or one per page a crawl from each URL reaches (``mode="crawl"``, within
    ``crawl_limit`` pages and ``crawl_depth`` links). ``metadata``: ``source`` (the page's URL), ``mode``,
    and for crawled pages ``title``, ``status_code`` and ``crawl_seed``. ``options`` are Browser Run's
    other parameters as its docs name them (``gotoOptions``, ``viewport``, ``waitForSelector``, ...).

    .. code-block:: python

        from langchain_workersai import BrowserRunLoader

        docs = BrowserRunLoader(["https://example.com/"]).load()

    Pass ``client=`` (a :class:`~workersai.WorkersAI`) or connection settings (``account_id``,
    ``api_token``, ``base_url``, ...), as the other classes take them."""

    def __init__(
        self,
        urls: str | Sequence[str],
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
        self.urls = [urls] if isinstance(urls, str) else list(urls)
        self.spec = LoadSpec(mode, options, tuple(elements), crawl_limit, crawl_depth, poll_interval, timeout)
        self.client = connection(self, client, settings, "BrowserRunLoader")

    def lazy_load(self) -> Iterator[Document]:
        browser = self.client.browser
        for url in self.urls:
            for text, metadata in self.spec.load(browser, url):
                yield Document(page_content=text, metadata=metadata)

    async def alazy_load(self) -> AsyncIterator[Document]:
        browser = self.client.browser
        for url in self.urls:
            for text, metadata in await self.spec.aload(browser, url):
                yield Document(page_content=text, metadata=metadata)


class _PageInput(BaseModel):
    url: str = Field(description="The web page's URL (http or https).")


ToolMode = Literal["markdown", "content", "links", "json"]
_DESCRIPTIONS = {
    "markdown": "Read a web page: returns its rendered content as Markdown.",
    "content": "Read a web page: returns its rendered HTML.",
    "links": "List the links on a web page, one URL a line.",
    "json": "Extract structured data from a web page as JSON.",
}


class BrowserRunTool(BaseTool):
    """A web page for an agent, through Browser Run: its Markdown (``mode="markdown"``, the default),
    HTML, links, or JSON extracted with ``prompt`` / ``json_schema`` (``mode="json"``). The tool takes
    one argument, ``url``; a page that cannot be loaded raises
    :class:`~workersai.errors.PageLoadError` (set ``handle_tool_error=True`` to hand its message to the
    agent instead).

    .. code-block:: python

        from langchain_workersai import BrowserRunTool

        tool = BrowserRunTool(client=client)
        tool.invoke({"url": "https://example.com/"})
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    name: str = "browser_run"
    description: str = ""
    args_schema: type[BaseModel] = _PageInput
    mode: ToolMode = "markdown"
    prompt: str | None = None
    json_schema: dict[str, Any] | None = None
    """The JSON schema of ``mode="json"``'s answer (Browser Run's ``response_format``; BaseTool's own
    ``response_format`` is another thing)."""
    options: dict[str, Any] | None = None
    """Browser Run's other parameters, as its docs name them (``gotoOptions``, ``viewport``, ...)."""
    max_chars: int | None = 20_000
    """Longer answers are cut to this many characters (a page can fill a model's context); None: whole."""
    client: WorkersAI | None = Field(default=None, exclude=True)
    """The core client; None: one built from the environment (``CLOUDFLARE_*``)."""
    _built: WorkersAI | None = PrivateAttr(default=None)

    def model_post_init(self, context: Any) -> None:
        if not self.description:
            self.description = _DESCRIPTIONS[self.mode]
        if self.mode != "json" and (self.prompt is not None or self.json_schema is not None):
            raise ValueError("prompt and json_schema are for mode='json'")

    def _client(self) -> WorkersAI:
        if self.client is not None:
            return self.client
        if self._built is None:
            self._built = owned_by(self, ClientSettings().build_client())
        return self._built

    def _request(self, url: str) -> dict[str, Any]:
        request: dict[str, Any] = {"options": self.options}
        if self.mode == "json":
            request.update(prompt=self.prompt, response_format=self.json_schema)
            if self.prompt is None and self.json_schema is None:
                request["prompt"] = "Extract the main facts of the page."
        return request

    def _text(self, answer: Any) -> str:
        if self.mode == "links":
            text = "\n".join(answer)
        elif self.mode == "json":
            text = json.dumps(answer, ensure_ascii=False)
        else:
            text = str(answer)
        return text if self.max_chars is None else text[: self.max_chars]

    def _handled(self, exc: PageLoadError) -> Exception:
        """With ``handle_tool_error`` set, a page that failed as a ``ToolException`` (its message goes to
        the agent); otherwise the typed error as it is."""
        return ToolException(str(exc)) if self.handle_tool_error else exc

    def _run(self, url: str, **kwargs: Any) -> str:
        try:
            return self._text(getattr(self._client().browser, self.mode)(url, **self._request(url)))
        except PageLoadError as exc:
            raise self._handled(exc) from exc

    async def _arun(self, url: str, **kwargs: Any) -> str:
        call = getattr(self._client().browser, "a" + self.mode)
        try:
            return self._text(await call(url, **self._request(url)))
        except PageLoadError as exc:
            raise self._handled(exc) from exc
