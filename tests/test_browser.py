"""Browser Run (``client.browser``) against the emulator's real headless Chromium, over HTTP, sync and
async; and the checks made before any request. Tests that need the browser take the ``site`` fixture
(a local web site; marked ``browser``, skipped without Chromium)."""

from __future__ import annotations

import asyncio
import logging
import socket

import httpx
import pytest

from tests.web_pages import Site
from workersai import (
    BadInput,
    CrawlJob,
    CrawlRecord,
    CrawlTimeout,
    PageLoadError,
    ScrapeResult,
    ServerError,
    Snapshot,
    WorkersAI,
)
from workersai.flows import Sleep, drive
from workersai.local import LocalEmulator
from workersai.resources.browser_types import crawl_wait


def test_quick_actions_render_the_page_in_a_real_browser(client: WorkersAI, site: Site) -> None:
    browser = client.browser
    markdown = browser.markdown(site.url())
    assert markdown.startswith("# Welcome")
    assert "Written by a script." in markdown  # the page's script ran: a browser, not an HTML fetch
    assert 'id="js"' in browser.content(site.url())
    assert browser.links(site.url()) == [site.url("about.html"), "https://example.com/elsewhere"]
    assert browser.links(site.url(), exclude_external=True) == [site.url("about.html")]
    [heading, anchors] = browser.scrape(site.url(), ["h1", "a"])
    assert isinstance(heading, ScrapeResult) and heading.texts == ["Welcome"]
    assert heading.results[0].width > 0 and heading.results[0].height > 0  # the element's real box
    assert anchors.results[0].attributes == {"href": "/about.html"}
    cookies = [{"name": "session", "value": "abc", "url": site.base}]
    assert browser.markdown(site.url("cookie.html"), options={"cookies": cookies}) == "session=abc"
    assert browser.screenshot(site.url()).startswith(b"\x89PNG")
    assert browser.pdf(html="<h1>Invoice</h1>").startswith(b"%PDF")
    snap = browser.snapshot(site.url("about.html"), formats=["markdown", "screenshot"])
    assert isinstance(snap, Snapshot) and snap.markdown == "## About us\n\nWe test."
    assert snap.screenshot is not None and snap.screenshot.startswith(b"\x89PNG")
    assert snap.content is None and snap.meta == {"status": 200, "title": "About"}


def test_async_twins(client: WorkersAI, site: Site) -> None:
    async def go() -> None:
        browser = client.browser
        markdown, links, scraped, shot = await asyncio.gather(
            browser.amarkdown(site.url("about.html")),
            browser.alinks(site.url()),
            browser.ascrape(site.url(), ["#js"]),
            browser.ascreenshot(html="<p>hi</p>", screenshot_options={"type": "jpeg"}),
        )
        assert markdown == "## About us\n\nWe test."
        assert site.url("about.html") in links
        assert scraped[0].texts == ["Written by a script."]
        assert shot.startswith(b"\xff\xd8")  # JPEG
        assert "<h1>Welcome</h1>" in await browser.acontent(site.url())
        assert (await browser.apdf(site.url())).startswith(b"%PDF")
        snap = await browser.asnapshot(site.url())  # content and a screenshot by default
        assert snap.content is not None and snap.screenshot is not None and snap.markdown is None

    asyncio.run(go())


def test_json_extracts_from_the_page_with_the_local_generator(client: WorkersAI, site: Site) -> None:
    schema = {"type": "object", "properties": {"stores": {"type": "string"}}, "required": ["stores"]}
    answer = client.browser.json(site.url(), prompt="What does Vectorize store?", response_format=schema)
    assert isinstance(answer, dict) and isinstance(answer["stores"], str)


def test_crawl_is_a_polled_job_sync_and_async(client: WorkersAI, site: Site) -> None:
    records = client.browser.crawl(site.url(), formats=["markdown", "html"], poll_interval=0.05)
    done = {r.url: r for r in records if r.status == "completed"}
    assert set(done) == {site.url(), site.url("about.html")}
    about = done[site.url("about.html")]
    assert isinstance(about, CrawlRecord) and about.title == "About" and about.metadata["status"] == 200
    assert about.markdown == "## About us\n\nWe test." and about.html is not None
    assert [r.status for r in records if r.url == "https://example.com/elsewhere"] == ["skipped"]

    async def go() -> None:
        job_id = await client.browser.astart_crawl(site.url(), limit=1)
        job = await client.browser.await_crawl(job_id, poll_interval=0.05)
        assert job.done and job.status == "completed" and job.finished == 1
        [record] = [r for r in await client.browser.acrawl_records(job_id) if r.status == "completed"]
        assert record.url == site.url() and record.markdown is None and record.html is not None

    asyncio.run(go())


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_page_the_emulator_cannot_reach_is_a_typed_error_naming_it(client: WorkersAI, site: Site) -> None:
    with pytest.raises(PageLoadError) as remote:
        client.browser.markdown("https://example.com/")
    assert remote.value.url == "https://example.com/" and remote.value.status == 422
    assert remote.value.code == 5010 and "https://example.com/" in str(remote.value)
    assert remote.value.attempts == 1  # not retried: the same page fails the same way
    refused = f"http://127.0.0.1:{_closed_port()}/"
    with pytest.raises(PageLoadError, match="ERR_CONNECTION_REFUSED") as local:
        asyncio.run(client.browser.alinks(refused))
    assert local.value.code == 5008 and refused in str(local.value)
    with pytest.raises(PageLoadError, match=r"example\.com"):
        client.browser.start_crawl("https://example.com/")


def test_bad_input_is_refused_before_any_request() -> None:
    browser = WorkersAI(account_id="0" * 32, api_token="t", base_url="http://127.0.0.1:9").browser
    with pytest.raises(BadInput, match="exactly one of url= or html="):
        browser.markdown("http://127.0.0.1/", html="<p>x</p>")
    with pytest.raises(BadInput, match="at least two formats"):
        browser.snapshot("http://127.0.0.1/", formats=["markdown"])
    with pytest.raises(BadInput, match="prompt= or response_format="):
        browser.json("http://127.0.0.1/")
    with pytest.raises(BadInput, match="1 to 100,000"):
        browser.start_crawl("http://127.0.0.1/", limit=0)


def test_options_the_emulator_cannot_honour_are_refused_naming_them(client: WorkersAI) -> None:
    with pytest.raises(BadInput, match="custom_ai") as refused:
        client.browser.json("http://127.0.0.1/", prompt="x", options={"custom_ai": [{"model": "m"}]})
    assert refused.value.status == 400


def test_without_a_browser_start_up_says_so_and_every_route_answers_503(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, fast_retry: object
) -> None:
    monkeypatch.setenv("WORKERSAI_LOCAL_CHROMIUM", "/nonexistent/chromium")
    with caplog.at_level(logging.WARNING, logger="workersai.local"), LocalEmulator() as emu:
        assert "no Chromium at /nonexistent/chromium" in caplog.text
        with emu.client(max_retries=0) as c, pytest.raises(ServerError, match="No browser available") as err:
            c.browser.markdown("http://127.0.0.1/")
    assert err.value.status == 503


def test_a_crawl_still_running_when_the_wait_ends_raises_naming_its_job() -> None:
    times = iter([0.0, 1.0, 2.5])  # started, first poll, second poll: past the 3 s with the next sleep
    polls: list[object] = []

    def step(need: object) -> object:
        polls.append(need)
        return None if isinstance(need, Sleep) else CrawlJob(id="job-1", status="running", finished=4)

    with pytest.raises(CrawlTimeout, match="crawl job-1 still running after 3s") as err:
        drive(crawl_wait(1.0, 3.0, clock=lambda: next(times)), step)
    assert err.value.job_id == "job-1" and isinstance(err.value, TimeoutError)
    assert polls == [{"limit": 1}, Sleep(1.0), {"limit": 1}]


def test_what_each_action_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    """The crawl's start is sent once (a retried start could start two jobs); ``pdf_options`` and
    ``screenshot_options`` go in the body under the service's names."""
    client = WorkersAI(account_id="0" * 32, api_token="t", base_url="http://127.0.0.1:9")
    sent: list[dict] = []

    def request(method: str, url: str, **kwargs: object) -> httpx.Response:
        sent.append(kwargs)
        if url.endswith("/crawl"):
            return httpx.Response(
                200, json={"success": True, "result": "job-1", "errors": [], "messages": []}
            )
        return httpx.Response(200, content=b"%PDF", headers={"content-type": "application/pdf"})

    monkeypatch.setattr(client.transport, "request", request)
    assert client.browser.start_crawl("http://127.0.0.1/") == "job-1"
    assert sent[-1]["retry"] == "unsent"
    assert client.browser.pdf("http://127.0.0.1/", pdf_options={"format": "a4"}) == b"%PDF"
    assert sent[-1]["json"] == {"url": "http://127.0.0.1/", "pdfOptions": {"format": "a4"}}
    client.browser.screenshot(html="<p>x</p>", screenshot_options={"type": "jpeg"})
    assert sent[-1]["json"] == {"html": "<p>x</p>", "screenshotOptions": {"type": "jpeg"}}
    assert "retry" not in sent[-1]
