"""The binding path: an httpx transport that answers the client's requests with a Cloudflare Python
Worker's bindings (``env.AI``, ``env.VECTORIZE``) instead of HTTP.

``WorkersAI(binding=env.AI, vectorize_binding=env.VECTORIZE)`` builds one, and sends through it with its
usual :class:`~workersai.transport.Transport` (retries, pacing, deadline, health), as through any httpx
transport. The client, the Vectorize
flows and every adapter are unchanged: they send the same requests (``POST .../ai/run/{model}``,
``POST .../vectorize/v2/indexes/{name}/query``, ...) and read the same answers. This module maps each
request to the binding method that does the same thing, and hands the binding's raw result back as the
``result`` of an envelope, so the REST parsers read it; a stream comes back as the SSE body the stream
parser reads; what a binding throws becomes the typed error the REST answer would have given.

Bindings, as workerd implements them (``src/cloudflare/internal/ai-api.ts``, ``vectorize-api.ts``) and
Cloudflare documents them (developers.cloudflare.com/workers-ai/configuration/bindings/,
developers.cloudflare.com/vectorize/reference/client-api/):

- ``env.AI.run(model, inputs, options?)`` answers the raw result (no ``{result: ...}`` envelope) when the
  service answers JSON, else the response body, a ``ReadableStream`` (``stream: true``: SSE frames). A
  failure throws ``InferenceUpstreamError("<internalCode>: <description>")`` (or ``"<code>: <message>"``
  from an ``errors`` list).
- A Vectorize v2 binding is one index: ``query(vector, {topK, returnValues, returnMetadata, filter,
  namespace})`` -> ``{count, matches}``; ``insert(vectors)`` / ``upsert(vectors)`` / ``deleteByIds(ids)``
  -> ``{mutationId}``; ``getByIds(ids)`` -> the vectors; ``describe()`` -> ``{vectorCount, dimensions,
  processedUpToDatetime, processedUpToMutation}``. A failure throws ``Error("<OPERATION>_ERROR (code =
  <code>): <message>")``, or ``Error("<OPERATION>_ERROR: Status + <status>")`` without a body.

- ``env.BROWSER.quickAction(action, params)`` (Browser Run's Quick Actions, compatibility date
  2026-03-24 or later: developers.cloudflare.com/browser-run/quick-actions/) answers a ``Response``, the
  Python Workers wrapper with ``status`` and ``bytes()`` (langchain-cloudflare 0.4.3, ``loaders.py``:
  "confirmed live inside a running Python Worker"), carrying what the REST endpoint would: the
  envelope, or the screenshot / PDF bytes. ``/crawl`` has no Quick Action ("available via the REST API
  only"), so it is refused here.

Async only: a Worker's isolate cannot block, so the sync methods raise :class:`BindingUnsupported`.
All Python <-> JavaScript conversion is in :mod:`workersai.jsbridge`.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

import httpx

from . import jsbridge, jsonlib
from .errors import BindingUnsupported, ResponseFormatError, WorkersAIError, error_for_code

BINDING_BASE_URL = "https://workers-binding.invalid/client/v4"
"""The base URL of a client on the binding path: the requests it builds are routed here, never sent."""
BINDING_ACCOUNT = "binding"

_AI_RUN = re.compile(r"/accounts/[^/]+/ai/run/(?P<model>.+)\Z")
_TOMARKDOWN = re.compile(r"/accounts/[^/]+/ai/tomarkdown(?P<supported>/supported)?\Z")
_BROWSER = re.compile(r"/accounts/[^/]+/browser-rendering/(?P<action>[A-Za-z]+)(?P<job>/.*)?\Z")
_VECTORIZE = re.compile(r"/accounts/[^/]+/vectorize/v2/indexes/(?P<index>[^/]+)/(?P<op>[a-z_]+)\Z")
_AI_ERROR = re.compile(r"\s*(?P<code>\d+)\s*:\s*(?P<message>.*)", re.DOTALL)
_VECTORIZE_ERROR = re.compile(
    r"\s*(?P<op>[A-Z_]+)_ERROR(?: \(code = (?P<code>\d+)\))?: (?:Status \+ (?P<status>\d+)|(?P<message>.*))",
    re.DOTALL,
)


def binding_error(name: str, message: str, status: int | None = None) -> WorkersAIError:
    """The typed error for what a binding threw (``name``, ``message``): the same class the REST
    answer with that code (else status) gets."""
    found = _VECTORIZE_ERROR.fullmatch(message)
    if found:
        code = int(found["code"]) if found["code"] else None
        status = int(found["status"]) if found["status"] else status
        text = found["message"] or f"HTTP {status}"
        return error_for_code(f"{found['op'].lower()}: {text}", code=code, status=status)
    found = _AI_ERROR.fullmatch(message)
    if found:
        return error_for_code(found["message"], code=int(found["code"]), status=status)
    return error_for_code(f"{name}: {message}", code=None, status=status)


def _refuse_sync() -> NoReturn:
    raise BindingUnsupported(
        "a client on a Workers binding is async only (a Worker cannot block): call the async method "
        "(achat, aembed, ainvoke, aadd_texts, asimilarity_search, ...)"
    )


@dataclass
class _Route:
    """One request, as a call of a binding method; ``what`` names it in errors."""

    what: str
    call: Callable[[], Awaitable[Any]]
    status: Callable[[], int | None]
    response: bool = False
    """The binding answers a ``Response`` (Browser Run's ``quickAction``), passed on as it is."""


def _ndjson(content: bytes | None) -> list[Any]:
    return [jsonlib.loads(line) for line in (content or b"").splitlines() if line.strip()]


def _body(request: httpx.Request) -> Any:
    return jsonlib.loads(request.content or b"null")


class _BindingStream(httpx.AsyncByteStream):
    """A binding's stream as the body of a response, so the SSE parser reads it as it reads HTTP."""

    def __init__(self, stream: Any) -> None:
        self._parts = jsbridge.stream_bytes(stream)

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for part in self._parts:
            yield part

    async def aclose(self) -> None:
        await self._parts.aclose()


class BindingTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (as ``httpx.MockTransport`` and ``ASGITransport`` are) that answers the
    client's requests with ``env.AI`` and Vectorize bindings; async only.

    The client's :class:`~workersai.transport.Transport` sends through it as through any httpx transport,
    with the same retries, pacing, deadline and health record as over HTTP, and reads its answers with
    the same parsers. ``vectorize`` is one binding (used for any index name: a binding is bound to one
    index, so give the adapters that index's name) or a mapping from index names to bindings. A sync
    request is refused (a request no binding method does says so first)."""

    def __init__(self, ai: Any = None, vectorize: Any = None, browser: Any = None) -> None:
        self.ai = ai
        self.vectorize = vectorize
        self.browser = browser

    # -- routing --------------------------------------------------------------------------------
    def _index(self, name: str) -> Any:
        if isinstance(self.vectorize, Mapping):
            if name not in self.vectorize:
                raise BindingUnsupported(
                    f"no Vectorize binding for index {name!r} (bound: {', '.join(sorted(self.vectorize))})"
                )
            return self.vectorize[name]
        if self.vectorize is None:
            raise BindingUnsupported("no Vectorize binding: pass vectorize_binding=env.<YOUR_INDEX>")
        return self.vectorize

    def _route(self, request: httpx.Request) -> _Route:
        """The binding call that does what ``request`` asks (its body already read)."""
        method, path, params = request.method, request.url.path, request.url.params
        run = _AI_RUN.search(path)
        if run and method == "POST":
            if self.ai is None:
                raise BindingUnsupported("no Workers AI binding: pass binding=env.AI")
            ai, model, inputs = self.ai, run["model"], _body(request)
            # The query (``?queueRequest=true``) and the REST body's "options" (rejectIfBusy) are the
            # binding's third argument, never part of the model's inputs (workerd's ai-api.ts;
            # developers.cloudflare.com/workers-ai/features/reject-if-busy/).
            body_options = inputs.pop("options", None) if isinstance(inputs, dict) else None
            options = {**_run_options(params), **(body_options or {})}

            def call() -> Awaitable[Any]:
                extra = [jsbridge.to_js(options)] if options else []  # run(model, inputs) as before
                return ai.run(model, jsbridge.to_js(inputs), *extra)  # type: ignore[no-any-return]

            return _Route(
                f"env.AI.run({model!r})",
                call,
                lambda: _int_or_none(getattr(ai, "lastRequestHttpStatusCode", None)),
            )
        markdown = _TOMARKDOWN.search(path)
        if markdown and not params:
            return self._markdown_route(request, supported=bool(markdown["supported"]))
        quick = _BROWSER.search(path)
        if quick and method == "POST" and quick["action"] != "crawl" and not quick["job"] and not params:
            if self.browser is None:
                raise BindingUnsupported("no Browser Run binding: pass browser_binding=env.BROWSER")
            browser, action, body = self.browser, quick["action"], _body(request)
            return _Route(
                f"env.BROWSER.quickAction({action!r})",
                lambda: browser.quickAction(action, jsbridge.to_js(body)),
                lambda: None,
                response=True,
            )
        if quick:
            raise BindingUnsupported(
                "Browser Run's crawl has no Quick Action (the REST API only): use a REST client for it"
            )
        if params:
            raise BindingUnsupported(
                f"{method} {path.split('/accounts/', 1)[-1].split('/', 1)[-1]} with query parameters "
                f"{sorted(params)} has no Workers binding method: use a REST client for it"
            )
        vz = _VECTORIZE.search(path)
        if vz:
            index, op = self._index(vz["index"]), (method, vz["op"])
            none: Callable[[], int | None] = lambda: None  # noqa: E731
            if op == ("POST", "query"):
                body = dict(_body(request))
                vector = body.pop("vector")
                return _Route(
                    "query", lambda: index.query(jsbridge.to_js(vector), jsbridge.to_js(body)), none
                )
            if op in (("POST", "insert"), ("POST", "upsert")):
                vectors, name = _ndjson(request.content), op[1]
                return _Route(name, lambda: getattr(index, name)(jsbridge.to_js(vectors)), none)
            if op == ("POST", "get_by_ids"):
                ids = _body(request)["ids"]
                return _Route("getByIds", lambda: index.getByIds(jsbridge.to_js(ids)), none)
            if op == ("POST", "delete_by_ids"):
                ids = _body(request)["ids"]
                return _Route("deleteByIds", lambda: index.deleteByIds(jsbridge.to_js(ids)), none)
            if op == ("GET", "info"):
                return _Route("describe", lambda: index.describe(), none)
        raise BindingUnsupported(
            f"{method} {path.split('/accounts/', 1)[-1].split('/', 1)[-1]} has no Workers binding method "
            "(a binding can run models and query, insert, upsert, get, delete and describe one index): "
            "use a REST client (account id and API token) for it"
        )

    def _markdown_route(self, request: httpx.Request, *, supported: bool) -> _Route:
        """Markdown conversion: ``env.AI.toMarkdown(files, {conversionOptions})`` for the multipart
        ``POST .../ai/tomarkdown``, ``env.AI.toMarkdown().supported()`` for ``GET .../supported``
        (developers.cloudflare.com/workers-ai/features/markdown-conversion/usage/binding/; workers-types
        ``ToMarkdownService``). Both answer what the REST ``result`` holds."""
        if self.ai is None:
            raise BindingUnsupported("no Workers AI binding: pass binding=env.AI")
        ai = self.ai
        status = lambda: _int_or_none(getattr(ai, "lastRequestHttpStatusCode", None))  # noqa: E731
        if supported and request.method == "GET":
            return _Route("env.AI.toMarkdown().supported()", lambda: ai.toMarkdown().supported(), status)
        if supported or request.method != "POST":
            raise BindingUnsupported(f"{request.method} {request.url.path} has no Workers binding method")
        files, options = _multipart(request)
        extra = [jsbridge.to_js({"conversionOptions": options})] if options else []
        return _Route(
            "env.AI.toMarkdown()",
            lambda: ai.toMarkdown(jsbridge.markdown_documents(files), *extra),
            status,
        )

    async def _call(self, route: _Route) -> Any:
        """Call the binding; what it throws becomes the typed error."""
        try:
            return await route.call()
        except Exception as exc:
            thrown = jsbridge.thrown(exc)
            if thrown is None:
                raise
            raise binding_error(*thrown, status=route.status()) from None

    # -- the httpx transport interface ------------------------------------------------------------
    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Refused: the binding path is async only (a request no binding method does says so first)."""
        self._route(request)
        _refuse_sync()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """The binding call for ``request``: its raw result as the envelope REST answers (for the same
        parsers), or its ``ReadableStream`` as a streaming SSE body. What the binding throws is raised
        as the typed error the REST answer would have given, and is retried as that one is."""
        await request.aread()
        route = self._route(request)
        answer = await self._call(route)
        if route.response:  # a Response: its status, type and body as an HTTP answer would carry them
            headers = getattr(answer, "headers", None)
            kind = headers.get("content-type") if headers is not None else None
            return httpx.Response(
                int(getattr(answer, "status", 200)),
                content=await jsbridge.response_bytes(answer),
                headers={"content-type": str(kind or "application/json")},
            )
        if jsbridge.is_stream(answer):
            return httpx.Response(
                200, headers={"content-type": "text/event-stream"}, stream=_BindingStream(answer)
            )
        if "text/event-stream" in request.headers.get("accept", ""):
            raise ResponseFormatError(f"{route.what} with stream set answered no stream")
        body = jsonlib.dumps({"success": True, "errors": [], "result": jsbridge.to_py(answer)})
        return httpx.Response(200, content=body, headers={"content-type": "application/json"})


_FORM_PARAM = re.compile(r'\b(name|filename)="((?:[^"\\]|\\.)*)"')
_FORM_ESCAPE = re.compile(r"%([0-1][0-9A-F]|22)|\\(.)")


def _form_value(raw: str) -> str:
    """A multipart ``name`` / ``filename`` as httpx wrote it (HTML5 form encoding: ``%22`` for a quote,
    ``%XX`` for a control character, a backslash doubled), decoded."""
    return _FORM_ESCAPE.sub(lambda m: m[2] if m[2] is not None else chr(int(m[1], 16)), raw)


def _multipart(request: httpx.Request) -> tuple[list[tuple[str, bytes, str]], Any]:
    """The files (name, bytes, MIME type) and ``conversionOptions`` of a ``tomarkdown`` request, as
    :func:`workersai.markdown.multipart` built it (httpx's multipart encoder: CRLF line ends, UTF-8
    headers, a random boundary no file can contain)."""
    content_type = request.headers.get("content-type", "")
    boundary = content_type.partition("boundary=")[2].strip('"').encode()
    if not boundary:
        raise BindingUnsupported("a tomarkdown request on the binding path must be multipart/form-data")
    files: list[tuple[str, bytes, str]] = []
    options = None
    for part in (b"\r\n" + (request.content or b"")).split(b"\r\n--" + boundary)[1:]:
        if part.startswith(b"--"):
            break
        head, _, data = part.partition(b"\r\n\r\n")
        headers = head.decode("utf-8", errors="replace")
        params = {key: _form_value(value) for key, value in _FORM_PARAM.findall(headers)}
        kind = re.search(r"(?im)^content-type:\s*([^\r\n;]+)", headers)
        if params.get("name") == "conversionOptions":
            options = jsonlib.loads(data)
        elif params.get("name") == "files":
            files.append((params.get("filename", "file"), data, kind[1].strip() if kind else ""))
    return files, options


def _run_options(params: Mapping[str, Any]) -> dict[str, Any]:
    """The ``options`` argument of ``env.AI.run`` for a REST request's query: ``?queueRequest=true``
    (the Batch API) is ``{queueRequest: true}`` (workerd's ai-api.ts sends ``options`` beside
    ``inputs``; @cloudflare/workers-types' ``AiOptions.queueRequest?: boolean``). A query the binding
    cannot carry is refused, never dropped."""
    options: dict[str, Any] = {}
    for name, value in params.items():
        if name == "queueRequest" and str(value).lower() in ("true", "false"):
            options["queueRequest"] = str(value).lower() == "true"
        else:
            raise BindingUnsupported(f"env.AI.run has no option for the query parameter {name}={value!r}")
    return options


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
