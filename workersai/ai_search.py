"""AI Search (formerly AutoRAG): instances, items, search and answers with their sources, sync and async.

Wire facts (Cloudflare's pages):

- paths: ``/accounts/{a}/ai-search/namespaces/{namespace}/instances/{id}/...`` (current) and
  ``/accounts/{a}/ai-search/instances/{id}/...`` (older; deprecated in the API reference, the
  ``default`` namespace). developers.cloudflare.com/ai-search/api/search/rest-api/ ("API paths") and
  developers.cloudflare.com/api/resources/ai_search/subresources/namespaces/subresources/instances.
  ``AISearch(client, namespace=None)`` uses the older paths.
- instance ids: lowercase alphanumeric, hyphens and underscores, 1-64 characters (API reference).
- ``POST .../search`` and ``.../chat/completions`` take ``messages`` and ``ai_search_options``:
  ``retrieval`` {filters, max_num_results 1-50 (default 10), match_threshold 0-1 (default 0.4),
  retrieval_type hybrid|vector|keyword, fusion_method max|rrf, keyword_match_mode}, ``query_rewrite``
  {enabled, model, rewrite_prompt}, ``reranking`` {enabled, model, match_threshold}. Search answers
  ``{search_query, chunks: [{id, type, score, text, item: {key, timestamp, metadata}, scoring_details}]}``;
  chat completions answer an OpenAI chat completion plus ``chunks`` (API reference, instances/methods/
  search and chat_completions; changelog 2026-03-23 "New AI Search REST API endpoints").
- filters: ``{"folder": "docs/", "timestamp": {"$gte": ...}}`` with ``$eq $ne $in $nin $lt $lte $gt $gte``
  (developers.cloudflare.com/ai-search/configuration/retrieval/filtering/).
- items: ``POST .../items`` multipart ``file`` (max 4 MB, filename at most 128 characters) with an optional
  ``metadata`` JSON string; ``GET .../items``; ``DELETE .../items/{item_id}`` (API reference, items).
- ``GET .../stats``: {completed, queued, running, error, skipped, outdated, last_activity, engine}.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from . import paths
from .errors import (
    BadInput,
    Conflict,
    InstanceNotFound,
    NotFound,
    ResponseFormatError,
    WorkersAIError,
    narrowed,
)
from .flows import adrive, drive, numbered_pages
from .paths import path
from .transport import unwrap_envelope

if TYPE_CHECKING:
    from .client import WorkersAI

__all__ = [
    "AISearch",
    "AISearchAnswer",
    "AISearchInstance",
    "AISearchItem",
    "AISearchStats",
    "InstanceNotFound",
    "SearchChunk",
    "SearchResult",
]

DEFAULT_NAMESPACE = "default"
MAX_NUM_RESULTS = 50
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILENAME = 128
_ROLES = {"system", "developer", "user", "assistant", "tool"}
_OPERATORS = {"$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte"}

RetrievalType = Literal["hybrid", "vector", "keyword"]
FusionMethod = Literal["max", "rrf"]
Message = Mapping[str, Any]


# -- results ------------------------------------------------------------------------------------------
class _Model(BaseModel):
    model_config = ConfigDict(extra="allow")


class AISearchInstance(_Model):
    """An AI Search instance and its settings (the service returns more fields; all are kept)."""

    id: str
    namespace: str | None = None
    chunk_size: int | None = None
    chunk_overlap: int | None = None
    max_num_results: int | None = None
    score_threshold: float | None = None
    hybrid_search_enabled: bool | None = None
    fusion_method: str | None = None
    reranking: bool | None = None
    rewrite_query: bool | None = None
    embedding_model: str | None = None
    ai_search_model: str | None = None
    created_at: str | None = None
    modified_at: str | None = None


class AISearchItem(_Model):
    """A file in an instance: its key (file name or path), indexing status and chunk count."""

    id: str
    key: str
    status: str | None = None
    chunks_count: int | None = None
    file_size: int | None = None
    checksum: str | None = None
    created_at: str | None = None
    error: str | None = None


class ChunkItem(_Model):
    """The file a chunk comes from."""

    key: str
    timestamp: float | None = None
    metadata: dict[str, Any] = Field(default_factory=dict)


class SearchChunk(_Model):
    """One retrieved chunk: id, text, file and two scores. ``score`` is the vector similarity (0-1), the
    scale ``score_threshold`` filters on ("not the fused score returned in the response": ai-search/
    configuration/retrieval-configuration/); ``fused_score`` is the wire ``score`` chunks are ordered by
    (rrf: about 0.016-0.033). With no ``scoring_details.vector_score``, both are the wire ``score``."""

    id: str
    score: float
    fused_score: float | None = None
    text: str
    type: str | None = None
    item: ChunkItem
    scoring_details: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _threshold_scale(cls, data: Any) -> Any:
        if not isinstance(data, dict) or "fused_score" in data:
            return data
        vector = (data.get("scoring_details") or {}).get("vector_score")
        if isinstance(vector, (int, float)) and not isinstance(vector, bool):
            return {**data, "score": float(vector), "fused_score": data.get("score")}
        return {**data, "fused_score": data.get("score")}

    @property
    def filename(self) -> str:
        """The file's key (its name or path in the instance)."""
        return self.item.key


class SearchResult(_Model):
    """The chunks a search found and the query the service searched with (after any rewrite)."""

    search_query: str | None = None
    chunks: list[SearchChunk] = Field(default_factory=list)


class AISearchAnswer(_Model):
    """A generated answer and the chunks it was given (its sources)."""

    text: str
    chunks: list[SearchChunk] = Field(default_factory=list)
    model: str | None = None
    id: str | None = None

    @property
    def sources(self) -> list[str]:
        """The files the answer's chunks come from, best first, each once."""
        return list(dict.fromkeys(c.item.key for c in self.chunks))


class AISearchStats(_Model):
    """Indexing counters of an instance."""

    completed: int | None = None
    queued: int | None = None
    running: int | None = None
    error: int | None = None
    skipped: int | None = None
    outdated: int | None = None
    last_activity: str | None = None
    engine: dict[str, Any] | None = None


# -- checks (before any request) --------------------------------------------------------------------
def check_instance_id(value: str) -> str:
    """An instance id: lowercase letters, digits, '-' and '_', 1-64 characters (:mod:`workersai.paths`)."""
    return paths.ai_search_id(value)


def _check_filters(filters: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(filters, Mapping):
        raise BadInput("filters: a mapping of metadata attribute -> value or {operator: value}")
    for key, cond in filters.items():
        if isinstance(cond, Mapping):
            for op, value in cond.items():
                if op not in _OPERATORS:
                    raise BadInput(f"filters[{key!r}]: unknown operator {op!r} (use {sorted(_OPERATORS)})")
                if op in ("$in", "$nin") and not isinstance(value, (list, tuple)):
                    raise BadInput(f"filters[{key!r}][{op!r}] takes a list")
        elif not isinstance(cond, (str, int, float, bool)):
            raise BadInput(f"filters[{key!r}]: a value or a mapping of operators")
    return {
        k: (
            {op: list(v) if isinstance(v, tuple) else v for op, v in c.items()}
            if isinstance(c, Mapping)
            else c
        )
        for k, c in filters.items()
    }


def _check_unit(name: str, value: object) -> None:
    """A threshold: a number from 0 to 1 (or None: not sent)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value <= 1:
        raise BadInput(f"{name} must be a number from 0 to 1, got {value!r}")


def _check_int(name: str, value: object, low: int, high: int) -> None:
    """An integer from ``low`` to ``high`` (or None: not sent)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise BadInput(f"{name} must be an integer from {low} to {high}, got {value!r}")


def _messages(query: str | Sequence[Message]) -> list[dict[str, Any]]:
    if isinstance(query, str):
        if not query.strip():
            raise BadInput("query is empty")
        return [{"role": "user", "content": query}]
    out = [dict(m) for m in query]
    if not out:
        raise BadInput("messages is empty")
    for m in out:
        if m.get("role") not in _ROLES or not isinstance(m.get("content"), str):
            raise BadInput(
                "each message needs a role (system, developer, user, assistant, tool) and text content"
            )
    if not any(m["role"] == "user" and m["content"].strip() for m in out):
        raise BadInput("messages need a user message with content")
    return out


def search_options(
    *,
    filters: Mapping[str, Any] | None = None,
    max_num_results: int | None = None,
    score_threshold: float | None = None,
    retrieval_type: RetrievalType | None = None,
    fusion_method: FusionMethod | None = None,
    keyword_match_mode: Literal["exact_match", "fuzzy_match"] | None = None,
    rewrite_query: bool | None = None,
    rewrite_model: str | None = None,
    reranking: bool | None = None,
    reranking_model: str | None = None,
    reranking_threshold: float | None = None,
) -> dict[str, Any]:
    """``ai_search_options`` for a search or chat request (options left None are not sent: the
    instance's settings apply). Raises :class:`BadInput` for a value the service refuses."""
    retrieval: dict[str, Any] = {}
    _check_int("max_num_results", max_num_results, 1, MAX_NUM_RESULTS)
    if max_num_results is not None:
        retrieval["max_num_results"] = max_num_results
    for name, value in (("score_threshold", score_threshold), ("reranking_threshold", reranking_threshold)):
        _check_unit(name, value)
    if score_threshold is not None:
        retrieval["match_threshold"] = float(score_threshold)
    if filters:
        retrieval["filters"] = _check_filters(filters)
    choices: tuple[tuple[str, str | None, set[str]], ...] = (
        ("retrieval_type", retrieval_type, {"hybrid", "vector", "keyword"}),
        ("fusion_method", fusion_method, {"max", "rrf"}),
        ("keyword_match_mode", keyword_match_mode, {"exact_match", "fuzzy_match"}),
    )
    for key, choice, allowed in choices:
        if choice is not None:
            if choice not in allowed:
                raise BadInput(f"{key} must be one of {sorted(allowed)}, got {choice!r}")
            retrieval[key] = choice
    options: dict[str, Any] = {}
    if retrieval:
        options["retrieval"] = retrieval
    rewrite = {k: v for k, v in (("enabled", rewrite_query), ("model", rewrite_model)) if v is not None}
    if rewrite:
        options["query_rewrite"] = rewrite
    rerank = {"enabled": reranking, "model": reranking_model, "match_threshold": reranking_threshold}
    rerank = {k: v for k, v in rerank.items() if v is not None}
    if rerank:
        options["reranking"] = rerank
    return options


# -- parsing -----------------------------------------------------------------------------------------
PER_PAGE = 100
"""Instances and items per list request: the API reference's maximum (instances/methods/list)."""


def _page(answer: Any) -> list[Any]:
    """One page of a list answer (instances, items): a list, else :class:`ResponseFormatError`."""
    if not isinstance(answer, list):
        raise ResponseFormatError(f"AI Search answered {type(answer).__name__} where a list page was due")
    return answer


def _entry_key(entry: Any) -> str:
    """What tells a listed entry from another: its ``id``, else its whole JSON."""
    key = entry.get("id") if isinstance(entry, dict) else None
    if isinstance(key, str):
        return key
    return json.dumps(entry, sort_keys=True, default=str)


def _json(response: httpx.Response) -> Any:
    """The envelope's ``result``, or the body itself when it is not an envelope (chat completions
    answer in the OpenAI shape)."""
    try:
        body = response.json()
    except ValueError as exc:
        raise ResponseFormatError(
            f"expected JSON, got {response.text[:120]!r}", status=response.status_code
        ) from exc
    if isinstance(body, dict) and ("result" in body or "success" in body):
        result = unwrap_envelope(response)
        if "result" not in body:  # success without a result: nothing to read, not an empty answer
            raise ResponseFormatError(
                "AI Search answered an envelope without 'result'", status=response.status_code
            )
        return result
    return body


M = TypeVar("M", bound=BaseModel)


def _parse(model: type[M], raw: Any) -> M:
    """``raw`` as ``model``; an answer of another shape is :class:`ResponseFormatError`, never pydantic's
    ``ValidationError``."""
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(map(str, first["loc"])) or "the answer"
        raise ResponseFormatError(
            f"AI Search answered a {model.__name__} of the wrong shape ({where}: {first['msg']})"
        ) from None


def _parse_list(model: type[M], raw: Any) -> list[M]:
    """A list answer (instances, items), each entry as ``model``."""
    if not isinstance(raw, list):
        raise ResponseFormatError(
            f"AI Search answered {type(raw).__name__} where a list of {model.__name__} was due"
        )
    return [_parse(model, item) for item in raw]


def _parse_answer(raw: Any) -> AISearchAnswer:
    if not isinstance(raw, dict) or not isinstance(raw.get("choices"), list) or not raw["choices"]:
        raise ResponseFormatError("AI Search chat completion has no choices")
    choice = raw["choices"][0]
    message = (choice.get("message") if isinstance(choice, dict) else None) or {}
    if not isinstance(message, dict):
        raise ResponseFormatError("AI Search chat completion's message is not an object")
    chunks = raw.get("chunks")
    return _parse(
        AISearchAnswer,
        {
            "text": str(message.get("content") or ""),
            "chunks": _parse_list(SearchChunk, chunks) if chunks is not None else [],
            "model": raw.get("model"),
            "id": raw.get("id"),
        },
    )


def _upload_body(key: str, data: bytes | str, metadata: Mapping[str, Any] | None) -> tuple[bytes, str]:
    """The multipart body (and its content type) of an item upload, checked first."""
    if not isinstance(key, str) or not key or len(key) > MAX_FILENAME:
        raise BadInput(f"item key (file name) must be 1 to {MAX_FILENAME} characters")
    payload = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(payload) > MAX_FILE_BYTES:
        raise BadInput(f"item {key!r} is {len(payload)} bytes; uploads take at most 4 MB")
    fields = {"metadata": json.dumps(dict(metadata))} if metadata else {}
    request = httpx.Request("POST", "http://upload", files={"file": (key, payload)}, data=fields)
    return request.read(), request.headers["content-type"]


def _taken_by_a_lost_attempt(exc: WorkersAIError) -> bool:
    """A create refused because the id is taken (409; the API reference lists no code for it) after an
    earlier attempt of it lost its answer: the lost attempt may be what took it."""
    taken = isinstance(exc, Conflict) or "already exists" in exc.message.lower()
    return taken and exc.after_lost_answer


class _Calls:
    """The requests of :class:`AISearch`, built once for the sync and async methods."""

    def __init__(self, client: WorkersAI, namespace: str | None) -> None:
        self.client = client
        self.namespace = paths.ai_search_namespace(namespace) if namespace is not None else None

    def base(self) -> str:
        if self.namespace is None:
            return self.client.account_url("ai-search/instances")
        return self.client.account_url(
            path("ai-search/namespaces/{namespace}/instances", namespace=self.namespace)
        )

    def url(self, instance: str, tail: str = "", **ids: Any) -> str:
        """The instance's URL, then ``tail`` (a :func:`~workersai.paths.path` template of ``ids``)."""
        return self.base() + path("/{instance}" + tail, instance=instance, **ids)


class AISearch:
    """AI Search over the client's transport: ``client.ai_search`` (the ``default`` namespace), or
    ``AISearch(client, namespace="docs")``; ``namespace=None`` uses the older un-namespaced paths."""

    def __init__(self, client: WorkersAI, namespace: str | None = DEFAULT_NAMESPACE) -> None:
        self._calls = _Calls(client, namespace)
        self.client = client

    @property
    def namespace(self) -> str | None:
        return self._calls.namespace

    def in_namespace(self, namespace: str | None) -> AISearch:
        """The same client in another namespace (``None``: the older paths)."""
        return AISearch(self.client, namespace)

    # -- I/O, shared by every method --------------------------------------------------------------
    def _send(self, method: str, url: str, **kwargs: Any) -> Any:
        with narrowed(NotFound, InstanceNotFound):
            return _json(self.client.transport.request(method, url, **kwargs))

    async def _asend(self, method: str, url: str, **kwargs: Any) -> Any:
        with narrowed(NotFound, InstanceNotFound):
            return _json(await self.client.transport.arequest(method, url, **kwargs))

    def _list(self, url: str) -> list[Any]:
        flow = numbered_pages({}, PER_PAGE, _entry_key, "AI Search list")
        return drive(flow, lambda query: _page(self._send("GET", url, params=query)))

    async def _alist(self, url: str) -> list[Any]:
        async def fetch(query: dict[str, Any]) -> list[Any]:
            return _page(await self._asend("GET", url, params=query))

        return await adrive(numbered_pages({}, PER_PAGE, _entry_key, "AI Search list"), fetch)

    # -- instances --------------------------------------------------------------------------------
    def _create(self, instance: str, settings: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        check_instance_id(instance)
        _check_int("chunk_overlap (a percentage)", settings.get("chunk_overlap"), 0, 30)
        _check_int("max_num_results", settings.get("max_num_results"), 1, MAX_NUM_RESULTS)
        _check_unit("score_threshold", settings.get("score_threshold"))
        return self._calls.base(), {"id": instance, **{k: v for k, v in settings.items() if v is not None}}

    def create_instance(self, instance: str, **settings: Any) -> AISearchInstance:
        """Create an instance; ``settings`` as the API names them (chunk_size, chunk_overlap,
        max_num_results, score_threshold, hybrid_search_enabled, fusion_method, reranking,
        rewrite_query, embedding_model, ai_search_model, keyword_tokenizer, ...).

        When an attempt's answer was lost (the service may have created it) and the retry finds the id
        taken, the instance is read back and returned; an id taken at the first attempt raises
        :class:`~workersai.errors.Conflict` as before."""
        url, body = self._create(instance, settings)
        try:
            return _parse(AISearchInstance, self._send("POST", url, json=body))
        except WorkersAIError as exc:
            if not _taken_by_a_lost_attempt(exc):
                raise
        return self.get_instance(instance)

    async def acreate_instance(self, instance: str, **settings: Any) -> AISearchInstance:
        """Async twin of :meth:`create_instance`."""
        url, body = self._create(instance, settings)
        try:
            return _parse(AISearchInstance, await self._asend("POST", url, json=body))
        except WorkersAIError as exc:
            if not _taken_by_a_lost_attempt(exc):
                raise
        return await self.aget_instance(instance)

    def get_instance(self, instance: str) -> AISearchInstance:
        """An instance's settings; :class:`InstanceNotFound` if there is none."""
        return _parse(AISearchInstance, self._send("GET", self._calls.url(instance)))

    async def aget_instance(self, instance: str) -> AISearchInstance:
        """Async twin of :meth:`get_instance`."""
        return _parse(AISearchInstance, await self._asend("GET", self._calls.url(instance)))

    def list_instances(self) -> list[AISearchInstance]:
        """The namespace's instances."""
        return _parse_list(AISearchInstance, self._list(self._calls.base()))

    async def alist_instances(self) -> list[AISearchInstance]:
        """Async twin of :meth:`list_instances`."""
        return _parse_list(AISearchInstance, await self._alist(self._calls.base()))

    def update_instance(self, instance: str, **settings: Any) -> AISearchInstance:
        """Change an instance's settings (only those given)."""
        url, body = self._calls.url(instance), self._create(instance, settings)[1]
        del body["id"]
        return _parse(AISearchInstance, self._send("PUT", url, json=body))

    async def aupdate_instance(self, instance: str, **settings: Any) -> AISearchInstance:
        """Async twin of :meth:`update_instance`."""
        url, body = self._calls.url(instance), self._create(instance, settings)[1]
        del body["id"]
        return _parse(AISearchInstance, await self._asend("PUT", url, json=body))

    def delete_instance(self, instance: str) -> None:
        """Delete an instance and everything indexed in it."""
        self._send("DELETE", self._calls.url(instance))

    async def adelete_instance(self, instance: str) -> None:
        """Async twin of :meth:`delete_instance`."""
        await self._asend("DELETE", self._calls.url(instance))

    # -- items ------------------------------------------------------------------------------------
    def upload(
        self, instance: str, key: str, data: bytes | str, *, metadata: Mapping[str, Any] | None = None
    ) -> AISearchItem:
        """Upload one file (``key`` is its name or path, e.g. ``docs/intro.md``) to be indexed."""
        url = self._calls.url(instance, "/items")
        body, ctype = _upload_body(key, data, metadata)
        return _parse(AISearchItem, self._send("POST", url, content=body, headers={"Content-Type": ctype}))

    async def aupload(
        self, instance: str, key: str, data: bytes | str, *, metadata: Mapping[str, Any] | None = None
    ) -> AISearchItem:
        """Async twin of :meth:`upload`."""
        url = self._calls.url(instance, "/items")
        body, ctype = _upload_body(key, data, metadata)
        result = await self._asend("POST", url, content=body, headers={"Content-Type": ctype})
        return _parse(AISearchItem, result)

    def list_items(self, instance: str) -> list[AISearchItem]:
        """The instance's files."""
        return _parse_list(AISearchItem, self._list(self._calls.url(instance, "/items")))

    async def alist_items(self, instance: str) -> list[AISearchItem]:
        """Async twin of :meth:`list_items`."""
        return _parse_list(AISearchItem, await self._alist(self._calls.url(instance, "/items")))

    def delete_item(self, instance: str, item_id: str) -> None:
        """Remove a file and its chunks."""
        self._send("DELETE", self._calls.url(instance, "/items/{item}", item=item_id))

    async def adelete_item(self, instance: str, item_id: str) -> None:
        """Async twin of :meth:`delete_item`."""
        await self._asend("DELETE", self._calls.url(instance, "/items/{item}", item=item_id))

    # -- search and answers ------------------------------------------------------------------------
    def _query(
        self, instance: str, query: str | Sequence[Message], options: dict[str, Any]
    ) -> tuple[str, dict[str, Any]]:
        url = self._calls.url(instance)
        body: dict[str, Any] = {"messages": _messages(query)}
        opts = search_options(**options)
        if opts:
            body["ai_search_options"] = opts
        return url, body

    def search(self, instance: str, query: str | Sequence[Message], **options: Any) -> SearchResult:
        """The chunks relevant to ``query`` (a string or chat messages). Options (None: the instance's
        setting): ``filters``, ``max_num_results`` (1-50), ``score_threshold`` (0-1), ``retrieval_type``,
        ``fusion_method``, ``keyword_match_mode``, ``rewrite_query``, ``rewrite_model``, ``reranking``,
        ``reranking_model``, ``reranking_threshold``."""
        url, body = self._query(instance, query, options)
        return _parse(SearchResult, self._send("POST", url + "/search", json=body))

    async def asearch(self, instance: str, query: str | Sequence[Message], **options: Any) -> SearchResult:
        """Async twin of :meth:`search`."""
        url, body = self._query(instance, query, options)
        return _parse(SearchResult, await self._asend("POST", url + "/search", json=body))

    def answer(self, instance: str, query: str | Sequence[Message], **options: Any) -> AISearchAnswer:
        """A generated answer from the instance's content (``/chat/completions``), with the chunks it
        used; same options as :meth:`search`."""
        url, body = self._query(instance, query, options)
        return _parse_answer(self._send("POST", url + "/chat/completions", json=body))

    async def aanswer(self, instance: str, query: str | Sequence[Message], **options: Any) -> AISearchAnswer:
        """Async twin of :meth:`answer`."""
        url, body = self._query(instance, query, options)
        return _parse_answer(await self._asend("POST", url + "/chat/completions", json=body))

    chat_completions = answer
    achat_completions = aanswer

    def stats(self, instance: str) -> AISearchStats:
        """The instance's indexing counters."""
        return _parse(AISearchStats, self._send("GET", self._calls.url(instance, "/stats")))

    async def astats(self, instance: str) -> AISearchStats:
        """Async twin of :meth:`stats`."""
        return _parse(AISearchStats, await self._asend("GET", self._calls.url(instance, "/stats")))
