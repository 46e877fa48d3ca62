"""The emulator's headless browser for Browser Run: Debian's Chromium driven by Playwright.

Why Playwright rather than ``chromium --dump-dom`` / ``--screenshot`` / ``--print-to-pdf`` subprocesses:
``/scrape`` needs each element's box (``getBoundingClientRect``), ``/links`` the links the page's own
scripts made, and ``waitForSelector`` / ``gotoOptions`` a live page; a subprocess gives only the DOM or one
picture. One browser process is started on first use (about 2 s) and kept for the emulator's life: a
page in a fresh context then takes a few hundred milliseconds instead of a whole browser start-up each.
Playwright is given ``executable_path`` (no browser is ever downloaded) and the flags Chromium needs on a
closed network (without them it hangs at start-up reaching Google's services); Playwright gives it a fresh
temporary ``--user-data-dir`` of its own.

Every Playwright call runs on one thread of its own (Playwright's sync API is bound to the thread that
started it); the routes hand it work and await the result. Only pages on 127.0.0.1 / localhost and
``file://`` URLs are loaded: any other request a page makes (an image, a script) is aborted, as nothing
else is reachable here.
"""

from __future__ import annotations

import concurrent.futures
import ipaddress
import logging
import os
import queue
import re
import shutil
import threading
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("workersai.local")

CHROMIUM_ENV = "WORKERSAI_LOCAL_CHROMIUM"
"""The Chromium executable to drive (default ``/usr/bin/chromium``, Debian's ``chromium`` package)."""
DEFAULT_CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}

# Chrome's network errors and Browser Run's internal codes for them
# (developers.cloudflare.com/browser-run/reference/errors/, "Chrome network errors").
_NET_CODES: tuple[tuple[tuple[str, ...], int], ...] = (
    (("ERR_CERT_",), 5000),
    (("ERR_ADDRESS_UNREACHABLE",), 5001),
    (("ERR_ABORTED", "ERR_CONNECTION_TIMED_OUT", "ERR_TIMED_OUT"), 5002),
    (("ERR_TOO_MANY_REDIRECTS",), 5003),
    (("ERR_HTTP2_PROTOCOL_ERROR",), 5004),
    (("ERR_NAME_NOT_RESOLVED", "ERR_DNS_TIMED_OUT"), 5005),
    (("ERR_CONNECTION_CLOSED", "ERR_CONNECTION_RESET", "ERR_TUNNEL_CONNECTION_FAILED"), 5006),
    (("ERR_HTTP_RESPONSE_CODE_FAILURE",), 5007),
    (("ERR_CONNECTION_REFUSED",), 5008),
    (("ERR_INVALID_URL", "ERR_BLOCKED_BY_ADMINISTRATOR", "ERR_FILE"), 5010),
    (("ERR_EMPTY_RESPONSE",), 5011),
)


class PageFailed(Exception):
    """The page could not be loaded or worked on: Browser Run's status, internal code and message."""

    def __init__(self, status: int, code: int | None, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def net_error_code(message: str) -> int:
    """Browser Run's internal code for a ``net::`` error in ``message`` (5009: any other)."""
    for names, code in _NET_CODES:
        if any(f"net::{name}" in message for name in names):
            return code
    return 5009


def is_local(url: str) -> bool:
    """A URL the emulator may load: http(s) on 127.0.0.1 / localhost / ::1, or ``file://``."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return True
    if parts.scheme not in ("http", "https"):
        return False
    host = (parts.hostname or "").lower()
    if host in LOCAL_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def blocked(url: str) -> PageFailed:
    return PageFailed(
        422,
        5010,
        f"net::ERR_BLOCKED_BY_ADMINISTRATOR at {url}: the local emulator loads only pages on "
        "127.0.0.1 or localhost and file:// URLs (nothing else is reachable here)",
    )


def missing_browser() -> str | None:
    """Why no browser can be driven here (None: one can)."""
    executable = os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM)
    if not (os.path.isfile(executable) and os.access(executable, os.X_OK)) and not shutil.which(executable):
        return f"no Chromium at {executable} (apt-get install chromium, or set {CHROMIUM_ENV})"
    try:
        import playwright  # noqa: F401
    except ImportError:
        return "the playwright package is not installed (pip install 'workersai[local,browser]')"
    return None


_SCRAPE_JS = """(selectors) => selectors.map((selector) => ({
  selector,
  results: Array.from(document.querySelectorAll(selector)).map((el) => {
    const box = el.getBoundingClientRect();
    return {
      text: el.innerText ?? el.textContent ?? "",
      html: el.innerHTML,
      attributes: Array.from(el.attributes).map((a) => ({ name: a.name, value: a.value })),
      height: box.height, width: box.width, top: box.top, left: box.left,
    };
  }),
}))"""
_LINKS_JS = """([visibleOnly, internalOnly]) => Array.from(document.querySelectorAll("a[href]"))
  .filter((a) => !visibleOnly || a.getClientRects().length > 0)
  .filter((a) => !internalOnly || a.host === location.host)
  .map((a) => a.href)"""
_CLEAN_BODY_JS = """() => {
  const body = (document.body || document.documentElement).cloneNode(true);
  body.querySelectorAll("script,style,noscript,template").forEach((el) => el.remove());
  return body.innerHTML;
}"""


def to_markdown(html: str) -> str:
    """Markdown of an HTML fragment (markdownify, ATX headings)."""
    try:
        from markdownify import markdownify
    except ImportError as exc:
        raise PageFailed(
            500, 2000, "Internal Error: markdownify is not installed (pip install 'workersai[local]')"
        ) from exc
    text = markdownify(html, heading_style="ATX", bullets="-")
    return re.sub(r"\n{3,}", "\n\n", text).strip()


class Page:
    """One loaded page, for the action working on it (on the engine's thread)."""

    def __init__(self, page: Any, status: int | None) -> None:
        self.page, self.status = page, status

    def content(self) -> str:
        return str(self.page.content())

    def markdown(self) -> str:
        return to_markdown(self.page.evaluate(_CLEAN_BODY_JS))

    def title(self) -> str:
        return str(self.page.title())

    def links(self, visible_only: bool, internal_only: bool) -> list[str]:
        return list(dict.fromkeys(self.page.evaluate(_LINKS_JS, [visible_only, internal_only])))

    def scrape(self, selectors: list[str]) -> list[dict[str, Any]]:
        return list(self.page.evaluate(_SCRAPE_JS, selectors))

    def screenshot(self, options: Mapping[str, Any]) -> bytes:
        kind = options.get("type", "png")
        if kind not in ("png", "jpeg"):  # Playwright's Chromium captures png and jpeg only
            raise PageFailed(
                400, None, f"screenshotOptions.type {kind!r}: the local emulator takes png or jpeg"
            )
        kwargs: dict[str, Any] = {"type": kind, "full_page": bool(options.get("fullPage", False))}
        if options.get("omitBackground"):
            kwargs["omit_background"] = True
        if kind == "jpeg" and "quality" in options:
            kwargs["quality"] = int(options["quality"])
        return bytes(self.page.screenshot(**kwargs))

    def pdf(self, options: Mapping[str, Any]) -> bytes:
        kwargs: dict[str, Any] = {}
        for ours, theirs in (
            ("format", "format"),
            ("landscape", "landscape"),
            ("printBackground", "print_background"),
            ("scale", "scale"),
            ("width", "width"),
            ("height", "height"),
            ("pageRanges", "page_ranges"),
            ("preferCSSPageSize", "prefer_css_page_size"),
            ("margin", "margin"),
        ):
            if ours in options:
                kwargs[theirs] = options[ours]
        return bytes(self.page.pdf(**kwargs))


class BrowserEngine:
    """One Chromium, started on first use on a thread of its own and kept until :meth:`close`."""

    def __init__(self) -> None:
        self.unavailable = missing_browser()
        self._work: queue.SimpleQueue[tuple[Callable[[], Any], concurrent.futures.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._playwright: Any = None
        self._browser: Any = None

    def submit(self, work: Callable[[], Any]) -> concurrent.futures.Future[Any]:
        """Run ``work`` on the browser's thread (a daemon thread of its own rather than an executor's,
        whose threads are joined before ``atexit`` handlers run: the browser could not be closed then)."""
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._serve, name="workersai-browser", daemon=True)
                self._thread.start()
        self._work.put((work, future))
        return future

    def _serve(self) -> None:
        while (item := self._work.get()) is not None:
            work, future = item
            if future.set_running_or_notify_cancel():
                try:
                    future.set_result(work())
                except BaseException as exc:
                    future.set_exception(exc)

    def _started(self) -> Any:
        if self._browser is None:
            from playwright.sync_api import sync_playwright

            self._playwright = sync_playwright().start()
            self._browser = self._playwright.chromium.launch(
                executable_path=os.environ.get(CHROMIUM_ENV, DEFAULT_CHROMIUM),
                args=list(CHROMIUM_FLAGS),
                headless=True,
            )
            log.info("Browser Run: started %s", self._browser.version)
        return self._browser

    def render(self, body: Mapping[str, Any], action: Callable[[Page], Any]) -> Any:
        """Load the page of a checked request ``body`` (``url`` or ``html`` and the shared options) in a
        fresh context and run ``action`` on it (call on the browser's thread)."""
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import TimeoutError as PlaywrightTimeout

        url = body.get("url")
        if isinstance(url, str) and not is_local(url):
            raise blocked(url)
        context = self._started().new_context(**_context_options(body))
        try:
            if body.get("cookies"):
                context.add_cookies([_cookie(c) for c in body["cookies"]])
            rejected = set(body.get("rejectResourceTypes") or ())

            def guard(route: Any) -> None:
                request = route.request
                if request.resource_type in rejected or not is_local(request.url):
                    route.abort("blockedbyclient")
                else:
                    route.continue_()

            context.route("**/*", guard)
            page = context.new_page()
            goto = body.get("gotoOptions") or {}
            wait_until = _wait_until(goto.get("waitUntil"))
            timeout = float(goto.get("timeout", 30000))
            status = None
            if isinstance(url, str):
                response = page.goto(url, wait_until=wait_until, timeout=timeout)
                status = response.status if response is not None else None
            else:
                page.set_content(str(body.get("html", "")), wait_until=wait_until, timeout=timeout)
            for tag in body.get("addStyleTag") or ():
                page.add_style_tag(content=tag["content"])
            for tag in body.get("addScriptTag") or ():
                page.add_script_tag(content=tag["content"])
            selector = body.get("waitForSelector")
            if selector:
                page.wait_for_selector(
                    selector["selector"],
                    timeout=float(selector.get("timeout", 30000)),
                    state="visible" if selector.get("visible") else "attached",
                )
            return action(Page(page, status))
        except PlaywrightTimeout as exc:
            raise PageFailed(408, 6002, f"TimeoutError: {_first_line(exc)}") from None
        except PlaywrightError as exc:
            message = _first_line(exc)
            if "net::" in message:
                raise PageFailed(422, net_error_code(message), message) from None
            raise PageFailed(422, None, message) from None
        finally:
            context.close()

    def close(self) -> None:
        def stop() -> None:
            if self._browser is not None:
                self._browser.close()
                self._playwright.stop()
                self._browser = self._playwright = None

        if self._thread is None:
            return
        try:
            self.submit(stop).result(timeout=30)
        except Exception:  # shutting down: a browser that will not close goes with the process
            log.debug("Browser Run: the browser did not close", exc_info=True)
        self._work.put(None)


def _cookie(cookie: Mapping[str, Any]) -> dict[str, Any]:
    """A Puppeteer cookie (Browser Run's ``cookies``) as Playwright's: a URL, or a domain and a path."""
    keys = ("name", "value", "url", "domain", "path", "expires", "httpOnly", "secure", "sameSite")
    out = {k: cookie[k] for k in keys if k in cookie}
    if "url" not in out:
        out.setdefault("path", "/")
    return out


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "message", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _wait_until(value: Any) -> str:
    """Puppeteer's ``waitUntil`` (Browser Run's) as Playwright's: networkidle0/2 are networkidle."""
    if value in (None, "load"):
        return "load"
    if value == "domcontentloaded":
        return "domcontentloaded"
    return "networkidle"


def _context_options(body: Mapping[str, Any]) -> dict[str, Any]:
    options: dict[str, Any] = {}
    viewport = body.get("viewport")
    if viewport:
        options["viewport"] = {"width": int(viewport["width"]), "height": int(viewport["height"])}
        if "deviceScaleFactor" in viewport:
            options["device_scale_factor"] = float(viewport["deviceScaleFactor"])
    if body.get("userAgent"):
        options["user_agent"] = str(body["userAgent"])
    if body.get("setExtraHTTPHeaders"):
        options["extra_http_headers"] = {str(k): str(v) for k, v in body["setExtraHTTPHeaders"].items()}
    if body.get("setJavaScriptEnabled") is False:
        options["java_script_enabled"] = False
    if body.get("authenticate"):
        auth = body["authenticate"]
        options["http_credentials"] = {"username": auth["username"], "password": auth["password"]}
    return options
