"""The model catalog, kept as data in ``data/models.json``: a dated snapshot of Cloudflare's catalog.

Every entry was read from Cloudflare's pages (the model's page on developers.cloudflare.com, the pricing
page for neuron prices, the limits page for requests per minute); its ``source`` names the page. Fields a
page does not state are ``None`` (prices included: ``None`` means *unknown*, never free). The file's
``refreshed`` date says when the snapshot was taken; the service is the authority, the snapshot only
describes what it was known to serve.

The client uses it to check model sizes before any request, the usage tracker to estimate neurons, and
the emulator to decide what it serves. Prices are Cloudflare's published neurons per million tokens;
Cloudflare bills $0.011 per 1,000 neurons.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

EMBEDDING_TASK = "Text Embeddings"
GENERATION_TASK = "Text Generation"
CLASSIFICATION_TASK = "Text Classification"
"""Cloudflare files rerankers (``@cf/baai/bge-reranker-base``) under Text Classification."""

DECISION_TASK = "Decision"
"""Clef's typed questions (developers.cloudflare.com/workers-ai/concepts/decision-models/)."""
EXTRACTION_TASK = "Extraction"
"""Clairic's typed fields (developers.cloudflare.com/workers-ai/models/clairic/)."""

TASKS = frozenset({EMBEDDING_TASK, GENERATION_TASK, CLASSIFICATION_TASK, DECISION_TASK, EXTRACTION_TASK})

LEGACY = "legacy"
"""``{response, tool_calls, usage}`` (and SSE frames ``{"response": ...}``)."""
OPENAI = "openai"
"""OpenAI ``chat.completion``: ``choices[0].message`` (stream: ``choices[0].delta``)."""
RESPONSES = "responses"
"""OpenAI Responses API: ``input`` / ``instructions`` / ``reasoning`` in, output items out (gpt-oss)."""
EMBEDDING = "embedding"
"""``{shape, data}`` (bge models also ``pooling``)."""
RERANK = "rerank"
"""``{response: [{id, score}]}``."""

DECISION = "decision"
"""Clef: ``{model, answers: {id: {type, noul | choice, probabilities, confidence | score}}, usage}``."""
EXTRACTION = "extraction"
"""Clairic: ``{model, answers: {id: {type, value, confidence, p_null, span}}, truncated, usage}``."""

FAMILIES = frozenset({LEGACY, OPENAI, RESPONSES, EMBEDDING, RERANK, DECISION, EXTRACTION})
"""The response shapes a model answers in on ``/ai/run``, read from each model page's output schema."""


@dataclass(frozen=True)
class ModelInfo:
    """One catalog entry. ``None`` means the pages read do not state the value."""

    name: str
    task: str
    dimensions: int | None = None
    max_input_tokens: int | None = None
    max_batch: int | None = None
    context_window: int | None = None
    rate_per_minute: int | None = None
    function_calling: bool = False
    input_neurons_per_m: float | None = None
    """Neurons per million input tokens; ``None`` when no page states a price."""
    output_neurons_per_m: float | None = None
    """Neurons per million output tokens; ``None`` when no page states a price (or there is no output)."""
    cached_input_neurons_per_m: float | None = None
    family: str | None = None
    """One of :data:`FAMILIES`, or ``None`` when the page shows no output schema."""
    reasoning: bool = False
    vision: bool = False
    scores_contexts: bool = False
    """Besides its own task, the model scores ``{query, contexts}`` as ``{response: [{id, score}]}``
    (bge-m3, per its page)."""
    max_output_tokens: int | None = None
    requires_paid_plan: bool = False
    batch: bool = False
    """Whether a page shows the model taking the asynchronous Batch API ("Batch: Yes" on the
    bge-base-en-v1.5 and bge-large-en-v1.5 model pages; bge-m3 and llama-3.3-70b-instruct-fp8-fast are
    the Batch API pages' examples); ``False`` also means "not stated". Informational: neither the
    client nor the emulator refuses a batch for a model without it."""
    deprecated: str | None = None
    """ISO date from which Cloudflare deprecates the model, when announced."""
    replacement: str | None = None
    """The model to move to from a deprecated one (see :func:`deprecation`)."""
    reasoning_efforts: tuple[str, ...] | None = None
    """The ``reasoning_effort`` levels the model's input type takes (``()``: none), from
    @cloudflare/workers-types 5.20261117.1 (``workers_types_note`` in the data file); None where the
    types do not describe the model (the level is then sent as given)."""
    json_mode: bool = True
    """False where the model's input type has no ``response_format`` (the same package): the client
    asks for JSON in the prompt instead (:func:`workersai.chat.build_chat_payload`)."""
    message_fields: tuple[str, ...] | None = None
    """The keys a chat message takes where the model's input type is not OpenAI's chat message (for
    instance ``("role", "content", "name")``: no ``tool_calls``, no ``tool_call_id``); None for OpenAI's
    form or a model the types do not describe."""
    source: str | None = None
    note: str | None = None

    @property
    def is_embedding(self) -> bool:
        return self.task == EMBEDDING_TASK

    @property
    def is_generation(self) -> bool:
        return self.task == GENERATION_TASK

    @property
    def is_reranker(self) -> bool:
        return self.family == RERANK

    @property
    def can_score(self) -> bool:
        """Whether the model answers ``{query, contexts}`` with scores: a reranker, or a model that
        also scores (:attr:`scores_contexts`)."""
        return self.is_reranker or self.scores_contexts

    @property
    def has_price(self) -> bool:
        """Whether the input price is known (output prices may be absent for embedding models)."""
        return self.input_neurons_per_m is not None

    @property
    def deprecated_on(self) -> dt.date | None:
        return dt.date.fromisoformat(self.deprecated) if self.deprecated else None

    def is_deprecated(self, on: dt.date | None = None) -> bool:
        """Whether the model's announced deprecation date is on or before ``on`` (default: today)."""
        when = self.deprecated_on
        return when is not None and when <= (on or dt.date.today())


@cache
def _data() -> dict[str, object]:
    text = resources.files("workersai").joinpath("data/models.json").read_text(encoding="utf-8")
    data: dict[str, object] = json.loads(text)
    return data


@cache
def models() -> dict[str, ModelInfo]:
    """Every model in the catalog, by id."""
    entries = _data()["models"]
    assert isinstance(entries, list)
    return {e["name"]: ModelInfo(**_tuples(e)) for e in entries}


def _tuples(entry: dict[str, Any]) -> dict[str, Any]:
    """An entry with its list values as tuples (the entries are frozen)."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in entry.items()}


def did_you_mean(name: str, *, limit: int = 3) -> list[str]:
    """The catalog ids closest to ``name`` (``difflib``), best first, for the error the service's
    "No such model" answer becomes; empty when none is close. Never a reason to refuse an id before
    the request: a well-formed id the catalog lacks goes to the service, which decides."""
    if not isinstance(name, str) or not name or name in models():
        return []
    ids = list(models())
    by_lower = {i.lower(): i for i in ids}
    found = difflib.get_close_matches(name.lower(), list(by_lower), n=limit, cutoff=0.75)
    return [by_lower[f] for f in found]


MODEL_IN_PATH = re.compile(r"@(?:cf|hf)/[^/?#]+/[^/?#]+")
"""A Workers AI model id in a URL path (``/ai/run/{model}``, the gateway's ``/workers-ai/{model}``)."""


def suggestion_for(path: str, body: bytes = b"") -> str:
    """``"; did you mean '...'?"`` for the model a request named (in its URL path, else the JSON
    body's ``model``, as the OpenAI-compatible endpoints take it) when the catalog lacks it and has
    close ids (:func:`did_you_mean`); empty otherwise. Appended to the service's "No such model"
    error, never a refusal of its own."""
    found = MODEL_IN_PATH.search(path)
    name: object = found.group(0) if found else None
    if name is None and body:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        name = payload.get("model") if isinstance(payload, dict) else None
    close = did_you_mean(name) if isinstance(name, str) else []
    return f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""


def get_model(name: str) -> ModelInfo | None:
    """The catalog entry for ``name``, or None when the catalog does not know it."""
    return models().get(name)


THIRD_PARTY_ID = re.compile(r"[a-z0-9][a-z0-9-]*/[A-Za-z0-9][A-Za-z0-9._-]*")
"""A third-party model id of AI Gateway's Unified Billing: ``author/model`` (``openai/gpt-4.1``), no ``@``
(https://developers.cloudflare.com/ai-gateway/usage/rest-api/, "Model naming")."""


def is_third_party(name: str) -> bool:
    """Whether ``name`` has the form of a third-party model id (``openai/gpt-4.1``)."""
    return isinstance(name, str) and THIRD_PARTY_ID.fullmatch(name) is not None


@cache
def third_party_models() -> dict[str, ModelInfo]:
    """The third-party models the REST API page names (OpenAI chat-completion shape), by id."""
    entries = _data().get("third_party_models", [])
    assert isinstance(entries, list)
    return {e["name"]: ModelInfo(**e) for e in entries}


@dataclass(frozen=True)
class Deprecation:
    """A model's announced deprecation: from ``date`` the service refuses it (HTTP 410, code 5028,
    "Model has been deprecated"); ``replacement`` is the catalog's suggestion."""

    model: str
    date: dt.date
    replacement: str | None


@cache
def _deprecations() -> dict[str, Deprecation]:
    listed = _data().get("deprecated_models", {})
    assert isinstance(listed, dict)
    found = {
        str(name): Deprecation(str(name), dt.date.fromisoformat(date), replacement)
        for name, (date, replacement) in listed.items()
    }
    for info in models().values():
        if info.deprecated_on is not None:
            found[info.name] = Deprecation(info.name, info.deprecated_on, info.replacement)
    return found


def deprecation(name: str) -> Deprecation | None:
    """The announced deprecation of ``name`` (a catalog model, or one the service retired that the
    snapshot describes no further, such as ``@cf/meta/llama-2-7b-chat-int8``), or None.

    Source: the changelog of 2026-05-08 (``catalog_sources()["deprecations"]``), 18 models deprecated on
    2026-05-30."""
    return _deprecations().get(name)


def neuron_price_usd() -> float:
    """US dollars per neuron."""
    price = _data()["neuron_price_usd_per_1000"]
    assert isinstance(price, (int, float))
    return float(price) / 1000.0


def catalog_refreshed() -> dt.date:
    """The day the bundled snapshot was taken from Cloudflare's pages."""
    value = _data()["refreshed"]
    assert isinstance(value, str)
    return dt.date.fromisoformat(value)


def catalog_sources() -> dict[str, str]:
    """The pages the snapshot's shared facts come from (pricing, limits, deprecations, ...)."""
    value = _data().get("sources", {})
    assert isinstance(value, dict)
    return {str(k): str(v) for k, v in value.items()}
