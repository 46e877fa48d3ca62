"""Browser Run on the binding path (``WorkersAI(browser_binding=env.BROWSER)``) in plain CPython: each
Quick Action becomes ``env.BROWSER.quickAction(action, params)``, whose ``Response`` is read as the REST
answer is; a crawl and sync calls are refused. The stand-in answers as the Python Workers ``Response``
wrapper does (``status``, ``headers``, ``bytes()``: langchain-cloudflare 0.4.3's loaders.py)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from workersai import BindingUnsupported, PageLoadError, WorkersAI


class FakeResponse:
    def __init__(self, status: int, body: bytes, kind: str = "application/json") -> None:
        self.status, self._body, self.headers = status, body, {"content-type": kind}

    async def bytes(self) -> bytes:
        return self._body


class FakeBrowser:
    def __init__(self, answers: list[FakeResponse]) -> None:
        self.answers = answers
        self.calls: list[tuple[str, Any]] = []

    async def quickAction(self, action: str, params: Any) -> FakeResponse:
        self.calls.append((action, params))
        return self.answers.pop(0)


def envelope(result: Any) -> FakeResponse:
    return FakeResponse(200, json.dumps({"success": True, "errors": [], "result": result}).encode())


def test_quick_actions_go_through_quick_action() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    failed = {"success": False, "errors": [{"code": 5008, "message": "net::ERR_CONNECTION_REFUSED"}]}
    browser = FakeBrowser(
        [
            envelope("# Hello"),
            FakeResponse(200, png, "image/png"),
            envelope([{"selector": "h1", "results": [{"text": "Hello", "html": "Hello"}]}]),
            FakeResponse(422, json.dumps(failed).encode()),
        ]
    )
    client = WorkersAI(browser_binding=browser)

    async def go() -> None:
        assert await client.browser.amarkdown("https://example.com/") == "# Hello"
        assert await client.browser.ascreenshot(html="<p>x</p>") == png
        [h1] = await client.browser.ascrape("https://example.com/", ["h1"])
        assert h1.texts == ["Hello"]
        with pytest.raises(PageLoadError, match="ERR_CONNECTION_REFUSED") as err:
            await client.browser.alinks("https://example.com/")
        assert err.value.code == 5008 and err.value.url == "https://example.com/"

    asyncio.run(go())
    assert browser.calls == [
        ("markdown", {"url": "https://example.com/"}),
        ("screenshot", {"html": "<p>x</p>"}),
        ("scrape", {"url": "https://example.com/", "elements": [{"selector": "h1"}]}),
        ("links", {"url": "https://example.com/"}),
    ]


def test_what_the_binding_cannot_do_is_refused_naming_why() -> None:
    client = WorkersAI(browser_binding=FakeBrowser([]))
    with pytest.raises(BindingUnsupported, match="REST API only"):
        asyncio.run(client.browser.astart_crawl("https://example.com/"))
    with pytest.raises(BindingUnsupported, match="async only"):
        client.browser.markdown("https://example.com/")
    with pytest.raises(BindingUnsupported, match=r"browser_binding=env\.BROWSER"):
        asyncio.run(WorkersAI(binding=object()).browser.amarkdown("https://example.com/"))


class JsBuffer:
    """What a JavaScript ``Response``'s ``bytes()`` answers under Pyodide: a ``JsProxy`` of a
    ``Uint8Array``, copied whole by ``to_bytes()``; iterating it crosses the FFI once a byte."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def to_bytes(self) -> bytes:
        return self.data

    def __iter__(self) -> Any:
        raise AssertionError("a JS buffer read byte by byte")


class JsResponse:
    """A JavaScript ``Response`` as Pyodide hands it over: ``bytes()`` answers a ``Uint8Array``."""

    status, headers = 200, {"content-type": "application/pdf"}

    def __init__(self, data: bytes) -> None:
        self.data = data

    async def bytes(self) -> JsBuffer:
        return JsBuffer(self.data)


def test_a_javascript_response_body_is_copied_whole() -> None:
    pdf = b"%PDF-1.7 " + bytes(range(256)) * 64
    client = WorkersAI(browser_binding=FakeBrowser([JsResponse(pdf)]))  # type: ignore[list-item]
    assert asyncio.run(client.browser.apdf(html="<h1>Invoice</h1>")) == pdf
