"""The Workers AI client: ``run`` any model, embeddings, chat and streaming chat, sync and async.

:class:`WorkersAI` is made of the parts in :mod:`workersai.resources` (one module a resource); this
module holds its construction, its copies (:meth:`WorkersAI.with_options`) and its lifecycle."""

from __future__ import annotations

import copy
import os
from typing import TYPE_CHECKING, Any

from pydantic import SecretStr

from ._version import __version__
from .deadline import DeadlineLike
from .errors import ConfigurationError
from .gateway import GatewayRoute
from .health import ModelHealth
from .live_catalog import CatalogCache
from .pacing import Pacer, PacingPolicy
from .resources.base import (
    DEFAULT_BASE_URL,
    DEFAULT_CHAT_MODEL,
    DEFAULT_EMBEDDING_MODEL,
    DEFAULT_GATEWAY_URL,
    MAX_EMBEDDING_BATCH,
    Message,
    Pooling,
)
from .resources.batches import Batches
from .resources.chat import OPENAI_CHAT_PATH, Chat
from .resources.markdown import Markdown
from .resources.models import Models
from .resources.native import Native
from .retry import RetryPolicy
from .transport import Transport
from .validation import check_account_id, check_gateway_id, clean_setting

USER_AGENT = f"workersai-python/{__version__}"
"""The ``User-Agent`` of every request a client sends: the package and its version."""

if TYPE_CHECKING:  # imported where used: creating a client, not with the package
    import httpx

    from .binding import BindingTransport
    from .d1 import D1
    from .vectorize import Vectorize

__all__ = [
    "DEFAULT_BASE_URL",
    "DEFAULT_CHAT_MODEL",
    "DEFAULT_EMBEDDING_MODEL",
    "DEFAULT_GATEWAY_URL",
    "MAX_EMBEDDING_BATCH",
    "OPENAI_CHAT_PATH",
    "Message",
    "Pooling",
    "WorkersAI",
]


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


class WorkersAI(Chat, Batches, Models, Markdown, Native):
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
    index's binding, or a mapping from index names to bindings; ``browser_binding=env.BROWSER`` runs
    :attr:`browser`'s Quick Actions through ``quickAction()`` (a crawl is REST only); ``d1_binding``
    (``env.DB``) serves ``client.d1``'s queries (one database's binding, or a mapping from database ids to
    bindings).

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
        browser_binding: Any = None,
        d1_binding: Any = None,
        reject_if_busy: bool = False,
        health: ModelHealth | None = None,
    ) -> None:
        self.reject_if_busy = reject_if_busy
        """Send ``options.rejectIfBusy`` with every model run (chat, embeddings, :meth:`run`)."""
        self.max_concurrency = max(1, max_concurrency)
        self.validate_models = validate_models
        self._catalog = CatalogCache()
        self.bindings: BindingTransport | None = None
        """The Worker bindings this client sends through (:mod:`workersai.binding`); None: HTTP."""
        if (
            binding is not None
            or vectorize_binding is not None
            or d1_binding is not None
            or browser_binding is not None
        ):
            if gateway_id is not None or base_url is not None or http_client or async_http_client:
                raise ConfigurationError(
                    "a client on Workers bindings takes no base URL, HTTP client or AI Gateway id"
                )
            http_client, async_http_client = self._on_bindings(
                binding, vectorize_binding, d1_binding, browser_binding
            )
        else:
            self._configure(
                account_id, api_token, base_url, gateway_id, gateway_url, gateway_token, gateway_route
            )
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
        headers = {"User-Agent": USER_AGENT}
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

    def _configure(
        self,
        account_id: str | None,
        api_token: str | SecretStr | None,
        base_url: str | None,
        gateway_id: str | None,
        gateway_url: str | None,
        gateway_token: str | SecretStr | None,
        gateway_route: GatewayRoute | None,
    ) -> None:
        """The REST settings, from the arguments or the environment, checked."""
        account = _setting(account_id, "CLOUDFLARE_ACCOUNT_ID", "account id")
        self.account_id = check_account_id(account) if account else None
        self._token = _secret(api_token, "CLOUDFLARE_API_TOKEN", "API token")
        base = _setting(base_url, "CLOUDFLARE_API_BASE_URL", "base URL")
        self.base_url = (base or DEFAULT_BASE_URL).rstrip("/")
        gateway = _setting(gateway_id, "CLOUDFLARE_AI_GATEWAY_ID", "AI Gateway id")
        self.gateway_id = check_gateway_id(gateway) if gateway else None
        gateway_base = _setting(gateway_url, "CLOUDFLARE_AI_GATEWAY_URL", "AI Gateway URL")
        self.gateway_url = (gateway_base or DEFAULT_GATEWAY_URL).rstrip("/")
        if gateway_route not in (None, "header", "url"):
            raise ConfigurationError("gateway_route must be 'header' or 'url'")
        self.gateway_route = gateway_route or ("url" if gateway_base else "header")
        """How requests reach the gateway: the ``cf-aig-gateway-id`` header on the standard path (the
        default), or the older gateway URL (the default when a gateway URL is given)."""
        self._gateway_token = _secret(gateway_token, "CLOUDFLARE_AI_GATEWAY_TOKEN", "AI Gateway token")

    def _on_bindings(
        self, binding: Any, vectorize_binding: Any, d1_binding: Any = None, browser_binding: Any = None
    ) -> tuple[httpx.Client, httpx.AsyncClient]:
        """The binding path (:mod:`workersai.binding`): no account, token, base URL or AI Gateway; the
        HTTP clients of this client's transport send through the Worker's bindings, async only."""
        import httpx

        from .binding import BINDING_ACCOUNT, BINDING_BASE_URL, BindingTransport

        self.account_id = BINDING_ACCOUNT
        self._token = None
        self.base_url = BINDING_BASE_URL
        self.gateway_id = None
        self.gateway_url = DEFAULT_GATEWAY_URL
        self.gateway_route = "header"
        self._gateway_token = None
        self.bindings = BindingTransport(binding, vectorize_binding, d1=d1_binding, browser=browser_binding)
        return httpx.Client(transport=self.bindings), httpx.AsyncClient(transport=self.bindings)

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
        from .resources.browser import Browser

        self.browser: Browser = Browser(self)
        """Browser Run (headless Chrome's Quick Actions and crawls) over this client's connection pool."""

    def __repr__(self) -> str:
        if self.bindings is not None:
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
