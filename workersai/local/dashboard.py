"""The emulator's dashboard at ``/__local__/``: one server-rendered HTML page (no script, no build step)
showing what the emulator holds and what it served, with links to each resource's JSON.

- Vectorize indexes (every account): dimensions, metric, vector count, metadata indexes
- AI Search instances: items and chunks
- D1 databases: tables and size
- the recent requests from the request log (:mod:`.request_log`): time, status, latency, model, tokens
- the fault plan and rate limits in force, and the scripted answers (:mod:`.scripts`)
- in ``--record`` / ``--replay`` mode, the directory and the upstream

Like every control path it wants the emulator's token: as ``Authorization: Bearer``, or once in the
address (``/__local__/?token=...``, the link ``workersai-local`` prints), which sets an HttpOnly,
SameSite=Strict cookie for ``/__local__/`` and redirects to the address without it. The JSON links
(``/__local__/dashboard.json`` and ``/__local__/dashboard/...``) take the same cookie. Every value
shown is HTML-escaped: names, paths and models come from requests.
"""

from __future__ import annotations

import datetime as dt
import hmac
import html
import json
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import quote

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from .emulator import Emulator
from .faults import FaultPlan
from .rules import Rejected

COOKIE = "workersai_local_token"
RECENT = 50
"""How many of the most recent requests the page lists."""
ROOT = "/__local__/"
SCRIPT_ANSWERS = ("text", "tool_calls", "reasoning", "json", "error", "cut_after")
"""The fields of a script (:class:`~workersai.local.scripts.Script`) that say what it answers."""

_STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;width:100%}
th,td{text-align:left;padding:.25em .6em;border-bottom:1px solid #eee}
th{background:#f6f6f6}td.n{text-align:right;font-variant-numeric:tabular-nums}
.s2{color:#176f2c}.s4{color:#9a5b00}.s5,.s0{color:#b00020}.muted{color:#777}
pre{background:#f6f6f6;padding:.6em;overflow:auto}code{font-size:.95em}
"""


def esc(value: Any) -> str:
    """``value`` as HTML text (None: an empty cell)."""
    return "" if value is None else html.escape(str(value), quote=True)


def link(href: str, text: str = "JSON") -> str:
    return f'<a href="{esc(href)}">{esc(text)}</a>'


def part(value: str) -> str:
    """One path segment of a link (``/`` and everything else unsafe percent-encoded)."""
    return quote(value, safe="")


def table(headers: Iterable[str], rows: list[list[str]], empty: str, test_id: str) -> str:
    """A table of already escaped cells (a cell starting ``<td`` is kept as it is)."""
    if not rows:
        return f'<p class="muted" data-testid="{test_id}">{esc(empty)}</p>'
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(c if c.startswith("<td") else f"<td>{c}</td>" for c in row) + "</tr>" for row in rows
    )
    return f'<table data-testid="{test_id}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def short_path(path: str) -> str:
    """``path`` without its ``/client/v4/accounts/{id}`` head (the whole path is the cell's title)."""
    head, _, rest = path.partition("/accounts/")
    if head != "/client/v4" or not rest:
        return path
    return "…/" + rest.partition("/")[2]


def num(value: Any) -> str:
    return f'<td class="n">{esc(value)}</td>'


class Dashboard:
    """What the page shows, read from the emulator's stores (in a worker thread: SQLite)."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    @property
    def proxying(self) -> bool:
        return self.emu.config.record_dir is not None or self.emu.config.replay_dir is not None

    # -- the data -----------------------------------------------------------------------------------
    def indexes(self) -> list[dict[str, Any]]:
        if self.proxying:
            return []
        store = self.emu.vectorize_store()
        found = []
        for account, name in store.every_index():
            try:
                found.append(self.index(account, name))
            except Rejected:  # deleted meanwhile
                continue
        return found

    def index(self, account: str, name: str) -> dict[str, Any]:
        store = self.emu.vectorize_store()
        return {
            "account": account,
            **store.get_index(account, name),
            "info": store.info(account, name),
            "metadata_indexes": store.metadata_indexes(account, name),
        }

    def ai_search(self) -> list[dict[str, Any]]:
        if self.proxying:
            return []
        from .ai_search_routes import ai_search_store

        store = ai_search_store(self.emu)
        found = []
        for account, namespace, instance in store.every_instance():
            try:
                found.append(self.instance(account, namespace, instance))
            except Rejected:
                continue
        return found

    def instance(self, account: str, namespace: str, instance: str) -> dict[str, Any]:
        from .ai_search_routes import ai_search_store

        store = ai_search_store(self.emu)
        return {
            "account": account,
            **store.get(account, namespace, instance),
            "stats": store.stats(account, namespace, instance),
        }

    def databases(self) -> list[dict[str, Any]]:
        if self.proxying:
            return []
        from .d1_routes import d1_store

        return [
            {"account": account, **described} for account, described in d1_store(self.emu).every_database()
        ]

    def database(self, account: str, database_id: str) -> dict[str, Any]:
        from .d1_routes import d1_store

        return {"account": account, **d1_store(self.emu).get(account, database_id)}

    def requests(self, n: int = RECENT) -> list[dict[str, Any]]:
        return [entry.to_json() for entry in self.emu.request_log.recent(n)]

    def request(self, request_id: int) -> dict[str, Any] | None:
        return next((e.to_json() for e in self.emu.request_log.all() if e.id == request_id), None)

    def scripts(self) -> list[dict[str, Any]]:
        """The scripted answers in force (:mod:`.scripts`)."""
        return [script.to_json() for script in self.emu.scripts.all()]

    def faults(self) -> dict[str, Any]:
        limits = self.emu.rate_limits
        return {
            "plan": self.emu.faults.plan.to_json(),
            "injected": self.emu.faults.injected,
            "lost_answers": self.emu.faults.lost_answers,
            "rate_limits": None if limits is None else {"window_s": limits.window_s, "scale": limits.scale},
        }

    def mode(self) -> dict[str, Any]:
        config = self.emu.config
        if config.record_dir is not None:
            return {"mode": "record", "directory": str(config.record_dir), "upstream": config.upstream}
        if config.replay_dir is not None:
            return {"mode": "replay", "directory": str(config.replay_dir)}
        return {"mode": "emulator", "generator": self.emu.generator_name, "data_dir": str(config.data_dir)}

    def everything(self) -> dict[str, Any]:
        return {
            **self.mode(),
            "indexes": self.indexes(),
            "ai_search": self.ai_search(),
            "d1": self.databases(),
            "faults": self.faults(),
            "scripts": self.scripts(),
            "stats": self.emu.stats,
            "requests": self.requests(),
        }

    # -- the page -----------------------------------------------------------------------------------
    def page(self) -> str:
        data = self.everything()
        mode = data["mode"]
        if mode == "record":
            what = f"recording to {data['directory']}, forwarding to {data['upstream']}"
        elif mode == "replay":
            what = f"replaying {data['directory']}"
        else:
            what = f"emulator, text generation: {data['generator']}"
        sections = [
            "<h1>workersai-local</h1>",
            f"<p>{esc(what)} · {link('/__local__/dashboard.json', 'all as JSON')}</p>",
            "<h2>Recent requests</h2>",
            self._requests(data["requests"]),
        ]
        if mode == "emulator":
            sections += [
                "<h2>Vectorize indexes</h2>",
                self._indexes(data["indexes"]),
                "<h2>AI Search instances</h2>",
                self._instances(data["ai_search"]),
                "<h2>D1 databases</h2>",
                self._databases(data["d1"]),
            ]
        faults = data["faults"]
        sections += [
            "<h2>Faults in force</h2>",
            f'<pre data-testid="faults">{esc(json.dumps(faults, indent=1))}</pre>'
            if faults["plan"] != FaultPlan().to_json() or faults["rate_limits"] or faults["injected"]
            else '<p class="muted" data-testid="faults">none</p>',
            "<h2>Scripted answers</h2>",
            self._scripts(data["scripts"]),
            "<h2>Counters</h2>",
            f"<pre>{esc(json.dumps(data['stats'], indent=1))}</pre>",
        ]
        body = "\n".join(sections)
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>workersai-local</title>'
            f"<style>{_STYLE}</style></head><body>{body}</body></html>"
        )

    @staticmethod
    def _requests(entries: list[dict[str, Any]]) -> str:
        rows = []
        for e in entries:
            when = dt.datetime.fromtimestamp(e["time"], dt.timezone.utc).strftime("%H:%M:%S.%f")[:-3]
            tokens = (
                f"{e['prompt_tokens']} + {e['completion_tokens']}"
                if e.get("prompt_tokens") is not None or e.get("completion_tokens") is not None
                else ""
            )
            status = int(e["status"])
            rows.append(
                [
                    esc(when),
                    esc(e["method"]),
                    f'<code title="{esc(e["path"])}">{esc(short_path(e["path"]))}</code>',
                    esc(e["model"]),
                    f'<td class="n s{status // 100}">{esc(status)}</td>',
                    num(f"{e['latency_ms']:.1f}"),
                    num(tokens),
                    link(f"/__local__/dashboard/requests/{e['id']}"),
                ]
            )
        headers = ("time (UTC)", "method", "path", "model", "status", "ms", "tokens (in + out)", "")
        return table(headers, rows, "no request yet", "requests")

    @staticmethod
    def _scripts(scripts: list[dict[str, Any]]) -> str:
        def compact(value: Any) -> str:
            return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)

        rows = []
        for s in scripts:
            when = [f"{k}: {compact(s[k])}" for k in ("contains", "last_role", "path", "when") if s.get(k)]
            answer = [f"{k}: {compact(s[k])}" for k in SCRIPT_ANSWERS if s.get(k) is not None]
            times = "always" if s.get("times") is None else s["times"]
            rows.append(
                [
                    num(s.get("id")),
                    esc(s.get("model") or "any model"),
                    esc("; ".join(when) or "every request"),
                    f"<code>{esc('; '.join(answer))}</code>",
                    num(f"{s.get('used', 0)} / {times}"),
                ]
            )
        return table(("id", "model", "when", "answer", "used"), rows, "none", "scripts")

    @staticmethod
    def _indexes(indexes: list[dict[str, Any]]) -> str:
        rows = []
        for i in indexes:
            meta = ", ".join(f"{p} ({t})" for p, t in i["metadata_indexes"].items())
            rows.append(
                [
                    esc(i["name"]),
                    num(i["config"]["dimensions"]),
                    esc(i["config"]["metric"]),
                    num(i["info"]["vectorCount"]),
                    esc(meta or "none"),
                    esc(i["account"]),
                    link(f"/__local__/dashboard/indexes/{part(i['account'])}/{part(i['name'])}"),
                ]
            )
        headers = ("name", "dimensions", "metric", "vectors", "metadata indexes", "account", "")
        return table(headers, rows, "no index", "indexes")

    @staticmethod
    def _instances(instances: list[dict[str, Any]]) -> str:
        rows = [
            [
                esc(i["id"]),
                esc(i["namespace"]),
                num(i["stats"]["completed"]),
                num(i["stats"]["engine"]["vectorize"]["vectors_count"]),
                esc(i["account"]),
                link(
                    f"/__local__/dashboard/ai-search/{part(i['account'])}/{part(i['namespace'])}/{part(i['id'])}"
                ),
            ]
            for i in instances
        ]
        return table(
            ("instance", "namespace", "items", "chunks", "account", ""), rows, "no instance", "ai-search"
        )

    @staticmethod
    def _databases(databases: list[dict[str, Any]]) -> str:
        rows = [
            [
                esc(d["name"]),
                f"<code>{esc(d['uuid'])}</code>",
                num(d["num_tables"]),
                num(d["file_size"]),
                esc(d["account"]),
                link(f"/__local__/dashboard/d1/{part(d['account'])}/{part(d['uuid'])}"),
            ]
            for d in databases
        ]
        return table(("name", "id", "tables", "bytes", "account", ""), rows, "no database", "d1")


def dashboard_routes(emu: Emulator) -> list[Route]:
    """``/__local__/`` (the page), ``/__local__/dashboard.json`` and one JSON link per resource."""
    board = Dashboard(emu)
    token = emu.config.token.encode()

    def authorized(request: Request) -> bool:
        scheme, _, bearer = request.headers.get("authorization", "").partition(" ")
        given = [bearer if scheme.lower() == "bearer" else "", request.cookies.get(COOKIE, "")]
        return any(g and hmac.compare_digest(g.encode(), token) for g in given)

    def refused() -> Response:
        return HTMLResponse(
            "<!doctype html><title>workersai-local</title><p>The dashboard wants the emulator's token: open "
            "the address <code>workersai-local</code> printed (<code>/__local__/?token=...</code>), or "
            "send <code>Authorization: Bearer</code>.</p>",
            401,
        )

    async def page(request: Request) -> Response:
        given = request.query_params.get("token")
        if given is not None:
            if not hmac.compare_digest(given.encode(), token):
                return refused()
            moved = RedirectResponse(ROOT, 303)
            moved.set_cookie(COOKIE, given, path="/__local__", httponly=True, samesite="strict")
            return moved
        if not authorized(request):
            return refused()
        return HTMLResponse(await run_in_threadpool(board.page), headers={"cache-control": "no-store"})

    def json_route(read: Callable[..., Any]) -> Callable[[Request], Any]:
        async def route(request: Request) -> Response:
            if not authorized(request):
                return JSONResponse({"error": "the emulator's token is wanted (see /__local__/)"}, 401)
            try:
                found = await run_in_threadpool(read, *request.path_params.values())  # in the path's order
            except Rejected as exc:
                return JSONResponse({"error": exc.message}, exc.status)
            if found is None:
                return JSONResponse({"error": "not found (the request log keeps the most recent only)"}, 404)
            return JSONResponse(found, headers={"cache-control": "no-store"})

        return route

    return [
        Route(ROOT, page, methods=["GET"]),
        Route("/__local__/dashboard.json", json_route(board.everything), methods=["GET"]),
        # The path parameters are named as on the API's own paths (the route fuzzer fills them in);
        # each reader takes them in the path's order.
        *(
            Route(f"/__local__/dashboard/{path}", json_route(read), methods=["GET"])
            for path, read in (
                ("indexes/{account_id}/{name}", board.index),
                ("ai-search/{account_id}/{namespace}/{id}", board.instance),
                ("d1/{account_id}/{database_id}", board.database),
                ("requests/{id:int}", board.request),
            )
        ),
    ]
