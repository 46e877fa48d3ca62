"""Chat requests built, free of I/O, for every response family (their answers are read in
:mod:`workersai.chat_answers`):

- legacy: ``{response, tool_calls: [{name, arguments}], usage}``, streamed as ``{"response": ...}``
  frames (``response`` may be a number: it is read as text);
- OpenAI ``chat.completion``: ``choices[0].message`` (tool calls ``{id, type, function: {name,
  arguments}}`` with the arguments as a JSON string), streamed as ``choices[0].delta`` with tool-call
  pieces merged by ``index`` and ``content`` that may arrive as a number;
- the Responses API (gpt-oss, catalog family ``responses``): built and read by
  :mod:`workersai.responses_api`;
- reasoning: ``reasoning_content`` (or ``reasoning``) in the message or delta, Responses reasoning
  items, and ``<think>`` text (:mod:`workersai.reasoning`) all go to ``reasoning``, never to ``text``.

Stop sequences are applied on the client too, so they hold whatever the model does with them.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, MutableMapping, Sequence
from typing import Any, Literal, cast, get_args

from typing_extensions import TypedDict, Unpack

from . import responses_api
from .catalog import OPENAI, RESPONSES, ModelInfo, get_model
from .chat_answers import new_tool_call_id
from .content import images, joined_text, parse_content, place_images, wire_parts
from .errors import BadInput
from .keywords import refuse_unknown

Role = Literal["system", "user", "assistant", "tool"]
ToolChoice = Literal["auto", "none", "any", "required"] | str | dict[str, Any] | None
ReasoningEffort = Literal["none", "low", "medium", "high", "xhigh", "max"]
"""Every ``reasoning_effort`` level a catalog model takes (@cloudflare/workers-types 5.20261117.1),
least to most; each model takes some of them (:attr:`workersai.catalog.ModelInfo.reasoning_efforts`)."""

_ROLES = {"system", "user", "assistant", "tool"}


class ChatOptions(TypedDict, total=False):
    """The options of a chat call, defined here once.

    :meth:`WorkersAI.chat <workersai.WorkersAI.chat>` and its twins take them as keyword arguments;
    the LangChain and LlamaIndex models keep defaults for them and merge per-call values over those with
    :func:`merge_chat_options`. None leaves the option unset (the service's default applies); 0 is a
    value like any other.
    """

    max_tokens: int | None
    """Most tokens to generate (the service's default is 256)."""
    temperature: float | None
    """Sampling temperature, 0 to 5 (0 picks the likeliest token; the service's default is 0.6)."""
    top_p: float | None
    """Nucleus sampling: the probability mass the sampled tokens are drawn from."""
    top_k: int | None
    """Sample only from the ``top_k`` likeliest tokens."""
    seed: int | None
    """Seed of the sampler, for repeatable answers."""
    repetition_penalty: float | None
    """Penalty on tokens already generated."""
    frequency_penalty: float | None
    """Penalty growing with how often a token has appeared."""
    presence_penalty: float | None
    """Penalty on any token that has appeared."""
    stop: Sequence[str] | None
    """Stop sequences; also applied by the client, whatever the model does with them."""
    tools: Sequence[Mapping[str, Any]] | None
    """Tools the model may call, in the legacy ``{name, description, parameters}`` or OpenAI shape."""
    tool_choice: ToolChoice
    """``"auto"``, ``"none"``, ``"any"``/``"required"``, a tool name or ``{"function": {"name"}}``."""
    response_format: Mapping[str, Any] | None
    """JSON mode: ``{"type": "json_object"}`` or ``{"type": "json_schema", "json_schema": {...}}``.

    A catalog model whose input type has no ``response_format`` (qwq-32b, gemma-3-12b-it,
    mistral-small-3.1-24b-instruct, llama-3.2-11b-vision-instruct in @cloudflare/workers-types
    5.20261117.1; catalog ``json_mode: false``) is not sent it: the schema is asked for in a system
    message instead (as langchain-cloudflare 0.4.3 does for most models) and the JSON is read from the
    answer's text into ``parsed``, None when the text is not JSON. Nothing constrains such a model's
    output; Cloudflare's JSON Mode page lists neither of the first three."""
    reasoning_effort: ReasoningEffort | None
    """How much a reasoning model reasons, from ``"none"`` to ``"max"`` (:data:`ReasoningEffort`).
    Sent as ``reasoning_effort`` (Workers AI's input for reasoning models) and as ``reasoning:
    {effort}`` to Responses-API models (gpt-oss). Each catalog model takes the levels its type lists
    (@cloudflare/workers-types 5.20261117.1, catalog ``reasoning_efforts``): a level it lacks is sent as
    its nearest level (the higher on a tie: ``"high"`` goes to qwen3.8-27b as ``"xhigh"``), and a model
    whose type takes none (qwen3-30b-a3b-fp8, qwq-32b, deepseek-r1-distill-qwen-32b, gemma-4-26b-a4b-it,
    kimi-k2.7-code, glm-4.7-flash, nemotron-3-120b-a12b, and the models that do not reason) is not sent
    it; both with a :class:`UserWarning`. A model the catalog does not describe is sent the level as
    given."""
    extra_body: Mapping[str, Any] | None
    """Keys merged into the request's JSON body last, over the library's own (openai-python's
    ``extra_body``): a model option this library does not model yet. LangChain's ``model_kwargs`` and
    LlamaIndex's ``additional_kwargs`` travel here; merged with a call's own key by key."""


CHAT_OPTIONS: tuple[str, ...] = tuple(ChatOptions.__annotations__)
"""The names of every chat option, in the order they are defined."""

_STRUCTURED = frozenset({"stop", "tools", "tool_choice", "response_format", "reasoning_effort", "extra_body"})
"""Options :func:`build_chat_payload` shapes itself (``extra_body``: the client merges it last); the
others go on the wire as given."""


def _check_names(options: Mapping[str, Any]) -> None:
    refuse_unknown(options, CHAT_OPTIONS, "chat options")


def merge_chat_options(defaults: Mapping[str, Any], overrides: Mapping[str, Any]) -> ChatOptions:
    """``overrides`` (a call's values) over ``defaults`` (a model's), option by option.

    A value wins when it is not None, so ``temperature=0`` or ``seed=0`` is sent, never dropped as
    falsy; options None in both are left out. ``extra_body`` is merged key by key, the call's keys over
    the model's. A name that is not a chat option raises ``TypeError``."""
    _check_names(defaults)
    _check_names(overrides)
    merged: dict[str, Any] = {}
    for name in CHAT_OPTIONS:
        value = overrides.get(name)
        if value is None:
            value = defaults.get(name)
        if value is not None:
            merged[name] = value
    if defaults.get("extra_body") and overrides.get("extra_body"):
        merged["extra_body"] = {**defaults["extra_body"], **overrides["extra_body"]}
    return cast(ChatOptions, merged)


def take_chat_options(kwargs: MutableMapping[str, Any]) -> dict[str, Any]:
    """Remove the chat options from a framework's ``**kwargs`` and return them."""
    return {name: kwargs.pop(name) for name in CHAT_OPTIONS if name in kwargs}


def tool_name(tool: Mapping[str, Any]) -> str:
    """The name of a tool in either shape (legacy ``{name, ...}`` or OpenAI ``{type, function}``)."""
    fn = tool.get("function") if tool.get("type") == "function" else tool
    name = fn.get("name") if isinstance(fn, Mapping) else None
    if not isinstance(name, str) or not name:
        raise BadInput(f"tool without a name: {dict(tool)!r}")
    return name


def select_tools(tools: Sequence[Mapping[str, Any]] | None, tool_choice: ToolChoice) -> list[dict[str, Any]]:
    """Apply ``tool_choice`` by choosing which tools to send (Workers AI has no ``tool_choice``)."""
    if not tools or tool_choice == "none":
        return []
    chosen = [dict(t) for t in tools]
    names = [tool_name(t) for t in chosen]
    wanted: str | None = None
    if isinstance(tool_choice, Mapping):
        fn = tool_choice.get("function")
        wanted = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
    elif isinstance(tool_choice, str) and tool_choice not in ("auto", "any", "required"):
        wanted = tool_choice
    if wanted is None:
        return chosen
    if wanted not in names:
        raise BadInput(f"tool_choice names {wanted!r}, which is not among the tools {names}")
    return [t for t, n in zip(chosen, names, strict=True) if n == wanted]


def wire_tool_choice(tool_choice: ToolChoice, selected: Sequence[Mapping[str, Any]]) -> Any:
    """``tool_choice`` as sent (OpenAI form) when it forces a call; None for "auto" or nothing.

    The tools sent are already narrowed to the chosen one, so a service that ignores the field still
    sees only that tool."""
    if tool_choice in ("any", "required"):
        return "required"
    if tool_choice in (None, "auto", "none"):
        return None
    return {"type": "function", "function": {"name": tool_name(selected[0])}}


def normalize_message(message: Mapping[str, Any]) -> dict[str, Any]:
    """Check one message and bring it to the wire shape.

    ``content`` may be a string or a list of OpenAI-style parts (``{"type": "text", "text"}``,
    ``{"type": "image_url", "image_url": {"url"}}`` with an ``https://`` or ``data:image/...;base64,``
    URL; see :mod:`workersai.content`). Text-only parts become one string; a message with images keeps
    its checked parts, which :func:`build_chat_payload` places in the model's own form. Images are
    taken in user messages only, as OpenAI's chat format has them."""
    role = message.get("role")
    if role not in _ROLES:
        raise BadInput(f"message role must be one of {sorted(_ROLES)}, got {role!r}")
    parts = parse_content(message.get("content"))
    content: str | list[dict[str, Any]] = joined_text(parts)
    if images(parts):
        if role != "user":
            raise BadInput(f"images are taken in user messages only, not in a {role} message")
        content = wire_parts(parts)
    out: dict[str, Any] = {"role": role, "content": content}
    if role == "assistant" and message.get("tool_calls"):
        out["tool_calls"] = [
            {
                "id": tc.get("id") or new_tool_call_id(),
                "type": "function",
                "function": {"name": tc["name"], "arguments": json.dumps(tc.get("arguments") or {})},
            }
            for tc in message["tool_calls"]
        ]
    if role == "tool":
        if message.get("tool_call_id"):
            out["tool_call_id"] = message["tool_call_id"]
        if message.get("name"):
            out["name"] = message["name"]
    return out


_EFFORTS: tuple[str, ...] = get_args(ReasoningEffort)
"""The levels, least to most."""


def effort_for(info: ModelInfo | None, effort: str) -> str | None:
    """The ``reasoning_effort`` to send ``info``'s model for a requested ``effort``: as given where the
    catalog records no levels for it, None where its type takes none, else the level itself or the
    nearest one it takes (the higher on a tie); a change is said in a :class:`UserWarning`."""
    levels = info.reasoning_efforts if info is not None else None
    if levels is None or effort in levels:
        return effort
    assert info is not None
    if not levels:
        warnings.warn(
            f"{info.name} takes no reasoning_effort (its type in @cloudflare/workers-types): "
            f"{effort!r} is not sent",
            UserWarning,
            stacklevel=4,
        )
        return None
    want = _EFFORTS.index(effort)
    sent = min(levels, key=lambda level: (abs(_EFFORTS.index(level) - want), -_EFFORTS.index(level)))
    warnings.warn(
        f"{info.name} takes reasoning_effort {', '.join(levels)} (its type in @cloudflare/workers-types): "
        f"{effort!r} is sent as {sent!r}",
        UserWarning,
        stacklevel=4,
    )
    return sent


def family_of(model: str | None) -> str | None:
    """The response family the catalog gives ``model`` (None for a model it does not know)."""
    info = get_model(model) if model else None
    return info.family if info else None


def build_chat_payload(
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str | None = None,
    stream: bool = False,
    **options: Unpack[ChatOptions],
) -> dict[str, Any]:
    """The JSON body for ``/ai/run/{model}``; raises :class:`BadInput` on anything invalid.

    ``model`` picks the request shape from the catalog (messages for most models, the Responses input
    ``input``, ``instructions``, ``reasoning`` for the ``responses`` family, gpt-oss) and how images are
    sent (:func:`workersai.content.place_images`); an image for a model the catalog marks text-only is
    refused here, before any request."""
    _check_names(options)
    if not messages:
        raise BadInput("messages must not be empty")
    wire = [normalize_message(m) for m in messages]
    if not any(m["content"] or m.get("tool_calls") for m in wire):
        raise BadInput("every message is empty")
    payload: dict[str, Any] = {"messages": wire, **place_images(wire, model)}
    max_tokens = options.get("max_tokens")
    if max_tokens is not None and max_tokens < 1:
        raise BadInput(f"max_tokens must be at least 1, got {max_tokens}")
    temperature = options.get("temperature")
    if temperature is not None and not 0 <= temperature <= 5:
        raise BadInput(f"temperature must be between 0 and 5, got {temperature}")
    effort: str | None = options.get("reasoning_effort")
    if effort is not None and effort not in _EFFORTS:
        raise BadInput(f"reasoning_effort must be one of {list(_EFFORTS)}, got {effort!r}")
    tool_choice = options.get("tool_choice")
    response_format = options.get("response_format")
    selected = select_tools(options.get("tools"), tool_choice)
    forced = wire_tool_choice(tool_choice, selected) if selected else None
    _check_response_format(response_format, stream)
    info = get_model(model) if model else None
    if effort is not None:
        effort = effort_for(info, effort)
    if family_of(model) == RESPONSES:
        return responses_api.build_responses_payload(
            wire, {**options, "reasoning_effort": effort}, tools=selected, tool_choice=forced, stream=stream
        )
    if info is not None and info.message_fields is not None:
        payload["messages"] = wire = [_in_own_form(m, info.message_fields) for m in wire]
    if response_format is not None and info is not None and not info.json_mode:
        payload["messages"] = _with_schema_prompt(wire, response_format)
        response_format = None
    for name, value in options.items():
        if value is not None and name not in _STRUCTURED:
            payload[name] = value
    if effort is not None:
        payload["reasoning_effort"] = effort
    stop = options.get("stop")
    if stop:
        payload["stop"] = list(stop)
    if selected:
        payload["tools"] = selected
        if forced is not None:
            payload["tool_choice"] = forced
    if response_format is not None:
        payload["response_format"] = dict(response_format)
    if stream:
        payload["stream"] = True
    return _in_openai_shape(payload) if family_of(model) == OPENAI else payload


def _in_own_form(message: dict[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """``message`` for a model whose messages type has only ``fields`` (llama-3.3-70b and qwen3-30b:
    role and content; llama-4-scout also tool_call_id; hermes-2-pro also name; per
    @cloudflare/workers-types 5.20261117.1): an assistant turn's tool calls are written into its
    content as Llama's JSON tool call, ``{"name", "parameters"}`` one per line (as langchain-cloudflare
    0.4.3 embeds them for Llama models), and keys the type lacks are left out."""
    out = dict(message)
    calls = out.pop("tool_calls", None)
    if calls:
        written = [
            json.dumps({"name": c["function"]["name"], "parameters": json.loads(c["function"]["arguments"])})
            for c in calls
        ]
        out["content"] = "\n".join([out["content"], *written] if out["content"] else written)
    return {k: v for k, v in out.items() if k in fields}


SCHEMA_PROMPT = (
    "You must respond with valid JSON that matches this schema. Return only the JSON object. "
    "Do not include prose, markdown, or tool/function calls.\n"
)
"""The instruction a model without ``response_format`` is given instead (langchain-cloudflare 0.4.3's
words for its ``json_object`` structured output)."""


def _with_schema_prompt(
    wire: list[dict[str, Any]], response_format: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The messages with the JSON instruction (and schema, for ``json_schema``) in the system message:
    appended to the first one's text when the conversation starts with one, else a system message of
    its own before the rest."""
    if response_format.get("type") == "json_schema":
        spec = response_format["json_schema"]
        schema = spec["schema"] if isinstance(spec.get("schema"), Mapping) else spec
        instruction = SCHEMA_PROMPT + json.dumps(schema, indent=2)
    else:
        instruction = "You must respond with valid JSON. Return only the JSON object, no prose or markdown."
    if wire and wire[0]["role"] == "system" and isinstance(wire[0]["content"], str):
        first = wire[0]["content"]
        return [{**wire[0], "content": f"{first}\n\n{instruction}" if first else instruction}, *wire[1:]]
    return [{"role": "system", "content": instruction}, *wire]


def _in_openai_shape(payload: dict[str, Any]) -> dict[str, Any]:
    """A body for a model that takes OpenAI's chat-completion input (catalog family ``openai``), as its
    types in @cloudflare/workers-types state it (``ChatCompletionsInput``): tools as ``{type: "function",
    function}`` (a legacy ``{name, description, parameters}`` tool is wrapped), a tool message without
    ``name`` (``ToolMessage``: role, content, tool_call_id) and ``json_schema`` as ``{name, schema}``
    (``ResponseFormatJSONSchema``; a bare schema is wrapped, named by its ``title``)."""
    if "tools" in payload:
        payload["tools"] = [
            t if t.get("type") == "function" else {"type": "function", "function": t}
            for t in payload["tools"]
        ]
    payload["messages"] = [
        {k: v for k, v in m.items() if k != "name"} if m["role"] == "tool" else m for m in payload["messages"]
    ]
    response_format = payload.get("response_format")
    if response_format and response_format["type"] == "json_schema":
        spec = response_format["json_schema"]
        if not isinstance(spec.get("schema"), Mapping):
            spec = {"name": str(spec.get("title") or "response"), "schema": dict(spec)}
        payload["response_format"] = {"type": "json_schema", "json_schema": spec}
    return payload


def _check_response_format(response_format: Mapping[str, Any] | None, stream: bool) -> None:
    if response_format is not None:
        kind = response_format.get("type")
        if kind not in ("json_object", "json_schema"):
            raise BadInput(f"response_format type must be json_object or json_schema, got {kind!r}")
        if kind == "json_schema" and not isinstance(response_format.get("json_schema"), Mapping):
            raise BadInput("response_format json_schema needs a json_schema object")
        if stream:
            raise BadInput("JSON mode does not support streaming")
