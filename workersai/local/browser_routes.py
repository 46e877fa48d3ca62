"""Browser Run routes of the emulator (``/client/v4/accounts/{a}/browser-rendering/...`` and the same under
``browser-run/``), answered by a real headless Chromium (:mod:`.browser_engine`).

- ``POST .../{content,markdown,links,scrape,json,screenshot,pdf,snapshot}``: one Quick Action; JSON
  actions answer the Cloudflare envelope, ``/screenshot`` and ``/pdf`` the image or document itself;
  every answer carries ``X-Browser-Ms-Used`` (browser time, as the service's).
- ``POST .../crawl`` starts a job (answers its id); ``GET .../crawl/{id}`` its status and records
  (``cursor``, ``limit``, ``status`` query parameters); ``DELETE`` cancels it. The crawl follows links on
  the same host (and, with ``options.includeExternalLinks``, others it may reach), breadth first, within
  ``limit`` and ``depth``; ``render: false`` loads pages with JavaScript off.
- ``/json`` (and the crawl's ``json`` format) asks the emulator's text generator (the language model, or
  the extractive generator) for JSON over the page's Markdown, as the service asks Workers AI.

Only pages on 127.0.0.1 / localhost and ``file://`` URLs load (422, 5010 otherwise). Without Chromium or
Playwright every route answers the service's 503 "No browser available", and start-up logs why.
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
import uuid
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urldefrag, urlsplit

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .browser_engine import BrowserEngine, Page, PageFailed, blocked, is_local, log
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .faults import Decision
from .responses import FastJSONResponse, envelope, error_response
from .rules import Rejected
from .rules import browser as rules

Handler = Callable[[Request, Decision], Awaitable[Response]]
MAX_PAGE_CHARS = 6000
"""Markdown given to the generator for ``/json`` (the local model's context is small)."""


def _json_messages(markdown: str, prompt: str | None) -> list[dict[str, str]]:
    ask = prompt or "Extract the data the JSON schema describes from the page."
    return [{"role": "user", "content": f"{ask} Answer in JSON.\n\nPage:\n{markdown[:MAX_PAGE_CHARS]}"}]


def browser_routes(emu: Emulator, prefix: str, engine: BrowserEngine) -> list[Route]:
    """The Browser Run routes under ``prefix`` (``/client/v4/accounts/{account_id}``), on ``engine`` (the
    app closes it at shut-down)."""
    if engine.unavailable:
        log.warning("Browser Run: no browser, every Browser Run request answers 503: %s", engine.unavailable)
    jobs: dict[str, dict[str, Any]] = {}

    def extract_json(markdown: str, prompt: str | None, response_format: Any) -> Any:
        fmt = response_format if isinstance(response_format, dict) else {"type": "json_object"}
        gen = emu.generator.generate(_json_messages(markdown, prompt), max_tokens=256, response_format=fmt)
        if gen.json_value is not None:
            return gen.json_value
        try:
            return json.loads(gen.text)
        except ValueError:
            return {"response": gen.text}

    async def on_browser(body: dict[str, Any], action: Callable[[Page], Any]) -> tuple[Any, float]:
        if engine.unavailable:
            raise Rejected(503, None, f"{rules.NO_BROWSER} ({engine.unavailable})")
        started = time.monotonic()
        try:
            result = await asyncio.wrap_future(engine.submit(lambda: engine.render(body, action)))
        except PageFailed as exc:
            raise Rejected(exc.status, exc.code, exc.message) from None
        except (TypeError, ValueError, KeyError) as exc:  # an option the checks let through, badly typed
            raise Rejected(400, None, f"Bad Request: {exc}") from None
        return result, time.monotonic() - started

    def used(seconds: float) -> dict[str, str]:
        return {"X-Browser-Ms-Used": str(int(seconds * 1000))}

    def quick(action: str) -> Handler:
        async def handler(request: Request, decision: Decision) -> Response:
            body = rules.action_body(await emu.read_body(request, MAX_JSON_BODY_BYTES), action)
            if action == "content":
                result, took = await on_browser(body, Page.content)
            elif action == "markdown":
                result, took = await on_browser(body, Page.markdown)
            elif action == "links":
                visible, internal = bool(body.get("visibleLinksOnly")), bool(body.get("excludeExternalLinks"))
                result, took = await on_browser(body, lambda p: p.links(visible, internal))
            elif action == "scrape":
                selectors = [e["selector"] for e in body["elements"]]
                result, took = await on_browser(body, lambda p: p.scrape(selectors))
            elif action == "json":
                markdown, took = await on_browser(body, Page.markdown)
                result = await asyncio.to_thread(
                    extract_json, markdown, body.get("prompt"), body.get("response_format")
                )
            elif action == "snapshot":
                return await snapshot(body)
            else:
                return await binary(action, body)
            return envelope(result, headers=used(took))

        return handler

    async def snapshot(body: dict[str, Any]) -> Response:
        formats, shot = body["formats"], body.get("screenshotOptions") or {}

        def act(page: Page) -> dict[str, Any]:
            out: dict[str, Any] = {}
            if "content" in formats:
                out["content"] = page.content()
            if "markdown" in formats:
                out["markdown"] = page.markdown()
            if "screenshot" in formats:
                out["screenshot"] = base64.b64encode(page.screenshot(shot)).decode()
            return {"result": out, "meta": {"status": page.status, "title": page.title()}}

        answer, took = await on_browser(body, act)
        return FastJSONResponse({**answer, "success": True, "errors": [], "messages": []}, headers=used(took))

    async def binary(action: str, body: dict[str, Any]) -> Response:
        if action == "screenshot":
            options = body.get("screenshotOptions") or {}
            data, took = await on_browser(body, lambda p: p.screenshot(options))
            media = f"image/{options.get('type', 'png')}"
        else:
            options = body.get("pdfOptions") or {}
            data, took = await on_browser(body, lambda p: p.pdf(options))
            media = "application/pdf"
        return Response(data, media_type=media, headers=used(took))

    # -- crawl ---------------------------------------------------------------------------------------
    def visit(url: str, render: dict[str, Any], formats: set[str]) -> tuple[dict[str, Any], list[str]]:
        """One crawled page (on the browser's thread): its formats, metadata and links."""

        def act(page: Page) -> tuple[dict[str, Any], list[str]]:
            out: dict[str, Any] = {"metadata": {"status": page.status, "url": url, "title": page.title()}}
            if "html" in formats:
                out["html"] = page.content()
            if formats & {"markdown", "json"}:
                out["markdown"] = page.markdown()
            return out, page.links(False, False)

        return engine.submit(lambda: engine.render({**render, "url": url}, act)).result()  # type: ignore[no-any-return]

    def crawl(job: dict[str, Any], body: dict[str, Any]) -> None:
        """Breadth first from the seed, one page at a time on the browser's thread."""
        formats = set(body["formats"])
        options = body.get("options") or {}
        external = bool(options.get("includeExternalLinks"))
        seed = urldefrag(body["url"]).url
        seed_host = urlsplit(seed).netloc
        render = {k: v for k, v in body.items() if k in rules.SHARED and k != "url"}
        if body.get("render") is False:
            render["setJavaScriptEnabled"] = False
        queue: deque[tuple[str, int]] = deque([(seed, 0)])
        seen = {seed}
        started = time.monotonic()
        while queue and not job["cancel"].is_set():
            if job["finished"] >= body["limit"]:
                break
            url, depth = queue.popleft()
            record: dict[str, Any] = {"url": url, "status": "completed"}
            if not is_local(url):
                record.update(status="errored", metadata={"status": 0, "url": url, "title": None})
                record["error"] = blocked(url).message
            else:
                try:
                    out, links = visit(url, render, formats)
                except PageFailed as exc:
                    record.update(status="errored", metadata={"status": 0, "url": url, "title": None})
                    record["error"] = exc.message
                    links = []
                else:
                    record.update(out)
                    if "json" in formats:
                        opts = body["jsonOptions"]
                        record["json"] = extract_json(
                            out["markdown"], opts.get("prompt"), opts.get("response_format")
                        )
                    if "markdown" not in formats:
                        record.pop("markdown", None)
                for link in links:
                    link = urldefrag(link).url
                    if link in seen or not link.startswith(("http://", "https://", "file://")):
                        continue
                    seen.add(link)
                    if depth + 1 > body["depth"]:
                        continue
                    if urlsplit(link).netloc != seed_host and not external:
                        job["records"].append({"url": link, "status": "skipped"})
                        job["skipped"] += 1
                        continue
                    queue.append((link, depth + 1))
            job["records"].append(record)
            job["finished"] += 1
            job["browserSecondsUsed"] = round(time.monotonic() - started, 3)
        job["status"] = "cancelled_by_user" if job["cancel"].is_set() else "completed"

    async def crawl_start(request: Request, decision: Decision) -> Response:
        body = rules.crawl_body(await emu.read_body(request, MAX_JSON_BODY_BYTES))
        if engine.unavailable:
            raise Rejected(503, None, f"{rules.NO_BROWSER} ({engine.unavailable})")
        if not is_local(body["url"]):
            failed = blocked(body["url"])
            raise Rejected(failed.status, failed.code, failed.message)
        job_id = str(uuid.uuid4())
        job: dict[str, Any] = {
            "id": job_id,
            "status": "running",
            "browserSecondsUsed": 0.0,
            "finished": 0,
            "skipped": 0,
            "records": [],
            "cancel": threading.Event(),
        }
        jobs[job_id] = job
        threading.Thread(target=crawl, args=(job, body), daemon=True, name=f"crawl-{job_id[:8]}").start()
        return envelope(job_id)

    async def crawl_job(request: Request, decision: Decision) -> Response:
        job = jobs.get(str(request.path_params["job_id"]))
        if job is None:
            return error_response(404, None, "Crawl job not found")
        if request.method == "DELETE":
            job["cancel"].set()
            return envelope(None)
        q = request.query_params
        records = [r for r in job["records"] if q.get("status") in (None, r["status"])]
        try:
            start = int(q.get("cursor") or 0)
            limit = int(q["limit"]) if q.get("limit") else len(records)
        except ValueError:
            return error_response(400, None, "Bad Request: cursor and limit are integers")
        page = records[start : start + max(0, limit)]
        result = {
            "id": job["id"],
            "status": job["status"],
            "browserSecondsUsed": job["browserSecondsUsed"],
            "total": job["finished"] + (0 if job["status"] != "running" else 1),
            "finished": job["finished"],
            "skipped": job["skipped"],
            "records": page,
        }
        if start + len(page) < len(records):
            result["cursor"] = start + len(page)
        return envelope(result)

    routes: list[Route] = []
    for product in ("browser-rendering", "browser-run"):
        base = f"{prefix}/{product}"
        for action in rules.PER_ACTION:
            routes.append(Route(f"{base}/{action}", emu.guarded("browser", quick(action)), methods=["POST"]))
        routes.append(Route(f"{base}/crawl", emu.guarded("browser", crawl_start), methods=["POST"]))
        routes.append(
            Route(f"{base}/crawl/{{job_id}}", emu.guarded("browser", crawl_job), methods=["GET", "DELETE"])
        )
    return routes
