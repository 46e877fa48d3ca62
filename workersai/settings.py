"""Connection settings and chat option defaults as pydantic mixins, shared by the LangChain and
LlamaIndex classes.

Every connection field defaults to its ``CLOUDFLARE_*`` environment variable; the token is a
``SecretStr`` and never shown. The core client is built on first use and reused (its connection pool
too). The chat option fields are the model-level defaults of :class:`workersai.chat.ChatOptions`.
"""

from __future__ import annotations

import dataclasses
import os
import weakref
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, SecretStr, model_validator

from .chat import CHAT_OPTIONS, ChatOptions, ReasoningEffort, merge_chat_options
from .client import WorkersAI
from .deadline import start
from .gateway import GatewayOptions
from .keywords import refuse_unknown


def field_names(model: type[BaseModel]) -> set[str]:
    """The keywords a pydantic class takes: its fields' names and aliases."""
    names = set(model.model_fields)
    names.update(f.alias for f in model.model_fields.values() if isinstance(f.alias, str))
    return names


def _env(name: str) -> Callable[[], str | None]:
    return lambda: os.environ.get(name) or None


def _secret_env(name: str) -> Callable[[], SecretStr | None]:
    def read() -> SecretStr | None:
        value = os.environ.get(name)
        return SecretStr(value) if value else None

    return read


class ClientSettings(BaseModel):
    """Account, token, base URL (the emulator's, say), AI Gateway, timeout and retries."""

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    account_id: str | None = Field(default_factory=_env("CLOUDFLARE_ACCOUNT_ID"))
    api_token: SecretStr | None = Field(
        default_factory=_secret_env("CLOUDFLARE_API_TOKEN"), alias="api_key", exclude=True
    )
    """The API token; never serialized (``model_dump``, LlamaIndex ``to_json``, pickles): read it again
    from ``CLOUDFLARE_API_TOKEN`` after loading."""
    base_url: str | None = Field(default_factory=_env("CLOUDFLARE_API_BASE_URL"))
    gateway_id: str | None = Field(default_factory=_env("CLOUDFLARE_AI_GATEWAY_ID"))
    gateway: GatewayOptions | None = Field(default=None, exclude=True)
    """AI Gateway settings sent with every request (cache TTL, skip-cache, cache key, metadata, request
    timeout, attempts: :class:`~workersai.GatewayOptions`); a call's ``gateway=`` replaces them."""
    session_id: str | None = None
    """Sent as ``x-session-affinity``: the requests of one conversation reach the same model instance,
    which reuses its prompt prefix cache."""
    timeout: float | None = 60.0
    """Seconds each HTTP request may take."""
    max_retries: int = 3
    """Retries after a first attempt, by the core client (3: openai-python and langchain-openai retry
    twice by default; Workers AI also answers 3040 under load, which a third retry rides out). A
    wrapper that owns the retry budget (``with_workersai_retry``, ``.with_retry``, fallbacks) turns
    them off for the calls it makes, so the attempts asked for are the attempts sent."""
    deadline: float | None = None
    """Total seconds for one call, across its retries and fallbacks (None: only the retry policy's
    bounds)."""
    reject_if_busy: bool | None = None
    """Send ``options.rejectIfBusy``: a busy model refuses at once (429/3040) instead of queueing the
    request. None: on when the model has a fallback, off otherwise."""
    client: WorkersAI | None = Field(default=None, exclude=True, repr=False)
    """An existing core client to use instead of building one from the settings above."""

    _built: WorkersAI | None = PrivateAttr(default=None)

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keywords(cls, data: Any) -> Any:
        """A misspelt keyword (``modle="..."``) is a ``TypeError`` naming the likely one, as for a function,
        not silently dropped (a TypeError, so pydantic does not wrap it with the input, token included)."""
        if isinstance(data, dict):
            refuse_unknown(data, field_names(cls) | {"class_name"}, cls.__name__)  # class_name: LlamaIndex's
        return data

    def __getstate__(self) -> dict[Any, Any]:
        """A pickle leaves the token out, as LangChain's and LlamaIndex's serialization leave secrets
        out, and the core client built from it (its connection pool cannot be pickled anyway): an
        unpickled object reads ``CLOUDFLARE_API_TOKEN`` again (:meth:`__setstate__`)."""
        state: dict[Any, Any] = super().__getstate__()
        state["__dict__"] = {k: v for k, v in state["__dict__"].items() if k != "api_token"}
        private = state.get("__pydantic_private__")
        if private:
            state["__pydantic_private__"] = {**private, "_built": None}
        return state

    def __setstate__(self, state: dict[Any, Any]) -> None:
        """The pickled settings, with the token read again from ``CLOUDFLARE_API_TOKEN`` (None without
        it: the first request then raises :class:`~workersai.errors.ConfigurationError`)."""
        super().__setstate__(state)
        if "api_token" not in self.__dict__:  # pydantic's own __setstate__ (LlamaIndex's re-inits)
            self.__dict__["api_token"] = _secret_env("CLOUDFLARE_API_TOKEN")()
        if self.__pydantic_private__ is not None and "_built" not in self.__pydantic_private__:
            self.__pydantic_private__["_built"] = None

    def gateway_options(self, call: GatewayOptions | None = None) -> GatewayOptions | None:
        """The AI Gateway settings of one call: the call's (else the model's), with ``session_id``."""
        chosen = call if call is not None else self.gateway
        if self.session_id is not None and (chosen is None or chosen.session_id is None):
            chosen = dataclasses.replace(chosen or GatewayOptions(), session_id=self.session_id)
        return chosen

    def build_client(self) -> WorkersAI:
        """A new core client from these settings; the caller owns it (and closes it)."""
        return WorkersAI(
            account_id=self.account_id,
            api_token=self.api_token,
            base_url=self.base_url,
            gateway_id=self.gateway_id,
            timeout=self.timeout or 60.0,
            max_retries=self.max_retries,
            reject_if_busy=bool(self.reject_if_busy),
        )

    @property
    def workers_ai(self) -> WorkersAI:
        """The core client: the one given as ``client``, else one built on first use and closed when it
        is no longer used (:func:`owned_by`). A given client is never closed here."""
        if self.client is not None:
            return self.client
        if self._built is None:
            self._built = owned_by(self, self.build_client())
        return self._built

    def call_client(self, kwargs: dict[str, Any]) -> WorkersAI:
        """The core client for one call: :data:`CALL_OPTIONS` taken out of the call's ``kwargs`` (and
        this object's ``deadline``, started now and shared by every request of the call) applied with
        :meth:`WorkersAI.with_options`."""
        given = {name: kwargs.pop(name) for name in CALL_OPTIONS if kwargs.get(name) is not None}
        if self.deadline is not None:
            given.setdefault("deadline", self.deadline)
        client = self.workers_ai
        if "deadline" in given:  # started now: one budget for every request of this call
            given["deadline"] = start(given["deadline"], client.transport.retry.clock)
        if self.reject_if_busy is not None and self.reject_if_busy != client.reject_if_busy:
            given.setdefault("reject_if_busy", self.reject_if_busy)  # a given client's own setting
        return client.with_options(**given) if given else client

    def without_retries(self, **update: Any) -> Any:
        """A copy of this model whose client does not retry (its own client if it was given one), for
        a wrapper that owns the retry budget; ``update`` sets other fields of the copy."""
        fields: dict[str, Any] = {"max_retries": 0, **update}
        if self.client is not None:
            fields["client"] = self.client.with_options(max_retries=0)
        clone = self.model_copy(update=fields)
        clone._built = None
        return clone


CALL_OPTIONS = ("max_retries", "timeout", "deadline", "reject_if_busy")
"""Keyword arguments a call may carry (``invoke(..., deadline=5)``, ``.bind(max_retries=0)``,
``chat(..., timeout=10)``) to override the client's settings for that call alone."""


class ChatOptionFields(BaseModel):
    """Model-level defaults for the sampling options of :class:`~workersai.chat.ChatOptions` (their
    meaning is documented there). None leaves an option to the service; 0 is a value and is sent."""

    model_config = ConfigDict(populate_by_name=True)

    max_tokens: int | None = None
    temperature: float | None = None
    top_p: float | None = None
    top_k: int | None = None
    seed: int | None = None
    repetition_penalty: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    stop: list[str] | None = Field(default=None, alias="stop_sequences")
    reasoning_effort: ReasoningEffort | None = None

    def chat_options(self, overrides: Mapping[str, Any] | None = None) -> ChatOptions:
        """This model's defaults with a call's ``overrides`` merged over them (not-None wins)."""
        defaults = {name: getattr(self, name) for name in _DEFAULT_FIELDS}
        return merge_chat_options(defaults, overrides or {})


_DEFAULT_FIELDS = tuple(ChatOptionFields.model_fields)
if not set(_DEFAULT_FIELDS) <= set(CHAT_OPTIONS):  # a field that is not a chat option is a typo
    raise TypeError(f"ChatOptionFields has fields that are not chat options: {_DEFAULT_FIELDS}")


def with_extra_body(options: ChatOptions, extra: Mapping[str, Any]) -> ChatOptions:
    """A call's chat ``options`` with ``extra`` (the adapters' ``model_kwargs`` / ``additional_kwargs``:
    model inputs the library does not model yet) as the model-level ``extra_body``: the core merges it
    into the request JSON last, and a call's own ``extra_body`` keys win over it."""
    return merge_chat_options({"extra_body": dict(extra)} if extra else {}, options)


def check_extra_body(extra: Mapping[str, Any], fields: Mapping[str, Any], what: str) -> None:
    """Refuse an ``extra`` key the class models itself (``temperature`` in ``model_kwargs``): it would
    silently override, or be overridden by, the field of that name."""
    modelled = sorted(set(extra) & (set(fields) | set(CHAT_OPTIONS)))
    if modelled:
        raise ValueError(f"{what} holds {modelled}: pass them as keyword arguments of their own")


def client_keyword(
    client: WorkersAI | None, workers_ai: WorkersAI | None, where: str, *, depth: int = 1
) -> WorkersAI | None:
    """``client=``, the one keyword for an existing core client in both adapters; ``workers_ai=`` (the
    LlamaIndex classes' older name) still works, with a ``DeprecationWarning`` pointing ``depth`` frames
    above the caller (1: the caller's caller, the user's line when a constructor calls this)."""
    if workers_ai is None:
        return client
    import warnings

    warnings.warn(
        f"{where}(workers_ai=...) is deprecated: pass client=...", DeprecationWarning, stacklevel=2 + depth
    )
    if client is not None and client is not workers_ai:
        raise TypeError(f"{where} got both client= and workers_ai=")
    return workers_ai


def owned_by(owner: object, client: WorkersAI) -> WorkersAI:
    """``client``, built by ``owner`` (an adapter), closed once nothing refers to it any more (the owner
    gone, and any call still using it done) or at interpreter exit, whichever comes first: no
    ``ResourceWarning`` for its pooled sockets. ``weakref.finalize`` on the client, its callback holding
    only the transport, so ``Owner(...).client.call()`` still works. A client the user gives an
    adapter is never closed by it."""
    weakref.finalize(client, client.transport.close)
    return client


def connection(owner: object, client: WorkersAI | None, settings: Mapping[str, Any], where: str) -> WorkersAI:
    """The given client, else one built from the connection ``settings`` and owned by ``owner`` (never
    both: the settings would not be used)."""
    if client is None:
        return owned_by(owner, ClientSettings(**settings).build_client())
    if settings:
        raise TypeError(f"{where} takes client= or connection settings, not both: {sorted(settings)}")
    return client
