"""Recorded exchanges with the Cloudflare API: the files ``workersai-local --record DIR`` writes and
``--replay DIR`` answers from (:mod:`workersai.local.record_routes` serves both).

One JSON file per exchange, ``NNNNN-METHOD-path.json``, numbered in the order the requests arrived::

    {"version": 1, "seq": 3, "model": "@cf/baai/bge-small-en-v1.5",
     "request": {"method": "POST", "path": "/client/v4/accounts/{account_id}/ai/run/@cf/...",
                 "query": "", "headers": {"content-type": "application/json"}, "body": {"json": {...}}},
     "response": {"status": 200, "headers": {"content-type": "application/json"}, "body": {"json": {...}}}}

A body is ``null`` (empty) or one of ``{"json": value}``, ``{"ndjson": [values]}``, ``{"multipart":
[parts]}``, ``{"sse": text}`` (a whole event stream), ``{"text": text}`` or ``{"base64": text}``, so a
file reads and diffs like the exchange it holds. What is never written: the ``Authorization`` header
(and a gateway's ``cf-aig-authorization``), the token anywhere it was echoed, and the account id, which
becomes ``{account_id}`` in paths and bodies and is put back as the caller's own on replay.

Requests are matched by method, path (account id normalised), query, and body compared by content:
JSON as canonical JSON (key order and spacing do not matter), NDJSON line by line, multipart part by
part whatever its boundary. The model is in the path (``/ai/run/{model}``) or the body (``/ai/v1/*``),
so it is matched too. The same request recorded N times (a Vectorize query polled until a write lands)
is answered in the recorded order, then the last answer again.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

VERSION = 1
ACCOUNT_PLACEHOLDER = "{account_id}"
TOKEN_PLACEHOLDER = "{token}"
MIN_SECRET = 8
"""The shortest token or account id replaced in bodies (Cloudflare's are 40 and 32 characters)."""
_ACCOUNT_PATH = re.compile(r"^(/client/v4/accounts/)([^/]+)(/.*)?$")
_RUN_PATH = re.compile(r"/ai/run/(.+)$")

KEPT_REQUEST_HEADERS = ("content-type", "accept")
"""Request headers written to a file (besides ``cf-aig-*`` but for ``cf-aig-authorization``); they are
shown, not matched."""
KEPT_RESPONSE_HEADERS = ("content-type", "retry-after", "ratelimit", "ratelimit-policy")
"""Response headers written and replayed (besides ``cf-aig-*``): what a client reads. Cookies, ``cf-ray``,
``date``, lengths and encodings are left out (the body is written decoded)."""


class CassetteError(ValueError):
    """A recording directory that cannot be used (missing, empty, a file that is not an exchange)."""


def split_account(path: str) -> tuple[str, str | None]:
    """``path`` with its account id replaced by ``{account_id}``, and that id (None: no account)."""
    found = _ACCOUNT_PATH.match(path)
    if found is None:
        return path, None
    return f"{found[1]}{ACCOUNT_PLACEHOLDER}{found[3] or ''}", found[2]


def canonical_query(query: str) -> str:
    return urlencode(sorted(parse_qsl(query, keep_blank_values=True)))


def _kept(headers: dict[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {
        k: v
        for k, v in sorted(headers.items())
        if k in names or (k.startswith("cf-aig-") and k != "cf-aig-authorization")
    }


def kept_request_headers(headers: dict[str, str]) -> dict[str, str]:
    return _kept(headers, KEPT_REQUEST_HEADERS)


def kept_response_headers(headers: dict[str, str]) -> dict[str, str]:
    return _kept(headers, KEPT_RESPONSE_HEADERS)


# -- bodies -------------------------------------------------------------------------------------------
def _json_lines(data: bytes) -> list[Any] | None:
    try:
        lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
    except ValueError:
        return None
    return lines or None


def _plain(data: bytes) -> dict[str, Any]:
    try:
        return {"text": data.decode()}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(data).decode()}


def decode_body(data: bytes, content_type: str | None) -> dict[str, Any] | None:
    """``data`` as a file's body (see the module's docs); the content type decides, a body that does
    not parse as what it claims is kept as text (or base64)."""
    if not data:
        return None
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind == "text/event-stream":
        return _plain(data) if b"\x00" in data else {"sse": data.decode(errors="replace")}
    if kind == "application/json" or kind.endswith("+json"):
        try:
            return {"json": json.loads(data)}
        except ValueError:
            return _plain(data)
    if kind in ("application/x-ndjson", "application/jsonl", "application/jsonlines"):
        lines = _json_lines(data)
        return _plain(data) if lines is None else {"ndjson": lines}
    if kind == "multipart/form-data" and content_type:
        return _multipart(data, content_type) or _plain(data)
    return _plain(data)


def _multipart(data: bytes, content_type: str) -> dict[str, Any] | None:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + data)
    if not message.is_multipart():
        return None
    parts = []
    for part in message.iter_parts():
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes):
            payload = b""
        part_type = part.get_content_type() if part.get("content-type") else None
        lines = None if part_type == "application/json" else _json_lines(payload)
        parts.append(
            {
                "name": part.get_param("name", header="content-disposition"),
                "filename": part.get_filename(),
                "content_type": part_type,
                "body": {"ndjson": lines} if lines is not None else decode_body(payload, part_type),
            }
        )
    return {"multipart": parts}


def encode_body(body: dict[str, Any] | None) -> bytes:
    """The bytes a response body of a file is served as (JSON re-rendered compactly)."""
    if body is None:
        return b""
    if "json" in body:
        return json.dumps(body["json"], ensure_ascii=False, separators=(",", ":")).encode()
    if "ndjson" in body:
        return "".join(json.dumps(v, separators=(",", ":")) + "\n" for v in body["ndjson"]).encode()
    if "base64" in body:
        return base64.b64decode(body["base64"])
    if "sse" in body or "text" in body:
        return str(body.get("sse", body.get("text"))).encode()
    raise CassetteError(f"a body with none of json, ndjson, sse, text, base64: {sorted(body)}")


def canonical_body(body: dict[str, Any] | None) -> str:
    """The text two requests' bodies are compared by."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def scrub(value: Any, secrets: dict[str, str]) -> Any:
    """``value`` (JSON-able) with each key of ``secrets`` replaced by its value in every string; keys
    shorter than :data:`MIN_SECRET` are left alone (a token "test" would take every "test" out)."""
    wanted = {k: v for k, v in secrets.items() if len(k) >= MIN_SECRET}
    if not wanted:
        return value
    text = json.dumps(value, ensure_ascii=False)
    for secret, placeholder in wanted.items():
        text = text.replace(secret, placeholder)
    return json.loads(text)


def model_of(path: str, body: dict[str, Any] | None) -> str | None:
    """The model a request names: in the path (``/ai/run/{model}``) or the JSON body's ``model``."""
    run = _RUN_PATH.search(path)
    if run:
        return run[1]
    if body and isinstance(body.get("json"), dict) and isinstance(body["json"].get("model"), str):
        return str(body["json"]["model"])
    return None


# -- exchanges ------------------------------------------------------------------------------------------
@dataclass
class Exchange:
    """One request and its answer, as written in a file."""

    data: dict[str, Any]
    file: Path | None = None

    @property
    def request(self) -> dict[str, Any]:
        request: dict[str, Any] = self.data["request"]
        return request

    @property
    def response(self) -> dict[str, Any]:
        response: dict[str, Any] = self.data["response"]
        return response

    def key(self) -> tuple[str, str, str, str]:
        r = self.request
        return (r["method"], r["path"], canonical_query(r.get("query", "")), canonical_body(r.get("body")))

    def describe(self) -> str:
        r = self.request
        query = f"?{r['query']}" if r.get("query") else ""
        model = f" (model {self.data['model']})" if self.data.get("model") else ""
        return f"{r['method']} {r['path']}{query}{model}"


def make_exchange(
    method: str,
    path: str,
    query: str,
    headers: dict[str, str],
    body: bytes,
    token: str | None = None,
) -> tuple[Exchange, str | None]:
    """The request half of an exchange, scrubbed, and the account id it named."""
    norm_path, account = split_account(path)
    decoded = decode_body(body, headers.get("content-type"))
    request = {
        "method": method.upper(),
        "path": norm_path,
        "query": query,
        "headers": kept_request_headers(headers),
        "body": decoded,
    }
    secrets = {account or "": ACCOUNT_PLACEHOLDER, token or "": TOKEN_PLACEHOLDER}
    request = scrub(request, secrets)
    data = {"version": VERSION, "model": model_of(norm_path, request["body"]), "request": request}
    return Exchange(data), account


def first_difference(a: Any, b: Any, where: str = "body") -> str | None:
    """Where two JSON values first differ (``body.json.messages[0].content``), None when equal."""
    if type(a) is not type(b):
        return where
    if isinstance(a, dict):
        for k in sorted(set(a) | set(b)):
            if k not in a or k not in b:
                return f"{where}.{k}"
            found = first_difference(a[k], b[k], f"{where}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list):
        for i, (x, y) in enumerate(zip(a, b, strict=False)):
            found = first_difference(x, y, f"{where}[{i}]")
            if found:
                return found
        return None if len(a) == len(b) else f"{where} (length {len(a)} vs {len(b)})"
    return None if a == b else where


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n


def _slug(path: str) -> str:
    tail = path.split(ACCOUNT_PLACEHOLDER, 1)[-1]
    return re.sub(r"[^A-Za-z0-9.]+", "-", tail).strip("-")[:80] or "root"


class Recorder:
    """Writes exchanges into ``directory``, numbered after the ones already there."""

    def __init__(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        seqs = [int(p.name[:5]) for p in directory.glob("*.json") if p.name[:5].isdigit()]
        self._next = max(seqs, default=0) + 1

    def next_seq(self) -> int:
        seq, self._next = self._next, self._next + 1
        return seq

    def write(self, exchange: Exchange, seq: int) -> Path:
        exchange.data["seq"] = seq
        r = exchange.request
        path = self.directory / f"{seq:05d}-{r['method']}-{_slug(r['path'])}.json"
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(exchange.data, indent=1, ensure_ascii=False) + "\n")
        tmp.replace(path)
        exchange.file = path
        return path


@dataclass
class Cassette:
    """A recording directory read for replay."""

    directory: Path
    exchanges: list[Exchange]
    _by_key: dict[tuple[str, str, str, str], list[Exchange]] = field(default_factory=dict)
    _served: dict[tuple[str, str, str, str], int] = field(default_factory=lambda: defaultdict(int))

    @classmethod
    def load(cls, directory: Path) -> Cassette:
        if not directory.is_dir():
            raise CassetteError(f"the replay directory {directory} does not exist")
        exchanges = []
        for file in sorted(directory.glob("*.json")):
            try:
                data = json.loads(file.read_text())
                if data.get("version") != VERSION or not {"request", "response"} <= set(data):
                    raise ValueError(f"not a version {VERSION} exchange (request, response)")
                exchanges.append(Exchange(data, file))
            except (ValueError, AttributeError, OSError) as exc:
                raise CassetteError(f"{file} is not a recorded exchange: {exc}") from exc
        if not exchanges:
            raise CassetteError(f"the replay directory {directory} holds no recorded exchange (*.json)")
        exchanges.sort(key=lambda e: int(e.data.get("seq", 0)))
        cassette = cls(directory, exchanges)
        by_key: dict[tuple[str, str, str, str], list[Exchange]] = defaultdict(list)
        for e in exchanges:
            by_key[e.key()].append(e)
        cassette._by_key = dict(by_key)
        return cassette

    def answer(self, request: Exchange) -> Exchange | None:
        """The recorded exchange for ``request``: the next of those recorded for it, the last once all
        were served; None when none matches."""
        key = request.key()
        found = self._by_key.get(key)
        if not found:
            return None
        served = self._served[key]
        self._served[key] = served + 1
        return found[min(served, len(found) - 1)]

    def explain_miss(self, request: Exchange) -> str:
        """Why ``request`` matched nothing, and how to fix it."""
        r = request.request
        same_path = [e for e in self.exchanges if e.key()[:2] == (r["method"], r["path"])]
        if same_path:
            mine = canonical_body(r.get("body"))
            nearest = max(same_path, key=lambda e: _common_prefix(e.key()[3], mine))
            differs = "the query" if nearest.key()[2] != request.key()[2] else None
            differs = differs or first_difference(nearest.request.get("body"), r.get("body")) or "the body"
            hint = (
                f"{len(same_path)} recorded exchange(s) for {r['method']} {r['path']} differ: the nearest, "
                f"{nearest.file.name if nearest.file else '?'}, differs at {differs}"
            )
        else:
            hint = f"nothing was recorded for {r['method']} {r['path']}"
        return (
            f"workersai-local --replay: no recorded exchange in {self.directory} matches "
            f"{request.describe()}; "
            f"{hint}. Re-record it against Cloudflare: workersai-local --record {self.directory} "
            "(with your CLOUDFLARE_API_TOKEN), run the same code, then replay again."
        )
