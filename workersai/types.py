"""Typed results of Workers AI calls."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class Usage(BaseModel):
    """Token usage of one call, as the service reported it."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


class ToolCall(BaseModel):
    """A complete tool call requested by the model."""

    id: str
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)


class GatewayInfo(BaseModel):
    """What AI Gateway said of an answer: its log entry's id (``cf-aig-log-id``) and whether it came
    from the gateway's cache (``cf-aig-cache-status``: ``HIT``, ``MISS``, ...)."""

    log_id: str | None = None
    cache_status: str | None = None


class ChatResult(BaseModel):
    """A whole chat answer."""

    model: str
    text: str = ""
    """The answer, never mixed with the model's reasoning."""
    tool_calls: list[ToolCall] = Field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    reasoning: str | None = None
    """The model's reasoning (``<think>`` text, ``reasoning_content``, Responses reasoning items), or
    None when the model gave none."""
    parsed: Any = None
    """In JSON mode, the object the model answered with."""
    gateway: GatewayInfo | None = None
    """The AI Gateway's log id and cache status, when the answer went through a gateway."""
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)
    attempts: int = 1
    """Requests sent for this answer (1 when the first was answered), on every model a fallback chain
    tried."""
    fallbacks: int = 0
    """Models left (failed or skipped) before ``model`` answered, in a fallback chain."""


class ToolCallDelta(BaseModel):
    """A piece of a tool call in a stream; pieces with the same ``index`` belong together."""

    index: int
    id: str | None = None
    name: str | None = None
    arguments: str = ""


class ChatChunk(BaseModel):
    """One parsed server-sent event of a chat stream."""

    text: str = ""
    """A piece of the answer, never of the reasoning."""
    reasoning: str = ""
    """A piece of the model's reasoning."""
    tool_calls: list[ToolCallDelta] = Field(default_factory=list)
    usage: Usage | None = None
    finish_reason: str | None = None
    gateway: GatewayInfo | None = None
    """On the last chunk of a stream that went through AI Gateway: its log id and cache status."""
    model: str | None = None
    """On the last chunk: the model that answered."""
    attempts: int | None = None
    """On the last chunk: requests sent until the stream opened (on every model a fallback chain
    tried)."""
    fallbacks: int | None = None
    """On the last chunk of a fallback chain's stream: models left before ``model`` answered."""


class ModelSummary(BaseModel):
    """One model of the service's live catalog, as ``GET /accounts/{id}/ai/models/search`` lists it
    (see :meth:`workersai.WorkersAI.models`).

    Fields follow the service's entries (``id``, ``source``, ``name``, ``description``, ``task``,
    ``tags``, ``properties``); ``task`` is the task's name and ``properties`` maps each ``property_id``
    to its value as sent (mostly strings such as ``"131072"`` or ``"true"``; ``price`` is a list of
    ``{unit, price, currency}``).
    """

    name: str
    id: str = ""
    description: str = ""
    task: str | None = None
    """The task's name: ``"Text Generation"``, ``"Text Embeddings"``, ..."""
    source: int | None = None
    tags: list[str] = Field(default_factory=list)
    properties: dict[str, Any] = Field(default_factory=dict)
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)

    @property
    def author(self) -> str | None:
        """The author segment of the name (``meta`` in ``@cf/meta/llama-3.1-8b-instruct``)."""
        parts = self.name.split("/")
        return parts[1] if len(parts) >= 3 else None

    @property
    def context_window(self) -> int | None:
        """The ``context_window`` property as a number, when the service states one."""
        value = self.properties.get("context_window")
        try:
            return int(value) if value is not None and not isinstance(value, bool) else None
        except (TypeError, ValueError):
            return None

    @property
    def function_calling(self) -> bool:
        """Whether the service lists the model as taking tools (``function_calling`` = true)."""
        return str(self.properties.get("function_calling", "")).lower() == "true"


class ModelSchema(BaseModel):
    """The input and output JSON schemas of one model (``GET /accounts/{id}/ai/models/schema``)."""

    model: str
    input: dict[str, Any]
    output: dict[str, Any]
