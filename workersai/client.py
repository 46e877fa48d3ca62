"""The Workers AI client: ``run`` any model, embeddings, chat and streaming chat, sync and async."""

from __future__ import annotations

import asyncio
import contextvars
import copy
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from pydantic import SecretStr
from typing_extensions import Unpack

from . import jsonlib
from .catalog import EMBEDDING_TASK, GENERATION_TASK, is_third_party
from .chat import (
    ChatOptions,
    StopFilter,
    ToolCallAccumulator,
    build_chat_payload,
    parse_chat_result,
    parse_stream_event,
    thinks_in_text,
)
from .deadline import DeadlineLike
from .errors import ConfigurationError, ResponseFormatError, WorkersAIError
from .fallback import FallbackChain, astream_through, stream_through
from .flows import adrive, drive
from .gateway import GATEWAY_ID_HEADER, GatewayOptions, GatewayRoute, gateway_info
from .health import ModelHealth
from .models_api import (
    DEFAULT_PER_PAGE,
    SCHEMA_PATH,
    SEARCH_PATH,
    CatalogCache,
    Page,
    PageFlow,
    check_per_page,
    read_page,
    read_schema,
    search_filters,
    search_pages,
)
from .pacing import Pacer, PacingPolicy
from .paths import path
from .raw_vectors import RawVector, rows_from_body, rows_from_parsed, vectors_from_result
from .reasoning import ThinkSplitter
from .rerank import DEFAULT_RERANK_MODEL, RerankRequest, RerankResult
from .retry import RetryPolicy
from .transport import Transport, unwrap_envelope
from .types import ChatChunk, ChatResult, GatewayInfo, ModelSchema, ModelSummary, ToolCall
from .usage import estimate_tokens, record_usage
from .validation import check_account_id, check_gateway_id, check_model, check_texts, clean_setting

if TYPE_CHECKING:  # imported where used: creating a client or calling the Batch API, not with the package
    import httpx

    from .batch import BatchJob, BatchResponse
    from .d1 import D1
    from .vectorize import Vectorize

DEFAULT_BASE_URL = "https://api.cloudflare.com/client/v4"
DEFAULT_GATEWAY_URL = "https://gateway.ai.cloudflare.com"
DEFAULT_CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
"""The chat model used when none is given: current (not deprecated), with function calling
(developers.cloudflare.com/workers-ai/models/llama-3.3-70b-instruct-fp8-fast/). Llama 3.1 8B, the
earlier default, is deprecated as of 2026-05-30."""
DEFAULT_EMBEDDING_MODEL = "@cf/baai/bge-base-en-v1.5"
MAX_EMBEDDING_BATCH = 100

Message = Mapping[str, Any]
Pooling = Literal["mean", "cls"]
_JSON = {"Content-Type": "application/json"}
V = TypeVar("V")


OPENAI_CHAT_PATH = "ai/v1/chat/completions"
"""Where third-party models (``openai/gpt-4.1``: AI Gateway's Unified Billing) are asked to chat: the
REST API page documents them on the OpenAI-compatible endpoints and ``/ai/run`` with ``{model, input}``,
not on ``/ai/run/{model}`` (https://developers.cloudflare.com/ai-gateway/usage/rest-api/)."""


def _bare_json(response: httpx.Response) -> Any:
    """An answer that is not in the Cloudflare envelope (the OpenAI-compatible endpoints)."""
    try:
        return jsonlib.loads(response.content)
    except ValueError as exc:
        raise ResponseFormatError(f"expected JSON, got {response.text[:120]!r}") from exc


def _as_messages(messages: str | Sequence[Message]) -> list[Message]:
    if isinstance(messages, str):
        return [{"role": "user", "content": messages}]
    return list(messages)


def _setting(value: str | None, env: str, what: str) -> str | None:
    """An argument, else its environment variable; stripped and checked (:func:`clean_setting`)."""
    raw = value or os.environ.get(env)
    return (clean_setting(raw, what) or None) if raw else None


def _secret(value: str | SecretStr | None, env: str, what: str) -> SecretStr | None:
    """A token from the argument or the environment, stripped and checked without ever showing it."""
    raw = value.get_secret_value() if isinstance(value, SecretStr) else value
    if raw is None:
        raw = os.environ.get(env)
    cleaned = clean_setting(raw, what, ascii_only=True) if raw else None
    return SecretStr(cleaned) if cleaned else None


class WorkersAI:
    """Client for the Workers AI REST API (and, via :attr:`vectorize`, Vectorize).

    Configuration comes from the arguments or from ``CLOUDFLARE_ACCOUNT_ID``, ``CLOUDFLARE_API_TOKEN``,
    ``CLOUDFLARE_API_BASE_URL`` (e.g. the local emulator's URL) and ``CLOUDFLARE_AI_GATEWAY_ID``.
    The token is kept as a secret and never shown in ``repr``, logs or error messages.

    One client holds one pooled ``httpx.Client`` and async clients per event loop; reuse it, and
    :meth:`close` it (or use it as a context manager) when done.

    Model ids are checked for their form before any request. ``validate_models`` (on by default) also
    refuses, before any request, a model the bundled catalog knows for another task (an embedding
    model asked to chat); a well-formed id the catalog lacks is sent, and the service decides.

    ``pace`` paces requests to each model through :meth:`run` (hence :meth:`embed` and bulk adds)
    below the model's requests per minute from the catalog, shared by all threads and tasks of this
    client, adapting to 429s and ``Retry-After`` (:mod:`workersai.pacing`). By default (None) it is on
    against Cloudflare's own API (a ``*.cloudflare.com`` base URL), whose limits the catalog states, and
    off for any other base URL (the local emulator, a proxy), which may have none; ``True`` or a
    :class:`~workersai.pacing.PacingPolicy` (other limits) turns it on, ``False`` off; a
    :class:`~workersai.pacing.Pacer` is used as it is (shared by several clients, or with its own clock).
    Every request also keeps within the Cloudflare API's global budget once it is known (stated in the
    policy, or read from the answers' ``Ratelimit`` headers).

    Inside a Cloudflare Python Worker, ``WorkersAI(binding=env.AI, vectorize_binding=env.VECTORIZE)``
    runs on the Worker's bindings instead of the REST API (no account id or token; :mod:`workersai.binding`):
    every adapter works on it unchanged, through its async methods only. ``vectorize_binding`` is one
    index's binding, or a mapping from index names to bindings.

    Retries: ``max_retries`` (3 by default: four attempts in all, as langchain-openai's and
    openai-python's documented default of 2 retries plus the capacity errors Workers AI answers under
    load). A wrapper that owns its own retry budget (``with_workersai_retry``, a fallback chain) turns
    these off for the calls it makes. :meth:`with_options` gives a copy with other retries, timeout,
    ``deadline`` (total seconds per call, across retries) or ``reject_if_busy`` for some calls.
    ``reject_if_busy`` sends ``options.rejectIfBusy``: a busy model refuses at once (429/3040) instead
    of holding the request in its capacity queue. ``health`` is the per-model breaker record that
    fallback chains consult (:mod:`workersai.health`; the process-wide one by default).
    """

    def __init__(
        self,
        account_id: str | None = None,
        api_token: str | SecretStr | None = None,
        *,
        base_url: str | None = None,
        gateway_id: str | None = None,
        gateway_url: str | None = None,
        gateway_token: str | SecretStr | None = None,
        gateway_route: GatewayRoute | None = None,
        timeout: float = 60.0,
        max_retries: int = 3,
        retry_policy: RetryPolicy | None = None,
        max_concurrency: int = 8,
        validate_models: bool = True,
        http_client: httpx.Client | None = None,
        async_http_client: httpx.AsyncClient | None = None,
        pace: bool | PacingPolicy | Pacer | None = None,
        binding: Any = None,
        vectorize_binding: Any = None,
        reject_if_busy: bool = False,
        health: ModelHealth | None = None,
    ) -> None:
        self.reject_if_busy = reject_if_busy
        """Send ``options.rejectIfBusy`` with every model run (chat, embeddings, :meth:`run`)."""
        if binding is not None or vectorize_binding is not None:
            if gateway_id is not None or base_url is not None or http_client or async_http_client:
                raise ConfigurationError(
                    "a client on Workers bindings takes no base URL, HTTP client or AI Gateway id"
                )
            self.validate_models = validate_models
            self._init_binding(binding, vectorize_binding, max_retries, retry_policy, max_concurrency, pace)
            self.transport.health = health
            return
        account = _setting(account_id, "CLOUDFLARE_ACCOUNT_ID", "account id")
        self.account_id: str | None = check_account_id(account) if account else None
        self._token = _secret(api_token, "CLOUDFLARE_API_TOKEN", "API token")
        base = _setting(base_url, "CLOUDFLARE_API_BASE_URL", "base URL")
        self.base_url = (base or DEFAULT_BASE_URL).rstrip("/")
        gateway = _setting(gateway_id, "CLOUDFLARE_AI_GATEWAY_ID", "AI Gateway id")
        self.gateway_id = check_gateway_id(gateway) if gateway else None
        gateway_base = _setting(gateway_url, "CLOUDFLARE_AI_GATEWAY_URL", "AI Gateway URL")
        self.gateway_url = (gateway_base or DEFAULT_GATEWAY_URL).rstrip("/")
        if gateway_route not in (None, "header", "url"):
            raise ConfigurationError("gateway_route must be 'header' or 'url'")
        self.gateway_route: GatewayRoute = gateway_route or ("url" if gateway_base else "header")
        """How requests reach the gateway: the ``cf-aig-gateway-id`` header on the standard path (the
        default), or the older gateway URL (the default when a gateway URL is given)."""
        self._gateway_token = _secret(gateway_token, "CLOUDFLARE_AI_GATEWAY_TOKEN", "AI Gateway token")
        self.max_concurrency = max(1, max_concurrency)
        self.validate_models = validate_models
        self._catalog = CatalogCache()
        if pace is None:
            import httpx

            pace = (httpx.URL(self.base_url).host or "").endswith("cloudflare.com")
        self.pacer: Pacer | None = (
            pace
            if isinstance(pace, Pacer)
            else Pacer(pace if isinstance(pace, PacingPolicy) else None)
            if pace is not False
            else None
        )
        """The per-model pacing shared by this client's threads and tasks (None when it is off)."""
        headers = {"User-Agent": "workersai-python/0.1"}
        if self._token is not None:
            headers["Authorization"] = f"Bearer {self._token.get_secret_value()}"
        if self._gateway_token is not None:
            headers["cf-aig-authorization"] = f"Bearer {self._gateway_token.get_secret_value()}"
        self.transport: Transport = Transport(
            headers=headers,
            timeout=timeout,
            retry=retry_policy or RetryPolicy(max_retries=max_retries),
            max_connections=max(100, max_concurrency * 2),
            http_client=http_client,
            async_http_client=async_http_client,
            pacer=self.pacer,
            health=health,
        )
        self._parts()

    def with_options(
        self,
        *,
        max_retries: int | None = None,
        retry_policy: RetryPolicy | None = None,
        timeout: float | httpx.Timeout | None = None,
        deadline: DeadlineLike | None = None,
        reject_if_busy: bool | None = None,
    ) -> WorkersAI:
        """A copy of this client for some calls, sharing its connection pools, pacing and health record
        (as openai-python's ``client.with_options``); None keeps a setting.

        ``max_retries`` replaces the retry count (``retry_policy`` the whole policy), ``timeout`` each
        request's HTTP timeout, ``deadline`` bounds each call in total (seconds, or a running
        :class:`~workersai.deadline.Deadline` that several calls share), ``reject_if_busy`` sends
        ``options.rejectIfBusy``. Closing the copy closes the shared pools."""
        clone = copy.copy(self)
        policy = retry_policy
        if policy is None and max_retries is not None:
            from dataclasses import replace

            policy = replace(self.transport.retry, max_retries=max_retries)
        clone.transport = self.transport.with_options(retry=policy, timeout=timeout, deadline=deadline)
        if reject_if_busy is not None:
            clone.reject_if_busy = reject_if_busy
        clone._parts()
        return clone

    @property
    def health(self) -> ModelHealth:
        """The per-model health record this client feeds and its fallback chains consult."""
        return self.transport.model_health()

    def _init_binding(
        self,
        binding: Any,
        vectorize_binding: Any,
        max_retries: int,
        retry_policy: RetryPolicy | None,
        max_concurrency: int,
        pace: bool | PacingPolicy | Pacer | None,
    ) -> None:
        """The binding path (:mod:`workersai.binding`): no account, token, base URL or AI Gateway; the
        requests the client builds are answered by the Worker's bindings, async only."""
        from .binding import BINDING_ACCOUNT, BINDING_BASE_URL, BindingTransport

        self.account_id = BINDING_ACCOUNT
        self._token = None
        self.base_url = BINDING_BASE_URL
        self.gateway_id = None
        self.gateway_url = DEFAULT_GATEWAY_URL
        self.gateway_route = "header"
        self._gateway_token = None
        self.max_concurrency = max(1, max_concurrency)
        self._catalog = CatalogCache()
        self.pacer = (
            (pace if isinstance(pace, Pacer) else Pacer(pace if isinstance(pace, PacingPolicy) else None))
            if pace
            else None
        )
        self.transport = BindingTransport(
            binding,
            vectorize_binding,
            retry=retry_policy or RetryPolicy(max_retries=max_retries),
            pacer=self.pacer,
        )
        self._parts()

    def _parts(self) -> None:
        """The product clients, built once on this client's transport."""
        from .d1 import D1
        from .vectorize import Vectorize  # imported on use, as before: vectorize may import this module

        self.vectorize: Vectorize = Vectorize(self)
        """The Vectorize client sharing this client's connection pool and settings."""
        self.d1: D1 = D1(self)
        """The D1 client (SQLite databases) sharing this client's connection pool and settings."""
        from .ai_search import AISearch

        self.ai_search: AISearch = AISearch(self)
        """AI Search (the ``default`` namespace) over this client's connection pool and settings."""

    def __repr__(self) -> str:
        if self.transport.is_binding:
            return "WorkersAI(binding=...)"
        token = "SecretStr('**********')" if self._token is not None else "None"
        gateway = f", gateway_id={self.gateway_id!r}" if self.gateway_id else ""
        where = f"account_id={self.account_id!r}, base_url={self.base_url!r}{gateway}"
        return f"WorkersAI({where}, api_token={token})"

    # -- lifecycle ------------------------------------------------------------------------------
    def close(self) -> None:
        self.transport.close()

    async def aclose(self) -> None:
        await self.transport.aclose()

    def __enter__(self) -> WorkersAI:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    async def __aenter__(self) -> WorkersAI:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- urls -----------------------------------------------------------------------------------
    def _account(self) -> str:
        if self.transport.is_binding:
            return str(self.account_id)
        if not self.account_id:
            raise ConfigurationError("no account id: pass account_id= or set CLOUDFLARE_ACCOUNT_ID")
        if self._token is None:
            raise ConfigurationError("no API token: pass api_token= or set CLOUDFLARE_API_TOKEN")
        return self.account_id

    def account_url(self, path: str) -> str:
        """``{base}/accounts/{account_id}/{path}``."""
        return f"{self.base_url}/accounts/{self._account()}/{path.lstrip('/')}"

    def run_url(self, model: str) -> str:
        """The URL that runs ``model``: ``.../ai/run/{model}``, or the AI Gateway's. The model id is
        checked (:func:`~workersai.paths.path`) and stays unencoded, slashes and all."""
        account = self._account()
        if self.gateway_id and self.gateway_route == "url":
            return f"{self.gateway_url}/v1/{account}/{self.gateway_id}/" + path(
                "workers-ai/{model}", model=model
            )
        return self.account_url(path("ai/run/{model}", model=model))

    def _raw_headers(self, gateway: GatewayOptions | None) -> dict[str, str]:
        """The headers of an :meth:`embed_raw` request (JSON, and the gateway's)."""
        return {**_JSON, **self._gateway_headers(gateway)}

    def _gateway_headers(self, gateway: GatewayOptions | None) -> dict[str, str]:
        """The AI Gateway headers of one Workers AI request: the gateway's id (header route) and the
        call's options."""
        headers = gateway.headers() if gateway else {}
        if self.gateway_id and self.gateway_route == "header":
            headers[GATEWAY_ID_HEADER] = self.gateway_id
        return headers

    # -- any model ------------------------------------------------------------------------------
    def _inputs(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """A model's inputs with ``options.rejectIfBusy`` when this client sets it: a top-level
        ``options`` object of the REST body, which the binding passes as ``env.AI.run``'s third argument
        (developers.cloudflare.com/workers-ai/features/reject-if-busy/)."""
        body = dict(inputs)
        if self.reject_if_busy:
            body["options"] = {**(body.get("options") or {}), "rejectIfBusy": True}
        return body

    def run(self, model: str, inputs: Mapping[str, Any], *, gateway: GatewayOptions | None = None) -> Any:
        """Run any model with raw ``inputs``; returns the envelope's ``result``."""
        check_model(model, use_catalog=False)
        headers = self._gateway_headers(gateway)
        response = self.transport.request(
            "POST", self.run_url(model), json=self._inputs(inputs), headers=headers, pace=model
        )
        return unwrap_envelope(response)

    async def arun(
        self, model: str, inputs: Mapping[str, Any], *, gateway: GatewayOptions | None = None
    ) -> Any:
        """Async twin of :meth:`run`."""
        check_model(model, use_catalog=False)
        headers = self._gateway_headers(gateway)
        response = await self.transport.arequest(
            "POST", self.run_url(model), json=self._inputs(inputs), headers=headers, pace=model
        )
        return unwrap_envelope(response)

    # -- embeddings -----------------------------------------------------------------------------
    def _embedding_batches(self, texts: Sequence[str], model: str, batch_size: int) -> list[list[str]]:
        check_model(model, EMBEDDING_TASK, use_catalog=self.validate_models)
        items = check_texts(texts)
        size = max(1, min(batch_size, MAX_EMBEDDING_BATCH))
        return [items[i : i + size] for i in range(0, len(items), size)]

    @staticmethod
    def _embed_inputs(batch: list[str], pooling: Pooling | None) -> dict[str, Any]:
        inputs: dict[str, Any] = {"text": batch}
        if pooling is not None:
            inputs["pooling"] = pooling
        return inputs

    @staticmethod
    def _vectors(model: str, batch: list[str], result: Any) -> list[list[float]]:
        vectors = vectors_from_result(result, len(batch))
        record_usage(model, sum(estimate_tokens(t) for t in batch), estimated=True)
        return vectors

    @classmethod
    def _raw_vectors(cls, model: str, batch: list[str], response: httpx.Response) -> list[RawVector]:
        """The answer's rows as checked JSON bytes, when the fast path is sure of them; otherwise the
        answer is parsed whole and checked as the fast path checks (:mod:`.raw_vectors`)."""
        try:
            rows = rows_from_body(response.content, len(batch))
        except ValueError:
            result = unwrap_envelope(response)
            vectors = cls._vectors(model, batch, result)
            return rows_from_parsed(vectors, result.get("shape"))  # a mapping: _vectors checked it
        record_usage(model, sum(estimate_tokens(t) for t in batch), estimated=True)
        return rows

    def _gather(self, batches: list[list[str]], one: Callable[[list[str]], list[V]]) -> list[V]:
        """``one`` over every batch, ``max_concurrency`` at a time, in order."""
        if len(batches) == 1:
            return one(batches[0])
        with ThreadPoolExecutor(min(self.max_concurrency, len(batches))) as pool:
            futures = [pool.submit(contextvars.copy_context().run, one, b) for b in batches]
            return [vector for f in futures for vector in f.result()]

    async def _agather(
        self, batches: list[list[str]], one: Callable[[list[str]], Awaitable[list[V]]]
    ) -> list[V]:
        limit = asyncio.Semaphore(self.max_concurrency)

        async def limited(batch: list[str]) -> list[V]:
            async with limit:
                return await one(batch)

        results = await asyncio.gather(*(limited(b) for b in batches))
        return [vector for part in results for vector in part]

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
    ) -> list[list[float]]:
        """Embed any number of texts, in requests of at most 100 sent ``max_concurrency`` at a time;
        the vectors come back in input order."""

        def one(batch: list[str]) -> list[list[float]]:
            return self._vectors(
                model, batch, self.run(model, self._embed_inputs(batch, pooling), gateway=gateway)
            )

        return self._gather(self._embedding_batches(texts, model, batch_size), one)

    async def aembed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed` (at most ``max_concurrency`` requests in flight)."""

        async def one(batch: list[str]) -> list[list[float]]:
            result = await self.arun(model, self._embed_inputs(batch, pooling), gateway=gateway)
            return self._vectors(model, batch, result)

        return await self._agather(self._embedding_batches(texts, model, batch_size), one)

    def embed_raw(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
    ) -> list[RawVector]:
        """:meth:`embed` for vectors that are only written to Vectorize: each comes back as a view of
        its JSON array's bytes in the answer (:class:`~workersai.raw_vectors.RawVector`, checked:
        shape, numbers only), which the Vectorize writes splice into their NDJSON as it is; no float
        is parsed or printed again. The bulk adds of the stores use it."""

        def one(batch: list[str]) -> list[RawVector]:
            body = jsonlib.dumps(self._embed_inputs(batch, pooling))
            response = self.transport.request(
                "POST",
                self.run_url(model),
                content=body,
                headers=self._raw_headers(gateway),
                pace=model,
            )
            return self._raw_vectors(model, batch, response)

        return self._gather(self._embedding_batches(texts, model, batch_size), one)

    async def aembed_raw(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
    ) -> list[RawVector]:
        """Async twin of :meth:`embed_raw`."""

        async def one(batch: list[str]) -> list[RawVector]:
            body = jsonlib.dumps(self._embed_inputs(batch, pooling))
            response = await self.transport.arequest(
                "POST",
                self.run_url(model),
                content=body,
                headers=self._raw_headers(gateway),
                pace=model,
            )
            return self._raw_vectors(model, batch, response)

        return await self._agather(self._embedding_batches(texts, model, batch_size), one)

    # -- reranking ------------------------------------------------------------------------------
    # The request is checked and built, and its answer read, in :mod:`.rerank`; only the send differs.
    def rerank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        gateway: GatewayOptions | None = None,
    ) -> list[RerankResult]:
        """Score ``texts`` against ``query`` with a reranker (``@cf/baai/bge-reranker-base``) or
        bge-m3's scoring (``model="@cf/baai/bge-m3"``): results best first, each with the text's index
        in ``texts``, its score and the text; at most ``top_k``. Bad input raises ``BadInput`` before
        any request."""
        request = RerankRequest.build(
            query, texts, top_k=top_k, model=model, use_catalog=self.validate_models
        )
        return request.parse(self.run(model, request.payload, gateway=gateway))

    async def arerank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        gateway: GatewayOptions | None = None,
    ) -> list[RerankResult]:
        """Async twin of :meth:`rerank`."""
        request = RerankRequest.build(
            query, texts, top_k=top_k, model=model, use_catalog=self.validate_models
        )
        return request.parse(await self.arun(model, request.payload, gateway=gateway))

    # -- Batch API (workersai/batch.py) ---------------------------------------------------------
    def _queue_request(
        self, model: str, requests: Sequence[Mapping[str, Any]]
    ) -> tuple[str, bytes, Mapping[str, str]]:
        """The URL, body and query of a Batch API submission."""
        from .batch import QUEUE_PARAMS, submission_body

        check_model(model, use_catalog=False)
        return self.account_url(path("ai/run/{model}", model=model)), submission_body(requests), QUEUE_PARAMS

    def _queued(self, model: str, response: httpx.Response) -> BatchJob:
        """The job a submission's answer names."""
        from .batch import BatchJob, read_queued

        return BatchJob(self, model, read_queued(unwrap_envelope(response))[0])

    def queue(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchJob:
        """Queue ``requests`` (each the model's input, optionally with an ``external_reference``) on the
        Batch API; the :class:`~workersai.batch.BatchJob` to wait for. At most 10 MB as sent.

        The submission is retried only when the service cannot have queued it (429s, connections
        never made): a lost answer after it was sent raises rather than risk queuing the batch twice."""
        url, body, params = self._queue_request(model, requests)
        response = self.transport.request(
            "POST", url, content=body, params=params, headers=_JSON, retry="unsent"
        )
        return self._queued(model, response)

    async def aqueue(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchJob:
        """Async twin of :meth:`queue`."""
        url, body, params = self._queue_request(model, requests)
        response = await self.transport.arequest(
            "POST", url, content=body, params=params, headers=_JSON, retry="unsent"
        )
        return self._queued(model, response)

    def batch_job(self, model: str, request_id: str) -> BatchJob:
        """The job queued earlier as ``request_id`` (e.g. by another process); no request is made."""
        from .batch import BatchJob

        check_model(model, use_catalog=False)
        return BatchJob(self, model, request_id)

    def _embed_batch_requests(
        self, texts: Sequence[str], model: str, pooling: Pooling | None, batch_size: int
    ) -> tuple[list[list[str]], list[list[dict[str, Any]]]]:
        """The texts in requests of ``batch_size`` (each referenced by its index), packed into batches
        under 10 MB."""
        from .batch import pack

        chunks = self._embedding_batches(texts, model, batch_size)
        requests = [
            {**self._embed_inputs(c, pooling), "external_reference": str(i)} for i, c in enumerate(chunks)
        ]
        return chunks, pack(requests)

    def _batch_vectors(
        self, model: str, chunks: list[list[str]], responses: list[BatchResponse]
    ) -> list[list[float]]:
        from .batch import results

        found = {r.external_reference: r for r in responses}
        out: list[list[float]] = []
        for i, chunk in enumerate(chunks):
            response = found.get(str(i))
            if response is None:
                raise ResponseFormatError(f"the batch has no response for request {i}")
            out.extend(self._vectors(model, chunk, results([response])[0]))
        return out

    def embed_batch(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> list[list[float]]:
        """Embed any number of texts through the Batch API: requests of 100 texts, as few batches as
        the 10 MB limit allows, polled until done; the vectors in input order.

        An error raised once a batch is queued names the queued batches (its ``queued_request_ids``
        and message): take them up with :meth:`batch_job` instead of queuing the texts again."""
        from .batch import name_queued

        chunks, batches = self._embed_batch_requests(texts, model, pooling, batch_size)
        jobs: list[BatchJob] = []
        try:
            jobs.extend(self.queue(model, b) for b in batches)
            responses = [r for job in jobs for r in job.wait(timeout, poll_interval)]
            return self._batch_vectors(model, chunks, responses)
        except WorkersAIError as exc:
            name_queued(exc, model, [job.request_id for job in jobs])
            raise

    async def aembed_batch(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed_batch` (the batches polled together: the first to fail stops
        the others' polling)."""
        from .batch import await_all, name_queued

        chunks, batches = self._embed_batch_requests(texts, model, pooling, batch_size)
        jobs: list[BatchJob] = []
        try:
            for b in batches:
                jobs.append(await self.aqueue(model, b))
            waited = await await_all([job.await_(timeout, poll_interval) for job in jobs])
            return self._batch_vectors(model, chunks, [r for part in waited for r in part])
        except WorkersAIError as exc:
            name_queued(exc, model, [job.request_id for job in jobs])
            raise

    # -- chat -----------------------------------------------------------------------------------
    # The sync and async twins below share everything but the send: the request (url, body, headers)
    # and the reading of the answer are built here once.
    def _chat_request(
        self,
        messages: str | Sequence[Message],
        model: str,
        gateway: GatewayOptions | None,
        options: ChatOptions,
        *,
        stream: bool,
    ) -> tuple[str, dict[str, Any], dict[str, str]]:
        headers = {"Accept": "text/event-stream"} if stream else {}
        headers.update(self._gateway_headers(gateway))
        if is_third_party(model):  # Unified Billing: the OpenAI-compatible endpoint, model in the body
            payload = build_chat_payload(_as_messages(messages), model=None, stream=stream, **options)
            return self.account_url(OPENAI_CHAT_PATH), {"model": model, **payload}, headers
        check_model(model, GENERATION_TASK, use_catalog=self.validate_models)
        payload = build_chat_payload(_as_messages(messages), model=model, stream=stream, **options)
        return self.run_url(model), self._inputs(payload), headers

    @staticmethod
    def _chat_result(model: str, response: httpx.Response, options: ChatOptions) -> ChatResult:
        json_mode = options.get("response_format") is not None
        # /ai/v1/chat/completions answers a bare chat completion, /ai/run an envelope
        body = _bare_json(response) if is_third_party(model) else unwrap_envelope(response)
        result = parse_chat_result(model, body, options.get("stop"), json_mode=json_mode)
        result.gateway = gateway_info(response.headers)
        result.attempts = response.extensions.get("workersai_attempts", 1)
        if result.usage is not None:
            record_usage(result.model, result.usage.prompt_tokens, result.usage.completion_tokens)
        return result

    def chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """One chat answer: text, tool calls, usage (and, in JSON mode, the parsed object).

        ``fallbacks``: models to try in turn when ``model`` is busy, rate limited, unknown or failing
        (never for bad input), under :mod:`workersai.fallback`'s budget rules: a model with a fallback
        is tried once with ``rejectIfBusy``, the last one retries. The answer's ``model``,
        ``attempts`` and ``fallbacks`` say how it went."""
        if fallbacks:
            chain = FallbackChain(self, [model, *fallbacks])
            return chain.run(lambda c, m: c.chat(messages, model=m, gateway=gateway, **options))
        url, payload, headers = self._chat_request(messages, model, gateway, options, stream=False)
        response = self.transport.request("POST", url, json=payload, headers=headers, model=model)
        return self._chat_result(model, response, options)

    async def achat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        **options: Unpack[ChatOptions],
    ) -> ChatResult:
        """Async twin of :meth:`chat`."""
        if fallbacks:

            async def one(c: WorkersAI, m: str) -> ChatResult:
                return await c.achat(messages, model=m, gateway=gateway, **options)

            return await FallbackChain(self, [model, *fallbacks]).arun(one)
        url, payload, headers = self._chat_request(messages, model, gateway, options, stream=False)
        response = await self.transport.arequest("POST", url, json=payload, headers=headers, model=model)
        return self._chat_result(model, response, options)

    def stream_chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        **options: Unpack[ChatOptions],
    ) -> Iterator[ChatChunk]:
        """Stream a chat answer as :class:`ChatChunk` s: text deltas, tool-call deltas, then usage.
        ``fallbacks`` as for :meth:`chat`: a model is left only before its first chunk.

        The request is retried only until the stream opens; a stream that breaks off later raises
        :class:`~workersai.errors.StreamInterrupted`, as does a deadline (:meth:`with_options`) that
        passes mid-stream. The last chunk names the model and the attempts it took to open.
        """
        if fallbacks:
            chain = FallbackChain(self, [model, *fallbacks])
            yield from stream_through(
                chain, lambda c, m: c.stream_chat(messages, model=m, gateway=gateway, **options)
            )
            return
        from .streaming import iter_sse_json  # imports httpx-sse (and httpx): on use, not with the package

        url, payload, headers = self._chat_request(messages, model, gateway, options, stream=True)
        state = _StreamState(model, options.get("stop"))
        with self.transport.stream("POST", url, json=payload, headers=headers, model=model) as response:
            state.opened(response)
            state.gateway = gateway_info(response.headers)
            for event in iter_sse_json(response):
                state.in_time()
                yield from state.feed(event)
        yield from state.finish()

    async def astream_chat(
        self,
        messages: str | Sequence[Message],
        *,
        model: str = DEFAULT_CHAT_MODEL,
        gateway: GatewayOptions | None = None,
        fallbacks: Sequence[str] = (),
        **options: Unpack[ChatOptions],
    ) -> AsyncIterator[ChatChunk]:
        """Async twin of :meth:`stream_chat`."""
        if fallbacks:
            chain = FallbackChain(self, [model, *fallbacks])
            opened = astream_through(
                chain, lambda c, m: c.astream_chat(messages, model=m, gateway=gateway, **options)
            )
            async for chunk in opened:
                yield chunk
            return
        from .streaming import aiter_sse_json

        url, payload, headers = self._chat_request(messages, model, gateway, options, stream=True)
        state = _StreamState(model, options.get("stop"))
        opening = self.transport.astream("POST", url, json=payload, headers=headers, model=model)
        async with opening as response:
            state.opened(response)
            state.gateway = gateway_info(response.headers)
            async for event in aiter_sse_json(response):
                state.in_time()
                for chunk in state.feed(event):
                    yield chunk
        for chunk in state.finish():
            yield chunk

    # -- catalog --------------------------------------------------------------------------------
    # The live catalog (GET /ai/models/search, /ai/models/schema), read through models_api's paging flow;
    # the sync and async twins differ only in the send.
    def _models_query(
        self, task: str | None, search: str | None, author: str | None, per_page: int
    ) -> tuple[dict[str, str], PageFlow]:
        filters = search_filters(task, search, author)
        return filters, search_pages(filters, check_per_page(per_page))

    def models(
        self,
        task: str | None = None,
        search: str | None = None,
        author: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        refresh: bool = False,
    ) -> list[ModelSummary]:
        """Every model the service's catalog lists (``GET /ai/models/search``), all pages followed.

        ``task`` is a task name (``"Text Generation"``, ``"Text Embeddings"``, ...), ``search`` matches
        names and descriptions, ``author`` the author (``"meta"``). The answer is kept per client: the
        same filters are read once; ``refresh=True`` reads the service again.
        """
        filters, flow = self._models_query(task, search, author, per_page)
        cached = None if refresh else self._catalog.listing(filters)
        if cached is not None:
            return cached
        url = self.account_url(SEARCH_PATH)
        found = drive(flow, lambda query: read_page(self.transport.request("GET", url, params=query)))
        return self._catalog.keep_listing(filters, found)

    async def amodels(
        self,
        task: str | None = None,
        search: str | None = None,
        author: str | None = None,
        *,
        per_page: int = DEFAULT_PER_PAGE,
        refresh: bool = False,
    ) -> list[ModelSummary]:
        """Async twin of :meth:`models` (sharing its cache)."""
        filters, flow = self._models_query(task, search, author, per_page)
        cached = None if refresh else self._catalog.listing(filters)
        if cached is not None:
            return cached
        url = self.account_url(SEARCH_PATH)

        async def fetch(query: dict[str, Any]) -> Page:
            return read_page(await self.transport.arequest("GET", url, params=query))

        return self._catalog.keep_listing(filters, await adrive(flow, fetch))

    def model_schema(self, model: str, *, refresh: bool = False) -> ModelSchema:
        """The input and output JSON schemas of ``model`` (``GET /ai/models/schema``), kept per client."""
        check_model(model, use_catalog=False)
        cached = None if refresh else self._catalog.schema(model)
        if cached is not None:
            return cached
        response = self.transport.request("GET", self.account_url(SCHEMA_PATH), params={"model": model})
        return self._catalog.keep_schema(read_schema(model, response))

    async def amodel_schema(self, model: str, *, refresh: bool = False) -> ModelSchema:
        """Async twin of :meth:`model_schema`."""
        check_model(model, use_catalog=False)
        cached = None if refresh else self._catalog.schema(model)
        if cached is not None:
            return cached
        response = await self.transport.arequest(
            "GET", self.account_url(SCHEMA_PATH), params={"model": model}
        )
        return self._catalog.keep_schema(read_schema(model, response))


class _StreamState:
    """Separates reasoning from the answer, applies stop sequences to the answer, and gathers the
    stream's usage and tool calls."""

    def __init__(self, model: str, stop: Sequence[str] | None) -> None:
        self.model = model
        self.stop = StopFilter(stop)
        self.think = ThinkSplitter(implicit_open=thinks_in_text(model))
        self.tools = ToolCallAccumulator()
        self.usage: Any = None
        self.finish_reason: str | None = None
        self.gateway: GatewayInfo | None = None
        self.attempts = 1
        self.deadline: Any = None

    def opened(self, response: httpx.Response) -> None:
        """The stream is open: keep how many attempts that took and the call's deadline."""
        self.attempts = response.extensions.get("workersai_attempts", 1)
        self.deadline = response.extensions.get("workersai_deadline")

    def in_time(self) -> None:
        """Raise :class:`StreamInterrupted` once the call's deadline has passed mid-stream."""
        if self.deadline is not None and self.deadline.remaining() <= 0:
            from .errors import StreamInterrupted

            raise StreamInterrupted(
                f"the deadline of {self.deadline.seconds:g} s passed before {self.model}'s stream ended"
            )

    def feed(self, event: Any) -> list[ChatChunk]:
        """The chunk to pass on for one parsed SSE frame (none when it holds nothing to show)."""
        chunk = parse_stream_event(event)
        if chunk.usage is not None:
            self.usage = chunk.usage
        if chunk.finish_reason:
            self.finish_reason = chunk.finish_reason
        self.tools.add(chunk.tool_calls)
        thought, answer = self.think.feed(chunk.text)
        reasoning = chunk.reasoning + thought
        text = self.stop.feed(answer)
        if not text and not reasoning and not chunk.tool_calls:
            return []
        return [ChatChunk(text=text, reasoning=reasoning, tool_calls=chunk.tool_calls)]

    def tool_calls(self) -> list[ToolCall]:
        return self.tools.tool_calls()

    def finish(self) -> Iterator[ChatChunk]:
        thought, answer = self.think.flush()
        rest = self.stop.feed(answer) + self.stop.flush()
        if rest or thought:
            yield ChatChunk(text=rest, reasoning=thought)
        if self.usage is not None:
            record_usage(self.model, self.usage.prompt_tokens, self.usage.completion_tokens)
        finish = self.finish_reason or ("stop" if self.stop.stopped else None)
        if self.tools.tool_calls() and finish is None:
            finish = "tool_calls"
        yield ChatChunk(
            usage=self.usage,
            finish_reason=finish or "stop",
            gateway=self.gateway,
            model=self.model,
            attempts=self.attempts,
        )
