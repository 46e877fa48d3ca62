"""Browser Run (formerly Browser Rendering), Cloudflare's headless Chrome, over its Quick Actions REST API:
``WorkersAI().browser``.

Wire facts (cloudflare/cloudflare-docs, ``src/content/docs/browser-run/quick-actions/``, read 2026-12-07;
the Cloudflare API reference, ``api/resources/browser_rendering/``):

- ``POST /accounts/{a}/browser-rendering/{action}`` with ``url`` or ``html`` and the action's options;
  ``content`` and ``markdown`` answer a string ``result``, ``links`` a list of URLs, ``scrape`` one
  ``{selector, results: [{text, html, attributes: [{name, value}], height, width, top, left}]}`` per
  selector, ``json`` the extracted object (``prompt`` and/or ``response_format``), ``snapshot``
  ``{content, screenshot (base64), markdown, accessibilityTree}`` for its ``formats`` (at least two);
  ``screenshot`` and ``pdf`` answer the image or document itself.
- ``/crawl`` is a job: ``POST`` answers its id, ``GET /crawl/{id}`` its ``status`` (``running`` until one
  of ``completed``, ``errored``, ``cancelled_*``), ``total``, ``finished``, ``browserSecondsUsed`` and
  ``records`` (``url``, ``status``, ``html`` / ``markdown`` / ``json``, ``metadata``), paged by
  ``cursor`` (and ``limit``, ``status``); ``DELETE`` cancels it. REST only (no ``quickAction()`` for it).
- Errors (``reference/errors.mdx``): 400 bad request, 422 when the target page fails (Chrome's ``net::``
  errors, internal codes 5000-5011; raised here as :class:`~workersai.errors.PageLoadError` naming the
  URL), 429 rate limits, 503 "No browser available" (retried as any 5xx).

The path is ``browser-rendering`` as in the API reference and langchain-cloudflare 0.4.3; the docs'
newer examples use ``browser-run``, which the emulator also serves. Requests go through the client's
transport: the same retries, deadline and global API budget as every other call (Browser Run's own limits
are per account and not in the model catalog, so no per-model pacing applies).

Binding path: ``WorkersAI(browser_binding=env.BROWSER)`` sends the Quick Actions through the Worker's
``env.BROWSER.quickAction(action, params)`` (:mod:`workersai.binding`), async only, as the other
bindings; ``/crawl`` has no Quick Action (quick-actions/index.mdx: REST only) and raises
:class:`~workersai.errors.BindingUnsupported` there.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import BadInput, BindingUnsupported, PageLoadError, ResponseFormatError, WorkersAIError
from ..flows import Sleep, adrive, drive
from ..paths import path
from ..transport import unwrap_envelope
from .browser_types import (
    SNAPSHOT_FORMATS,
    CrawlFormat,
    CrawlJob,
    CrawlRecord,
    ScrapedElement,
    ScrapeResult,
    Snapshot,
    crawl_pages,
    crawl_wait,
    page_body,
)

if TYPE_CHECKING:
    import httpx

    from ..client import WorkersAI

BROWSER_PATH = "browser-rendering"


class Browser:
    """Browser Run's Quick Actions on the parent client's account, connection pool and retries.

    Each action takes ``url=`` or ``html=`` and ``options``: the service's other parameters as its docs
    name them (``gotoOptions``, ``viewport``, ``waitForSelector``, ``rejectResourceTypes``, ...). Every
    method has an async twin (``a`` + name). A page the service cannot load raises
    :class:`~workersai.errors.PageLoadError` naming the URL."""

    def __init__(self, client: WorkersAI) -> None:
        self.client = client

    def _url(self, action: str, job_id: str | None = None) -> str:
        bindings = self.client.bindings
        if bindings is not None and (action == "crawl" or bindings.browser is None):
            raise BindingUnsupported(
                "Browser Run's crawl has no Quick Action (the REST API only): use a REST client for it"
                if action == "crawl"
                else "no Browser Run binding: pass browser_binding=env.BROWSER (or use a REST client)"
            )
        if job_id is None:
            return self.client.account_url(f"{BROWSER_PATH}/{action}")
        return self.client.account_url(path(f"{BROWSER_PATH}/crawl/{{crawl_job}}", crawl_job=job_id))

    @staticmethod
    def _typed(exc: WorkersAIError, body: Mapping[str, Any]) -> WorkersAIError:
        """A 422 (the target page failed) as :class:`PageLoadError` naming the page; else as it was
        (Browser Run's internal codes 5006/5007 are not Workers AI's, so the status decides)."""
        if exc.status != 422:
            return exc
        where = body.get("url") or "the html= page"
        message = exc.message if str(where) in exc.message else f"{exc.message} (page: {where})"
        error = PageLoadError(message, status=exc.status, code=exc.code, errors=exc.errors)
        error.url = body.get("url")
        error.attempts = exc.attempts
        return error

    def _send(self, action: str, body: dict[str, Any], **send: Any) -> httpx.Response:
        try:
            return self.client.transport.request("POST", self._url(action), json=body, **send)
        except WorkersAIError as exc:
            raise self._typed(exc, body) from None

    async def _asend(self, action: str, body: dict[str, Any], **send: Any) -> httpx.Response:
        try:
            return await self.client.transport.arequest("POST", self._url(action), json=body, **send)
        except WorkersAIError as exc:
            raise self._typed(exc, body) from None

    def _result(self, body: dict[str, Any], response: httpx.Response) -> Any:
        try:
            return unwrap_envelope(response)
        except WorkersAIError as exc:
            raise self._typed(exc, body) from None

    def _bytes(self, body: dict[str, Any], response: httpx.Response) -> bytes:
        if "json" in response.headers.get("content-type", ""):
            self._result(body, response)  # an envelope where bytes were expected: its error, if any
            raise ResponseFormatError("Browser Run answered JSON where an image or a PDF was expected")
        return response.content

    # -- requests and parsers, shared by the twins --------------------------------------------------
    @staticmethod
    def _string(result: Any, action: str) -> str:
        if not isinstance(result, str):
            raise ResponseFormatError(f"Browser Run /{action} answered {type(result).__name__}, not text")
        return result

    @staticmethod
    def _links(result: Any) -> list[str]:
        if not isinstance(result, list):
            raise ResponseFormatError("Browser Run /links answered something other than a list")
        return [str(u) for u in result]

    @staticmethod
    def _scrape_body(elements: Sequence[str | Mapping[str, Any]]) -> list[dict[str, Any]]:
        items = [{"selector": e} if isinstance(e, str) else dict(e) for e in elements]
        if not items or not all(isinstance(i.get("selector"), str) and i["selector"] for i in items):
            raise BadInput("scrape needs at least one element, each a CSS selector")
        return items

    @staticmethod
    def _scraped(result: Any) -> list[ScrapeResult]:
        if not isinstance(result, list):
            raise ResponseFormatError("Browser Run /scrape answered something other than a list")
        out = []
        for group in result:
            if not isinstance(group, Mapping):
                raise ResponseFormatError("a /scrape result is not an object")
            found = [ScrapedElement.parse(e) for e in group.get("results") or []]
            out.append(ScrapeResult(str(group.get("selector") or ""), found))
        return out

    @staticmethod
    def _json_body(prompt: str | None, response_format: Mapping[str, Any] | None) -> dict[str, Any]:
        if prompt is None and response_format is None:
            raise BadInput("json needs prompt= or response_format= (a JSON schema)")
        body: dict[str, Any] = {}
        if prompt is not None:
            body["prompt"] = prompt
        if response_format is not None:
            fmt = dict(response_format)
            wrapped = fmt.get("type") in ("json_schema", "json_object")
            body["response_format"] = fmt if wrapped else {"type": "json_schema", "json_schema": fmt}
        return body

    @staticmethod
    def _snapshot_body(formats: Sequence[str] | None) -> dict[str, Any]:
        if formats is None:
            return {}
        unknown = sorted(set(formats) - set(SNAPSHOT_FORMATS))
        if unknown or len(set(formats)) < 2:
            raise BadInput(
                f"snapshot takes at least two formats of {', '.join(SNAPSHOT_FORMATS)}"
                + (f" (not {', '.join(unknown)})" if unknown else "; for one, use its own method")
            )
        return {"formats": list(formats)}

    @staticmethod
    def _snapshot(response: httpx.Response, result: Any) -> Snapshot:
        if not isinstance(result, Mapping):
            raise ResponseFormatError("Browser Run /snapshot answered something other than an object")
        shot = result.get("screenshot")
        try:
            meta = response.json().get("meta")
        except ValueError:
            meta = None
        return Snapshot(
            content=result.get("content"),
            screenshot=base64.b64decode(shot) if isinstance(shot, str) else None,
            markdown=result.get("markdown"),
            accessibility_tree=result.get("accessibilityTree"),
            meta=dict(meta) if isinstance(meta, Mapping) else {},
        )

    @staticmethod
    def _crawl_body(
        url: str,
        limit: int | None,
        depth: int | None,
        formats: Sequence[CrawlFormat] | None,
        render: bool | None,
        json_options: Mapping[str, Any] | None,
        options: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        body = page_body(url, None, options)
        for key, value in (("limit", limit), ("depth", depth)):
            if value is not None:
                if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 100_000:
                    raise BadInput(f"crawl {key} must be from 1 to 100,000 (crawl-endpoint's limit)")
                body[key] = value
        if formats is not None:
            if not formats or not set(formats) <= {"html", "markdown", "json"}:
                raise BadInput("crawl formats are html, markdown and json")
            if "json" in formats and not json_options:
                raise BadInput("the crawl's json format needs json_options= (prompt and/or response_format)")
            body["formats"] = list(formats)
        if render is not None:
            body["render"] = render
        if json_options is not None:
            body["jsonOptions"] = dict(json_options)
        return body

    # -- Quick Actions ---------------------------------------------------------------------------------
    def content(
        self, url: str | None = None, *, html: str | None = None, options: Mapping[str, Any] | None = None
    ) -> str:
        """The page's HTML after it rendered (``/content``)."""
        body = page_body(url, html, options)
        return self._string(self._result(body, self._send("content", body)), "content")

    async def acontent(
        self, url: str | None = None, *, html: str | None = None, options: Mapping[str, Any] | None = None
    ) -> str:
        body = page_body(url, html, options)
        return self._string(self._result(body, await self._asend("content", body)), "content")

    def markdown(
        self, url: str | None = None, *, html: str | None = None, options: Mapping[str, Any] | None = None
    ) -> str:
        """The rendered page as Markdown (``/markdown``)."""
        body = page_body(url, html, options)
        return self._string(self._result(body, self._send("markdown", body)), "markdown")

    async def amarkdown(
        self, url: str | None = None, *, html: str | None = None, options: Mapping[str, Any] | None = None
    ) -> str:
        body = page_body(url, html, options)
        return self._string(self._result(body, await self._asend("markdown", body)), "markdown")

    def links(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        visible_only: bool = False,
        exclude_external: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> list[str]:
        """The page's links (``/links``): only visible ones, only the page's own host, when asked."""
        body = self._links_body(url, html, visible_only, exclude_external, options)
        return self._links(self._result(body, self._send("links", body)))

    async def alinks(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        visible_only: bool = False,
        exclude_external: bool = False,
        options: Mapping[str, Any] | None = None,
    ) -> list[str]:
        body = self._links_body(url, html, visible_only, exclude_external, options)
        return self._links(self._result(body, await self._asend("links", body)))

    @staticmethod
    def _links_body(
        url: str | None, html: str | None, visible: bool, internal: bool, options: Mapping[str, Any] | None
    ) -> dict[str, Any]:
        body = page_body(url, html, options)
        if visible:
            body["visibleLinksOnly"] = True
        if internal:
            body["excludeExternalLinks"] = True
        return body

    def scrape(
        self,
        url: str | None = None,
        elements: Sequence[str | Mapping[str, Any]] = ("body",),
        *,
        html: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ScrapeResult]:
        """The elements each CSS selector matches (``/scrape``): one :class:`ScrapeResult` a selector."""
        body = {**page_body(url, html, options), "elements": self._scrape_body(elements)}
        return self._scraped(self._result(body, self._send("scrape", body)))

    async def ascrape(
        self,
        url: str | None = None,
        elements: Sequence[str | Mapping[str, Any]] = ("body",),
        *,
        html: str | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> list[ScrapeResult]:
        body = {**page_body(url, html, options), "elements": self._scrape_body(elements)}
        return self._scraped(self._result(body, await self._asend("scrape", body)))

    def json(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        prompt: str | None = None,
        response_format: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Any:
        """Structured data from the page, extracted by a model (``/json``): ``prompt`` and/or
        ``response_format`` (a JSON schema, bare or as ``{"type": "json_schema", "json_schema": ...}``)."""
        body = {**page_body(url, html, options), **self._json_body(prompt, response_format)}
        return self._result(body, self._send("json", body))

    async def ajson(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        prompt: str | None = None,
        response_format: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Any:
        body = {**page_body(url, html, options), **self._json_body(prompt, response_format)}
        return self._result(body, await self._asend("json", body))

    def screenshot(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        screenshot_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> bytes:
        """The page as an image (``/screenshot``; PNG unless ``screenshot_options={"type": ...}``)."""
        body = self._print_body(url, html, options, "screenshotOptions", screenshot_options)
        return self._bytes(body, self._send("screenshot", body))

    async def ascreenshot(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        screenshot_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> bytes:
        body = self._print_body(url, html, options, "screenshotOptions", screenshot_options)
        return self._bytes(body, await self._asend("screenshot", body))

    @staticmethod
    def _print_body(
        url: str | None,
        html: str | None,
        options: Mapping[str, Any] | None,
        key: str,
        printing: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        """The body of ``/screenshot`` or ``/pdf``: the page, and its ``screenshotOptions`` /
        ``pdfOptions`` when given."""
        body = page_body(url, html, options)
        if printing:
            body[key] = dict(printing)
        return body

    def pdf(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        pdf_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> bytes:
        """The page printed as a PDF (``/pdf``)."""
        body = self._print_body(url, html, options, "pdfOptions", pdf_options)
        return self._bytes(body, self._send("pdf", body))

    async def apdf(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        pdf_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> bytes:
        body = self._print_body(url, html, options, "pdfOptions", pdf_options)
        return self._bytes(body, await self._asend("pdf", body))

    def snapshot(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        formats: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Snapshot:
        """Several formats of the page at once (``/snapshot``; HTML and a screenshot by default)."""
        body = {**page_body(url, html, options), **self._snapshot_body(formats)}
        response = self._send("snapshot", body)
        return self._snapshot(response, self._result(body, response))

    async def asnapshot(
        self,
        url: str | None = None,
        *,
        html: str | None = None,
        formats: Sequence[str] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> Snapshot:
        body = {**page_body(url, html, options), **self._snapshot_body(formats)}
        response = await self._asend("snapshot", body)
        return self._snapshot(response, self._result(body, response))

    # -- crawl: a job, started, polled and read ---------------------------------------------------------
    def start_crawl(
        self,
        url: str,
        *,
        limit: int | None = None,
        depth: int | None = None,
        formats: Sequence[CrawlFormat] | None = None,
        render: bool | None = None,
        json_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        """Start a crawl from ``url`` (``POST /crawl``); returns the job id. Sent once: a retried start
        could start two jobs."""
        body = self._crawl_body(url, limit, depth, formats, render, json_options, options)
        return self._string(self._result(body, self._send("crawl", body, retry="unsent")), "crawl")

    async def astart_crawl(
        self,
        url: str,
        *,
        limit: int | None = None,
        depth: int | None = None,
        formats: Sequence[CrawlFormat] | None = None,
        render: bool | None = None,
        json_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
    ) -> str:
        body = self._crawl_body(url, limit, depth, formats, render, json_options, options)
        return self._string(self._result(body, await self._asend("crawl", body, retry="unsent")), "crawl")

    def get_crawl(self, job_id: str, **query: Any) -> CrawlJob:
        """One read of a job (``GET /crawl/{id}``; ``cursor``, ``limit``, ``status`` as the API takes)."""
        response = self.client.transport.request("GET", self._url("crawl", job_id), params=query or None)
        return CrawlJob.parse(unwrap_envelope(response))

    async def aget_crawl(self, job_id: str, **query: Any) -> CrawlJob:
        response = await self.client.transport.arequest(
            "GET", self._url("crawl", job_id), params=query or None
        )
        return CrawlJob.parse(unwrap_envelope(response))

    def cancel_crawl(self, job_id: str) -> None:
        unwrap_envelope(self.client.transport.request("DELETE", self._url("crawl", job_id)))

    async def acancel_crawl(self, job_id: str) -> None:
        unwrap_envelope(await self.client.transport.arequest("DELETE", self._url("crawl", job_id)))

    def wait_crawl(
        self, job_id: str, *, poll_interval: float = 2.0, timeout: float | None = 300.0
    ) -> CrawlJob:
        """Poll until the job stops (its status; the records are read by :meth:`crawl_records`)."""

        def step(need: Any) -> Any:
            if isinstance(need, Sleep):
                time.sleep(need.seconds)
                return None
            return self.get_crawl(job_id, **need)

        return drive(crawl_wait(poll_interval, timeout), step)

    async def await_crawl(
        self, job_id: str, *, poll_interval: float = 2.0, timeout: float | None = 300.0
    ) -> CrawlJob:
        async def step(need: Any) -> Any:
            if isinstance(need, Sleep):
                await asyncio.sleep(need.seconds)
                return None
            return await self.aget_crawl(job_id, **need)

        return await adrive(crawl_wait(poll_interval, timeout), step)

    def crawl_records(self, job_id: str, *, status: str | None = None) -> list[CrawlRecord]:
        """Every record of a job, all pages (``status``: only records with it)."""
        base = {"status": status} if status else {}
        return drive(crawl_pages(job_id, base), lambda query: self.get_crawl(job_id, **query))

    async def acrawl_records(self, job_id: str, *, status: str | None = None) -> list[CrawlRecord]:
        base = {"status": status} if status else {}

        async def step(query: dict[str, Any]) -> CrawlJob:
            return await self.aget_crawl(job_id, **query)

        return await adrive(crawl_pages(job_id, base), step)

    def crawl(
        self,
        url: str,
        *,
        limit: int | None = None,
        depth: int | None = None,
        formats: Sequence[CrawlFormat] | None = ("markdown",),
        render: bool | None = None,
        json_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = 300.0,
    ) -> list[CrawlRecord]:
        """Start a crawl, wait for it to stop, and return every record (:meth:`start_crawl`,
        :meth:`wait_crawl`, :meth:`crawl_records`). A job still running after ``timeout`` seconds raises
        :class:`~workersai.resources.browser_types.CrawlTimeout` naming it (it keeps running: read or
        cancel it by its ``job_id``)."""
        job_id = self.start_crawl(
            url,
            limit=limit,
            depth=depth,
            formats=formats,
            render=render,
            json_options=json_options,
            options=options,
        )
        self.wait_crawl(job_id, poll_interval=poll_interval, timeout=timeout)
        return self.crawl_records(job_id)

    async def acrawl(
        self,
        url: str,
        *,
        limit: int | None = None,
        depth: int | None = None,
        formats: Sequence[CrawlFormat] | None = ("markdown",),
        render: bool | None = None,
        json_options: Mapping[str, Any] | None = None,
        options: Mapping[str, Any] | None = None,
        poll_interval: float = 2.0,
        timeout: float | None = 300.0,
    ) -> list[CrawlRecord]:
        job_id = await self.astart_crawl(
            url,
            limit=limit,
            depth=depth,
            formats=formats,
            render=render,
            json_options=json_options,
            options=options,
        )
        await self.await_crawl(job_id, poll_interval=poll_interval, timeout=timeout)
        return await self.acrawl_records(job_id)
