"""What every part of the client shares: its settings, the URLs it sends to, and ``run`` (any model)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, TypeVar, cast

from ..errors import ConfigurationError
from ..gateway import GATEWAY_ID_HEADER, GatewayOptions, GatewayRoute
from ..live_catalog import CatalogCache
from ..pacing import Pacer
from ..paths import path
from ..transport import Transport, unwrap_envelope
from ..validation import check_model

if TYPE_CHECKING:
    from pydantic import SecretStr

    from ..binding import BindingTransport
    from ..client import WorkersAI

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
JSON_HEADERS = {"Content-Type": "application/json"}
V = TypeVar("V")


def with_extras(own: dict[str, V], extra: Mapping[str, V] | None) -> dict[str, V]:
    """``own`` (a body or headers the library built) with a call's ``extra_body`` / ``extra_headers``
    merged in last, so an extra key wins (openai-python's ``extra_body``, ``extra_headers``)."""
    if extra:
        own.update(extra)
    return own


class ClientBase:
    """The settings and URLs of a :class:`~workersai.WorkersAI` (set by its constructor), and ``run``."""

    account_id: str | None
    base_url: str
    gateway_id: str | None
    gateway_url: str
    gateway_route: GatewayRoute
    validate_models: bool
    reject_if_busy: bool
    max_concurrency: int
    pacer: Pacer | None
    transport: Transport
    bindings: BindingTransport | None
    _token: SecretStr | None
    _gateway_token: SecretStr | None
    _catalog: CatalogCache

    def _whole(self) -> WorkersAI:
        """This client as the :class:`~workersai.WorkersAI` it is part of (for fallback chains and
        batch jobs, which take the whole client)."""
        return cast("WorkersAI", self)

    # -- urls -----------------------------------------------------------------------------------
    def _account(self) -> str:
        if self.bindings is not None:
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

    def _run_request(
        self,
        model: str,
        inputs: Mapping[str, Any],
        gateway: GatewayOptions | None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """The request of :meth:`run` and :meth:`arun`: the transport's keyword arguments."""
        check_model(model, use_catalog=False)
        return {
            "url": self.run_url(model),
            "json": with_extras(self._inputs(inputs), extra_body),
            "headers": with_extras(self._gateway_headers(gateway), extra_headers),
            "pace": model,
        }

    def run(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Run any model with raw ``inputs``; returns the envelope's ``result``. ``extra_body`` keys are
        merged into the JSON body last, ``extra_headers`` into the headers (openai-python's escape
        hatches, for what the library does not model)."""
        request = self._run_request(model, inputs, gateway, extra_body, extra_headers)
        return unwrap_envelope(self.transport.request("POST", **request))

    async def arun(
        self,
        model: str,
        inputs: Mapping[str, Any],
        *,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> Any:
        """Async twin of :meth:`run`."""
        request = self._run_request(model, inputs, gateway, extra_body, extra_headers)
        return unwrap_envelope(await self.transport.arequest("POST", **request))
