"""Browser Run's request rules (the Quick Actions REST API) as the emulator states them.

Sources (read 2026-12-07, cloudflare/cloudflare-docs ``src/content/docs/browser-run/``):

- ``quick-actions/*-endpoint.mdx``: every action takes exactly one of ``url`` or ``html``; ``/scrape``
  also ``elements`` (objects with a ``selector``); ``/json`` at least one of ``prompt`` or
  ``response_format``; ``/snapshot`` ``formats`` of ``content``, ``screenshot``, ``markdown``,
  ``accessibilityTree``, at least two (default content and screenshot); ``/crawl`` a ``url`` and
  ``limit`` (default 10, at most 100,000), ``depth`` (at most 100,000), ``source``, ``formats``
  (``html`` by default, ``markdown``, ``json``), ``render``, ``jsonOptions``, ``options``.
- ``reference/errors.mdx``: a malformed request is 400 (no internal code); a page Chrome cannot load is
  422 with the ``net::`` error's internal code (5000-5011); a timeout is 6002; no browser available is
  503 "No browser available. Please try again in a few minutes.".

Chosen here: a parameter the emulator cannot honour (``custom_ai``, ``rejectRequestPattern``,
an accessibility tree, ...) is 400 naming it, rather than an answer that silently ignores it.
"""

from __future__ import annotations

from typing import Any

from . import Rejected, parse_json

SHARED = {
    "url",
    "html",
    "gotoOptions",
    "viewport",
    "waitForSelector",
    "setExtraHTTPHeaders",
    "userAgent",
    "rejectResourceTypes",
    "setJavaScriptEnabled",
    "authenticate",
    "addScriptTag",
    "addStyleTag",
    "cacheTTL",
    "actionTimeout",
    "cookies",
}
PER_ACTION = {
    "content": set(),
    "markdown": set(),
    "links": {"visibleLinksOnly", "excludeExternalLinks"},
    "scrape": {"elements"},
    "json": {"prompt", "response_format"},
    "screenshot": {"screenshotOptions", "selector"},
    "pdf": {"pdfOptions"},
    "snapshot": {"formats", "screenshotOptions"},
}
CRAWL = {
    "url",
    "limit",
    "depth",
    "source",
    "formats",
    "render",
    "jsonOptions",
    "maxAge",
    "modifiedSince",
    "options",
    "crawlPurposes",
    "contentUse",
} | (SHARED - {"html"})
SNAPSHOT_FORMATS = {"content", "screenshot", "markdown", "accessibilityTree"}
CRAWL_FORMATS = {"html", "markdown", "json"}
MAX_CRAWL_LIMIT = 100_000
NO_BROWSER = "No browser available. Please try again in a few minutes."


def bad(message: str) -> Rejected:
    return Rejected(400, None, message)


def _typed(body: dict[str, Any], key: str, kind: type | tuple[type, ...], what: str) -> None:
    value = body.get(key)
    if value is not None and (not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool)):
        raise bad(f"Bad Request: '{key}' must be {what}")


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def shared_options(body: dict[str, Any]) -> None:
    """The types of the options every action shares (the emulator hands them to the browser)."""
    for key in ("gotoOptions", "viewport", "waitForSelector", "setExtraHTTPHeaders", "authenticate"):
        _typed(body, key, dict, "an object")
    for key in ("screenshotOptions", "pdfOptions"):
        _typed(body, key, dict, "an object")
    _typed(body, "userAgent", str, "a string")
    _typed(body, "setJavaScriptEnabled", bool, "true or false")
    for key in ("visibleLinksOnly", "excludeExternalLinks"):
        _typed(body, key, bool, "true or false")
    for key in ("rejectResourceTypes", "addScriptTag", "addStyleTag", "cookies"):
        _typed(body, key, list, "a list")
    goto = body.get("gotoOptions") or {}
    if "timeout" in goto and not _number(goto["timeout"]):
        raise bad("Bad Request: gotoOptions.timeout must be a number of milliseconds")
    if goto.get("waitUntil") not in (None, "load", "domcontentloaded", "networkidle0", "networkidle2"):
        raise bad(
            "Bad Request: gotoOptions.waitUntil is load, domcontentloaded, networkidle0 or networkidle2"
        )
    viewport = body.get("viewport")
    if viewport is not None and not all(
        _number(viewport.get(k)) and viewport[k] >= 1 for k in ("width", "height")
    ):
        raise bad("Bad Request: viewport needs a positive width and height")
    if (
        viewport is not None
        and "deviceScaleFactor" in viewport
        and not _number(viewport["deviceScaleFactor"])
    ):
        raise bad("Bad Request: viewport.deviceScaleFactor must be a number")
    wait = body.get("waitForSelector")
    if wait is not None and (
        not isinstance(wait.get("selector"), str) or ("timeout" in wait and not _number(wait["timeout"]))
    ):
        raise bad("Bad Request: waitForSelector needs a 'selector' string (and a numeric timeout)")
    headers = body.get("setExtraHTTPHeaders") or {}
    if not all(isinstance(v, str) for v in headers.values()):
        raise bad("Bad Request: setExtraHTTPHeaders values must be strings")
    auth = body.get("authenticate")
    if auth is not None and not (
        isinstance(auth.get("username"), str) and isinstance(auth.get("password"), str)
    ):
        raise bad("Bad Request: authenticate needs a username and a password")
    if not all(isinstance(t, str) for t in body.get("rejectResourceTypes") or ()):
        raise bad("Bad Request: rejectResourceTypes must be strings")
    for cookie in body.get("cookies") or ():
        if not (
            isinstance(cookie, dict)
            and isinstance(cookie.get("name"), str)
            and isinstance(cookie.get("value"), str)
            and (isinstance(cookie.get("url"), str) or isinstance(cookie.get("domain"), str))
        ):
            raise bad("Bad Request: each cookie needs a name, a value and a url or a domain")
    shot = body.get("screenshotOptions") or {}
    if shot.get("type", "png") not in ("png", "jpeg"):
        raise bad("Bad Request: the local emulator takes screenshotOptions.type png or jpeg")
    if "quality" in shot and not (_number(shot["quality"]) and 0 <= shot["quality"] <= 100):
        raise bad("Bad Request: screenshotOptions.quality is 0-100")


def action_body(raw: bytes, action: str) -> dict[str, Any]:
    """A checked Quick Action body."""
    body = parse_json(raw, 5006, "Bad Request")
    if not isinstance(body, dict):
        raise bad("Bad Request: the body must be a JSON object")
    unknown = sorted(set(body) - SHARED - PER_ACTION[action])
    if unknown:
        raise bad(f"Bad Request: the local emulator does not honour {', '.join(unknown)} on /{action}")
    has_url, has_html = isinstance(body.get("url"), str), isinstance(body.get("html"), str)
    if has_url == has_html:
        raise bad("Bad Request: give exactly one of 'url' or 'html'")
    if has_url and not body["url"].strip():
        raise bad("Bad Request: 'url' is empty")
    shared_options(body)
    for tag in (*(body.get("addScriptTag") or ()), *(body.get("addStyleTag") or ())):
        if not isinstance(tag, dict) or not isinstance(tag.get("content"), str):
            raise bad(
                "Bad Request: the local emulator honours addScriptTag / addStyleTag with 'content' only"
            )
    if action == "scrape":
        elements = body.get("elements")
        if not isinstance(elements, list) or not elements:
            raise bad("Bad Request: /scrape needs 'elements', a list of {\"selector\": ...}")
        if not all(isinstance(e, dict) and isinstance(e.get("selector"), str) for e in elements):
            raise bad("Bad Request: every element needs a 'selector' string")
    if action == "json" and body.get("prompt") is None and body.get("response_format") is None:
        raise bad("Bad Request: /json needs 'prompt' or 'response_format'")
    if action == "snapshot":
        formats = body.setdefault("formats", ["content", "screenshot"])
        if not isinstance(formats, list) or not set(formats) <= SNAPSHOT_FORMATS:
            raise bad(f"Bad Request: snapshot formats are {sorted(SNAPSHOT_FORMATS)}")
        if len(set(formats)) < 2:
            raise bad("Bad Request: /snapshot needs at least two formats; use the single-format endpoint")
        if "accessibilityTree" in formats:
            raise bad("Bad Request: the local emulator does not honour the accessibilityTree format")
    return body


def crawl_body(raw: bytes) -> dict[str, Any]:
    """A checked ``/crawl`` body, with its defaults."""
    body = parse_json(raw, 5006, "Bad Request")
    if not isinstance(body, dict):
        raise bad("Bad Request: the body must be a JSON object")
    unknown = sorted(set(body) - CRAWL)
    if unknown:
        raise bad(f"Bad Request: the local emulator does not honour {', '.join(unknown)} on /crawl")
    if not isinstance(body.get("url"), str) or not body["url"].strip():
        raise bad("Bad Request: /crawl needs a 'url'")
    for key, default in (("limit", 10), ("depth", MAX_CRAWL_LIMIT)):
        value = body.setdefault(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CRAWL_LIMIT:
            raise bad(f"Bad Request: '{key}' must be an integer from 1 to {MAX_CRAWL_LIMIT}")
    formats = body.setdefault("formats", ["html"])
    if not isinstance(formats, list) or not formats or not set(formats) <= CRAWL_FORMATS:
        raise bad(f"Bad Request: crawl formats are {sorted(CRAWL_FORMATS)}")
    if "json" in formats and not isinstance(body.get("jsonOptions"), dict):
        raise bad("Bad Request: the json format needs 'jsonOptions' (prompt and/or response_format)")
    if body.setdefault("source", "all") not in ("all", "sitemaps", "links"):
        raise bad("Bad Request: 'source' is all, sitemaps or links")
    shared_options(body)
    _typed(body, "render", bool, "true or false")
    _typed(body, "options", dict, "an object")
    _typed(body, "jsonOptions", dict, "an object")
    options = body.get("options") or {}
    unknown = sorted(set(options) - {"includeExternalLinks", "includeSubdomains"})
    if unknown:
        raise bad(f"Bad Request: the local emulator does not honour options.{', options.'.join(unknown)}")
    return body
