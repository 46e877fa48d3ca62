"""Browser Run's answers as typed values (:class:`ScrapeResult`, :class:`Snapshot`, :class:`CrawlJob`,
:class:`CrawlRecord`), its request bodies and the crawl's polling and paging flows; the calls are in
:mod:`workersai.resources.browser`, whose docstring gives the wire facts and their sources."""

from __future__ import annotations

import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ..errors import BadInput, ResponseFormatError, WorkersAIError
from ..flows import Sleep

CRAWL_DONE = (
    "completed",
    "errored",
    "cancelled_by_user",
    "cancelled_due_to_timeout",
    "cancelled_due_to_limits",
)
"""A crawl job's statuses once it has stopped (crawl-endpoint.mdx)."""
SNAPSHOT_FORMATS = ("content", "screenshot", "markdown", "accessibilityTree")
CrawlFormat = Literal["html", "markdown", "json"]


class CrawlTimeout(WorkersAIError, TimeoutError):
    """A crawl job was still running when the time allowed to wait for it ran out. The job goes on:
    ``job_id`` reads it later (``get_crawl``, ``crawl_records``) or cancels it (``cancel_crawl``)."""

    job_id: str = ""


@dataclass(frozen=True)
class ScrapedElement:
    """One element a ``/scrape`` selector matched: its text, inner HTML, attributes and box."""

    text: str
    html: str
    attributes: dict[str, str] = field(default_factory=dict)
    height: float = 0.0
    width: float = 0.0
    top: float = 0.0
    left: float = 0.0

    @classmethod
    def parse(cls, raw: Any) -> ScrapedElement:
        if not isinstance(raw, Mapping):
            raise ResponseFormatError("a scraped element is not an object")
        attributes = {
            str(a.get("name")): str(a.get("value"))
            for a in raw.get("attributes") or []
            if isinstance(a, Mapping)
        }
        box = {k: float(raw.get(k) or 0.0) for k in ("height", "width", "top", "left")}
        return cls(str(raw.get("text") or ""), str(raw.get("html") or ""), attributes, **box)


@dataclass(frozen=True)
class ScrapeResult:
    """What one selector matched."""

    selector: str
    results: list[ScrapedElement]

    @property
    def texts(self) -> list[str]:
        return [e.text for e in self.results]


@dataclass(frozen=True)
class Snapshot:
    """A ``/snapshot``: the formats asked for (None: not asked), the screenshot decoded, and ``meta``
    (``status``, ``title``) when the service sends it."""

    content: str | None = None
    screenshot: bytes | None = None
    markdown: str | None = None
    accessibility_tree: Any = None
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CrawlRecord:
    """One URL of a crawl: its status (``completed``, ``queued``, ``errored``, ``disallowed``,
    ``skipped``, ``cancelled``), the formats asked for, and ``metadata`` (``status``, ``title``, ``url``)."""

    url: str
    status: str
    html: str | None = None
    markdown: str | None = None
    json: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str | None:
        title = self.metadata.get("title")
        return title if isinstance(title, str) else None

    @classmethod
    def parse(cls, raw: Any) -> CrawlRecord:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("url"), str):
            raise ResponseFormatError("a crawl record without a url")
        meta = raw.get("metadata")
        return cls(
            url=raw["url"],
            status=str(raw.get("status") or ""),
            html=raw.get("html") if isinstance(raw.get("html"), str) else None,
            markdown=raw.get("markdown") if isinstance(raw.get("markdown"), str) else None,
            json=raw.get("json"),
            metadata=dict(meta) if isinstance(meta, Mapping) else {},
        )


@dataclass(frozen=True)
class CrawlJob:
    """A crawl job as one ``GET /crawl/{id}`` saw it (``records``: that page of them)."""

    id: str
    status: str
    total: int = 0
    finished: int = 0
    browser_seconds_used: float = 0.0
    records: list[CrawlRecord] = field(default_factory=list)
    cursor: Any = None

    @property
    def done(self) -> bool:
        return self.status in CRAWL_DONE

    @classmethod
    def parse(cls, raw: Any) -> CrawlJob:
        if not isinstance(raw, Mapping) or not isinstance(raw.get("id"), str):
            raise ResponseFormatError("a crawl job without an id")
        records = raw.get("records") or []
        if not isinstance(records, list):
            raise ResponseFormatError("a crawl job's records are not a list")

        def number(key: str) -> float:
            value = raw.get(key)
            return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0

        return cls(
            id=raw["id"],
            status=str(raw.get("status") or ""),
            total=int(number("total")),
            finished=int(number("finished")),
            browser_seconds_used=number("browserSecondsUsed"),
            records=[CrawlRecord.parse(r) for r in records],
            cursor=raw.get("cursor"),
        )


def page_body(url: str | None, html: str | None, options: Mapping[str, Any] | None) -> dict[str, Any]:
    """``url`` or ``html`` (exactly one) with the service's other options (camelCase, as documented:
    ``gotoOptions``, ``viewport``, ``waitForSelector``, ``setExtraHTTPHeaders``, ...)."""
    if (url is None) == (html is None):
        raise BadInput("Browser Run takes exactly one of url= or html=")
    if url is not None and (not isinstance(url, str) or not url.strip()):
        raise BadInput("Browser Run needs a non-empty url")
    body: dict[str, Any] = dict(options or {})
    body["url" if url is not None else "html"] = url if url is not None else html
    return body


def crawl_pages(
    job_id: str, base: Mapping[str, Any]
) -> Generator[dict[str, Any], CrawlJob, list[CrawlRecord]]:
    """Every record of a crawl job, page after page by ``cursor``; ends when a page names no new one."""
    records: list[CrawlRecord] = []
    cursor = None
    for _ in range(10_000):
        query = dict(base)
        if cursor is not None:
            query["cursor"] = cursor
        job = yield query
        records.extend(job.records)
        if job.cursor is None or job.cursor == cursor or not job.records:
            return records
        cursor = job.cursor
    raise ResponseFormatError(f"crawl {job_id}'s results did not end within 10,000 pages")


def crawl_wait(
    poll_interval: float, timeout: float | None, clock: Any = time.monotonic
) -> Generator[dict[str, Any] | Sleep, Any, CrawlJob]:
    """Poll a crawl job (``limit=1``: the status, not the records) until it stops."""
    started = clock()
    while True:
        job: CrawlJob = yield {"limit": 1}
        if job.done:
            return job
        if timeout is not None and clock() - started + poll_interval > timeout:
            error = CrawlTimeout(
                f"crawl {job.id} still {job.status} after {timeout:g}s ({job.finished} pages)"
            )
            error.job_id = job.id
            raise error
        yield Sleep(poll_interval)


LoadMode = Literal["markdown", "content", "scrape", "crawl"]
"""What the document loaders read of a page: its Markdown, its HTML, the text of ``elements``, or every
page a crawl from it reaches."""


@dataclass(frozen=True)
class LoadSpec:
    """How the LangChain loader and the LlamaIndex reader read each URL (one text a page)."""

    mode: LoadMode = "markdown"
    options: Mapping[str, Any] | None = None
    elements: tuple[str, ...] = ("body",)
    crawl_limit: int | None = None
    crawl_depth: int | None = None
    poll_interval: float = 2.0
    timeout: float | None = 300.0

    def __post_init__(self) -> None:
        if self.mode not in ("markdown", "content", "scrape", "crawl"):
            raise BadInput(f"mode {self.mode!r}: markdown, content, scrape or crawl")

    def request(self, url: str) -> dict[str, Any]:
        """The keyword arguments of the :class:`~workersai.resources.browser.Browser` call for ``url``."""
        if self.mode == "crawl":
            return {
                "limit": self.crawl_limit,
                "depth": self.crawl_depth,
                "formats": ("markdown",),
                "options": self.options,
                "poll_interval": self.poll_interval,
                "timeout": self.timeout,
            }
        if self.mode == "scrape":
            return {"elements": self.elements, "options": self.options}
        return {"options": self.options}

    def load(self, browser: Any, url: str) -> list[tuple[str, dict[str, Any]]]:
        """:meth:`pages` of ``url``, read with ``browser`` (:attr:`workersai.WorkersAI.browser`)."""
        return self.pages(url, getattr(browser, self.mode)(url, **self.request(url)))

    async def aload(self, browser: Any, url: str) -> list[tuple[str, dict[str, Any]]]:
        """Async twin of :meth:`load`."""
        return self.pages(url, await getattr(browser, "a" + self.mode)(url, **self.request(url)))

    def pages(self, url: str, answer: Any) -> list[tuple[str, dict[str, Any]]]:
        """``(text, metadata)`` of each page the call for ``url`` answered: one, or a crawl's completed
        pages (``source`` the page's URL, ``title``, ``status_code``, ``crawl_seed``)."""
        if self.mode == "crawl":
            return [
                (
                    record.markdown or record.html or "",
                    {
                        "source": record.url,
                        "mode": "crawl",
                        "title": record.title,
                        "status_code": record.metadata.get("status"),
                        "crawl_seed": url,
                    },
                )
                for record in answer
                if record.status == "completed"
            ]
        if self.mode == "scrape":
            texts = [t for group in answer for t in group.texts if t]
            return [("\n".join(texts), {"source": url, "mode": "scrape", "selectors": list(self.elements)})]
        return [(str(answer), {"source": url, "mode": self.mode})]
