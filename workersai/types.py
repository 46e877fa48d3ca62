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
    raw: dict[str, Any] = Field(default_factory=dict, repr=False)


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
