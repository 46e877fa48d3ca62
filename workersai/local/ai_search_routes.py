"""AI Search routes of the emulator, under both paths Cloudflare serves
(developers.cloudflare.com/ai-search/api/search/rest-api/, "API paths"):

- ``/accounts/{a}/ai-search/namespaces/{namespace}/instances/...`` (current);
- ``/accounts/{a}/ai-search/instances/...`` (older, deprecated in the API reference): the ``default``
  namespace, which every account has (developers.cloudflare.com/ai-search/concepts/namespaces/).

Under each: instances (list, create, read, update, delete), ``/{id}/items`` (list, multipart upload),
``/{id}/items/{item_id}`` (read, delete) and ``/{id}/items/{item_id}/chunks``, ``/{id}/search``,
``/{id}/chat/completions`` (answered by the emulator's generator over the retrieved chunks) and
``/{id}/stats``; and ``GET /ai-search/namespaces`` (the namespaces that hold instances, and ``default``).
Every list pages (:mod:`workersai.local.rules.paging`). Requests are checked by
:mod:`workersai.local.rules.ai_search`; the work is done by
:class:`~workersai.local.ai_search_store.AISearchStore` (see there for what stands in for what).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..catalog import ModelInfo, get_model
from .ai_routes import generate
from .ai_search_store import AISearchStore
from .emulator import MAX_JSON_BODY_BYTES, Emulator
from .faults import Decision
from .generation import Generation
from .responses import envelope
from .rules import ai_search as rules
from .rules import paging

DEFAULT_NAMESPACE = "default"
FALLBACK_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
"""Answers' model when the instance's ``ai_search_model`` is not in the catalog (e.g. a third-party one):
the active variant of the Llama 3.1 8B deprecated on 2026-05-30."""

SYSTEM_PROMPT = (
    "You are a helpful assistant. Answer the question using only the numbered sources below, and cite "
    "them by number."
)


def ai_search_store(emu: Emulator) -> AISearchStore:
    """The emulator's AI Search store, opened on first use (kept on the emulator)."""
    store: AISearchStore | None = getattr(emu, "ai_search", None)
    if store is None:
        store = AISearchStore(emu.embedder, emu.config.data_dir)
        emu.ai_search = store  # type: ignore[attr-defined]
    return store


def context_messages(
    chunks: list[dict[str, Any]], messages: list[dict[str, str]], system: str | None
) -> list[dict[str, str]]:
    """The generator's messages: the system prompt with the numbered sources, then the conversation."""
    sources = "\n\n".join(f"[{i}] ({c['item']['key']}) {c['text']}" for i, c in enumerate(chunks, 1))
    prompt = f"{system or SYSTEM_PROMPT}\n\nSources:\n{sources or '(none found)'}"
    return [{"role": "system", "content": prompt}, *[m for m in messages if m["role"] != "system"]]


def search_query(messages: list[dict[str, str]], rewrite: bool) -> str:
    """What the emulator searches with: the last user message, or with ``rewrite`` the last three user
    messages joined (a stand-in for the service's model rewrite, see :mod:`.ai_search_store`)."""
    asked = [m["content"].strip() for m in messages if m["role"] == "user" and m["content"].strip()]
    return " ".join(asked[-3:]) if rewrite else asked[-1]


async def call(fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)`` in a worker thread: every store call (embedding, search), off the event loop."""
    return await run_in_threadpool(fn, *args)


def scope(request: Request) -> tuple[str, str]:
    """The account and namespace of the path: every store call is scoped by both."""
    account = str(request.path_params["account_id"])
    return account, str(request.path_params.get("namespace", DEFAULT_NAMESPACE))


def where(request: Request) -> tuple[str, str, str]:
    """The account, namespace and instance id of the path."""
    return (*scope(request), str(request.path_params["id"]))


def paged(request: Request, found: list[dict[str, Any]]) -> Response:
    """One page of ``found`` as the SDK's ``V4PagePaginationArray`` reads it (per_page at most 100,
    the API reference's maximum for instances/items list; the default is not stated: 20 here)."""
    chosen = paging.page(
        request.query_params, default_per_page=20, max_per_page=100, code=rules.INVALID, prefix=""
    )
    return JSONResponse(paging.listing(*chosen.of(found)))


def filter_instances(found: list[dict[str, Any]], query: Mapping[str, str]) -> list[dict[str, Any]]:
    """The instances a list asks for: ``search`` (id contains, case-insensitive) and ``order_by``
    ``created_at`` (the one order the API reference lists) in ``order_by_direction``."""
    wanted = (query.get("search") or "").lower()
    found = [i for i in found if wanted in str(i["id"]).lower()]
    if query.get("order_by") == "created_at":
        found.sort(key=lambda i: str(i["created_at"]), reverse=query.get("order_by_direction") == "desc")
    return found


async def read_upload(emu: Emulator, request: Request) -> tuple[str, str, int, Any]:
    """An item upload, checked: ``(key, text, size in bytes, metadata)`` from a multipart body with a
    ``file`` part (and an optional ``metadata`` part)."""
    await emu.read_body(request, rules.MAX_FILE_BYTES + 64 * 1024)
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        raise rules.invalid("upload an item as multipart/form-data with a 'file' part")
    form = await request.form(max_part_size=rules.MAX_FILE_BYTES + 1)
    part = form.get("file")
    if not isinstance(part, UploadFile):
        raise rules.invalid("multipart body needs a 'file' part with a filename")
    data = await part.read()
    key = str(part.filename or "")
    return key, rules.upload_file(key, data), len(data), rules.upload_metadata(form.get("metadata"))


def answer_model(instance: dict[str, Any]) -> tuple[str, ModelInfo]:
    """The model named for answers (the instance's ``ai_search_model``) and the catalog model that
    stands in for it (:data:`FALLBACK_MODEL` when the named one is not in the catalog)."""
    name = str(instance.get("ai_search_model") or FALLBACK_MODEL)
    info = get_model(name) or get_model(FALLBACK_MODEL)
    assert info is not None
    return name, info


def chat_completion(model: str, gen: Generation, chunks: list[dict[str, Any]]) -> dict[str, Any]:
    """The answer in the OpenAI chat-completion shape plus the chunks it was given (API reference,
    instances/methods/chat_completions: {id, object, model, choices, chunks})."""
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex[:24]}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": gen.text}, "finish_reason": "stop"}
        ],
        "usage": {
            "prompt_tokens": gen.prompt_tokens,
            "completion_tokens": gen.completion_tokens,
            "total_tokens": gen.prompt_tokens + gen.completion_tokens,
        },
        "chunks": chunks,
    }


class AISearchHandlers:
    """One handler per route; each checks the request (:mod:`.rules.ai_search`) and hands the work to
    the store in a worker thread."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu

    def store(self) -> AISearchStore:
        return ai_search_store(self.emu)

    async def body(self, request: Request) -> dict[str, Any]:
        return rules.json_object(await self.emu.read_body(request, MAX_JSON_BODY_BYTES))

    # -- instances -----------------------------------------------------------------------------
    async def instances(self, request: Request, decision: Decision) -> Response:
        if request.method == "GET":
            found = await call(self.store().list_instances, *scope(request))
            return paged(request, filter_instances(found, request.query_params))
        data = await self.body(request)
        instance = rules.instance_id(data.get("id"))
        return envelope(await call(self.store().create, *scope(request), instance, rules.settings(data)))

    async def one(self, request: Request, decision: Decision) -> Response:
        if request.method == "GET":
            return envelope(await call(self.store().get, *where(request)))
        if request.method == "DELETE":
            return envelope(await call(self.store().delete, *where(request)))
        return envelope(await call(self.store().update, *where(request), await self.body(request)))

    async def stats(self, request: Request, decision: Decision) -> Response:
        return envelope(await call(self.store().stats, *where(request)))

    async def namespaces(self, request: Request, decision: Decision) -> Response:
        account = str(request.path_params["account_id"])
        found = await call(self.store().namespaces, account, DEFAULT_NAMESPACE)
        wanted = (request.query_params.get("search") or "").lower()
        return paged(request, [n for n in found if wanted in n["name"].lower()])

    # -- items ---------------------------------------------------------------------------------
    async def items(self, request: Request, decision: Decision) -> Response:
        if request.method == "GET":
            return paged(request, await call(self.store().items, *where(request)))
        key, text, size, metadata = await read_upload(self.emu, request)
        return envelope(await call(self.store().upload, *where(request), key, text, size, metadata))

    async def one_item(self, request: Request, decision: Decision) -> Response:
        item_id = str(request.path_params["item_id"])
        if request.method == "DELETE":
            return envelope(await call(self.store().delete_item, *where(request), item_id))
        found = [i for i in await call(self.store().items, *where(request)) if i["id"] == item_id]
        if not found:
            raise rules.Rejected(404, None, f"item '{item_id}' not found")
        return envelope(found[0])

    async def item_chunks(self, request: Request, decision: Decision) -> Response:
        item_id = str(request.path_params["item_id"])
        return envelope(await call(self.store().chunks_of, *where(request), item_id))

    # -- search and chat -----------------------------------------------------------------------
    async def retrieve(
        self, request: Request
    ) -> tuple[list[dict[str, Any]], list[dict[str, str]], str, dict[str, Any]]:
        """The chunks for a search or chat body: ``(chunks, messages, search query, instance)``."""
        data = await self.body(request)
        messages = rules.messages(data)
        instance = await call(self.store().get, *where(request))
        opts = rules.search_options(data, instance)
        query = search_query(messages, opts["rewrite"])
        chunks = await call(self.store().search, *where(request), query, opts)
        return chunks, messages, query, instance

    async def search(self, request: Request, decision: Decision) -> Response:
        chunks, _, query, _ = await self.retrieve(request)
        return envelope({"search_query": query, "chunks": chunks})

    async def chat(self, request: Request, decision: Decision) -> Response:
        chunks, messages, _, instance = await self.retrieve(request)
        system = next((m["content"] for m in messages if m["role"] == "system"), None)
        system = system or instance.get("system_prompt_aisearch")
        name, info = answer_model(instance)
        gen = (await generate(self.emu, info, {"messages": context_messages(chunks, messages, system)})).gen
        return JSONResponse(chat_completion(name, gen, chunks))


def ai_search_routes(emu: Emulator, prefix: str) -> list[Route]:
    """The routes under ``prefix`` (``/client/v4/accounts/{account_id}``), both path styles."""
    h = AISearchHandlers(emu)
    Handler = Callable[[Request, Decision], Awaitable[Response]]

    def r(path: str, handler: Handler, *methods: str) -> Route:
        return Route(path, emu.guarded("ai-search", handler), methods=list(methods))

    routes: list[Route] = [r(prefix + "/ai-search/namespaces", h.namespaces, "GET")]
    for base in (prefix + "/ai-search/namespaces/{namespace}/instances", prefix + "/ai-search/instances"):
        inst = base + "/{id}"
        routes += [
            r(base, h.instances, "GET", "POST"),
            r(inst, h.one, "GET", "PUT", "DELETE"),
            r(inst + "/items", h.items, "GET", "POST"),
            r(inst + "/items/{item_id}", h.one_item, "GET", "DELETE"),
            r(inst + "/items/{item_id}/chunks", h.item_chunks, "GET"),
            r(inst + "/search", h.search, "POST"),
            r(inst + "/chat/completions", h.chat, "POST"),
            r(inst + "/stats", h.stats, "GET"),
        ]
    return routes
