"""The emulator's catalog as the service lists it: search entries and each model's ``{input, output}`` JSON
schemas.

The schemas come from Cloudflare's own per-model types where they cover the model: the npm package
``@cloudflare/workers-types`` declares ``interface AiModels`` (``{inputs, postProcessedOutputs}`` per model
id), and ``tests/workers_types/generate.mjs`` turns them into JSON Schemas (draft-07) committed as
``data/workers_types.json`` with the package's version (:data:`WORKERS_TYPES_VERSION`; each served schema
names it in ``$comment``). A test regenerates that file from the pinned package and compares. For a
catalog model the types lack (listed in the file's ``not_in_types``), the schemas are written here from
the catalog entry's task and family (the emulator's own statement).

Shapes read from Cloudflare's model pages and their data files (cloudflare-docs
``src/content/workers-ai-models/*.json``: ``{id, source, name, description, task: {id, name,
description}, tags, properties: [{property_id, value}], schema: {input, output}}``; property ids seen
there: ``context_window``, ``function_calling``, ``max_input_tokens``, ``output_dimensions``,
``price`` as ``[{unit, price, currency}]``, ``planned_deprecation_date``, ``require_workers_paid``,
``reasoning``) and the API reference's "Get Model Schema" (``result: {input, output}``, each a JSON
schema object). Values are strings except ``price``, as on those pages.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib import resources
from typing import Any

from ..catalog import (
    CLASSIFICATION_TASK,
    DECISION,
    EMBEDDING_TASK,
    EXTRACTION,
    GENERATION_TASK,
    OPENAI,
    RERANK,
    RESPONSES,
    ModelInfo,
    neuron_price_usd,
)
from .rules.ai import _SAMPLING

_TASK_DESCRIPTIONS = {
    EMBEDDING_TASK: "Models that turn text into vectors of numbers, for vector search and retrieval.",
    GENERATION_TASK: "Generative text models (large language models) answering prompts and conversations.",
    CLASSIFICATION_TASK: "Models that score or label text, such as rerankers.",
}


def task_entry(task: str) -> dict[str, str]:
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"workersai-local/task/{task}")),
        "name": task,
        "description": _TASK_DESCRIPTIONS.get(task, task),
    }


def _usd(neurons_per_m: float) -> float:
    return round(neurons_per_m * neuron_price_usd(), 4)


def _properties(info: ModelInfo) -> list[dict[str, Any]]:
    props: list[dict[str, Any]] = []

    def add(key: str, value: Any) -> None:
        props.append({"property_id": key, "value": value})

    if info.context_window is not None:
        add("context_window", str(info.context_window))
    if info.max_input_tokens is not None:
        add("max_input_tokens", str(info.max_input_tokens))
    if info.is_embedding and info.dimensions is not None:
        add("output_dimensions", str(info.dimensions))
    if info.function_calling:
        add("function_calling", "true")
    if info.reasoning:
        add("reasoning", "true")
    if info.requires_paid_plan:
        add("require_workers_paid", "true")
    if info.deprecated:
        add("planned_deprecation_date", info.deprecated)
    if info.input_neurons_per_m is not None:
        price = [{"unit": "per M input tokens", "price": _usd(info.input_neurons_per_m), "currency": "USD"}]
        if info.output_neurons_per_m is not None:
            price.append(
                {"unit": "per M output tokens", "price": _usd(info.output_neurons_per_m), "currency": "USD"}
            )
        add("price", price)
    return props


def description(info: ModelInfo) -> str:
    """A description made of the catalog's facts (searchable: "reasoning", "vision", "function calling")."""
    facts = [f"{info.task} model"]
    if info.is_embedding and info.dimensions:
        facts.append(f"{info.dimensions}-dimensional vectors")
    if info.context_window:
        facts.append(f"{info.context_window:,}-token context window")
    facts += [
        name
        for flag, name in (
            (info.function_calling, "function calling"),
            (info.reasoning, "reasoning"),
            (info.vision, "vision"),
        )
        if flag
    ]
    return ", ".join(facts) + " (served locally by workersai-local)"


def search_entry(info: ModelInfo) -> dict[str, Any]:
    """The model as ``/ai/models/search`` lists it."""
    return {
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"workersai-local/model/{info.name}")),
        "source": 1,
        "name": info.name,
        "description": description(info),
        "task": task_entry(info.task),
        "tags": [],
        "properties": _properties(info),
    }


def author(info: ModelInfo) -> str:
    """``meta`` of ``@cf/meta/llama-3.1-8b-instruct``."""
    return info.name.split("/")[1]


# -- schemas ------------------------------------------------------------------------------------------
_STRING = {"type": "string"}
_NUMBER = {"type": "number"}
_USAGE = {
    "type": "object",
    "properties": {k: {"type": "integer"} for k in ("prompt_tokens", "completion_tokens", "total_tokens")},
}


def _object(properties: dict[str, Any], required: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"type": "object", "properties": properties, **extra}
    if required:
        out["required"] = required
    return out


def _embedding(info: ModelInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    text = {"type": "string", "minLength": 1, "description": "The text to embed"}
    batch = {"type": "array", "items": text, "minItems": 1, "maxItems": info.max_batch or 100}
    inputs = _object(
        {
            "text": {"oneOf": [text, batch]},
            "pooling": {"type": "string", "enum": ["mean", "cls"], "default": "mean"},
        },
        ["text"],
    )
    vectors = {"type": "array", "items": {"type": "array", "items": _NUMBER}}
    outputs = _object(
        {"shape": {"type": "array", "items": _NUMBER}, "data": vectors, "pooling": _STRING},
        contentType="application/json",
    )
    return inputs, outputs


def _rerank() -> tuple[dict[str, Any], dict[str, Any]]:
    contexts = {"type": "array", "items": _object({"text": {"type": "string", "minLength": 1}}, ["text"])}
    inputs = _object(
        {
            "query": {"type": "string", "minLength": 1},
            "contexts": contexts,
            "top_k": {"type": "integer", "minimum": 1},
        },
        ["query", "contexts"],
    )
    ranked = {"type": "array", "items": _object({"id": {"type": "integer"}, "score": _NUMBER})}
    return inputs, _object({"response": ranked}, contentType="application/json")


def _generation_options(info: ModelInfo) -> dict[str, Any]:
    options: dict[str, Any] = {
        "stream": {"type": "boolean", "default": False},
        "max_tokens": {"type": "integer", "minimum": 1, "default": 256},
        "temperature": {"type": "number", "minimum": 0, "maximum": 5, "default": 0.6},
        "seed": {"type": "integer", "minimum": 1},
        "response_format": _object(
            {
                "type": {"type": "string", "enum": ["json_object", "json_schema"]},
                "json_schema": {"type": "object"},
            }
        ),
    }
    for name, (low, high) in _SAMPLING.items():
        options[name] = {"type": "integer" if name == "top_k" else "number", "minimum": low, "maximum": high}
    if info.family == OPENAI:
        options["max_completion_tokens"] = {"type": "integer", "minimum": 1}
    return options


def _messages(info: ModelInfo) -> dict[str, Any]:
    part = {
        "oneOf": [
            _object({"type": {"const": "text"}, "text": _STRING}, ["type", "text"]),
            _object(
                {"type": {"const": "image_url"}, "image_url": _object({"url": _STRING}, ["url"])},
                ["type", "image_url"],
            ),
        ]
    }
    content = {"oneOf": [_STRING, {"type": "array", "items": part}]} if info.vision else _STRING
    role = {"type": "string", "enum": ["system", "user", "assistant", "tool"]}
    return {
        "type": "array",
        "minItems": 1,
        "items": _object({"role": role, "content": content}, ["role", "content"]),
    }


def _tool_calls() -> dict[str, Any]:
    return {"type": "array", "items": _object({"name": _STRING, "arguments": {"type": "object"}})}


def _generation(info: ModelInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    options = _generation_options(info)
    prompt = _object({"prompt": {"type": "string", "minLength": 1}, **options}, ["prompt"], title="Prompt")
    chat: dict[str, Any] = {"messages": _messages(info), **options}
    if info.function_calling:
        chat["tools"] = {"type": "array", "items": {"type": "object"}}
    variants = [prompt, _object(chat, ["messages"], title="Messages")]
    if info.family == RESPONSES:
        effort = {"type": "string", "enum": ["low", "medium", "high"], "default": "medium"}
        responses = {
            "input": {"oneOf": [_STRING, {"type": "array", "items": {"type": "object"}}]},
            "instructions": _STRING,
            "reasoning": _object({"effort": effort}),
        }
        variants.insert(0, _object(responses, ["input"], title="Responses"))
    inputs = {"type": "object", "oneOf": variants}
    if info.family == OPENAI:
        message = _object(
            {
                "role": _STRING,
                "content": {"type": ["string", "null"]},
                "reasoning_content": {"type": ["string", "null"]},
                "tool_calls": {"type": "array"},
            }
        )
        choice = _object({"index": {"type": "integer"}, "message": message, "finish_reason": _STRING})
        outputs = _object(
            {
                "id": _STRING,
                "object": {"const": "chat.completion"},
                "created": {"type": "integer"},
                "model": _STRING,
                "choices": {"type": "array", "items": choice},
                "usage": _USAGE,
            },
            contentType="application/json",
        )
    elif info.family == RESPONSES:
        outputs = _object(
            {
                "id": _STRING,
                "object": {"const": "response"},
                "output": {"type": "array", "items": {"type": "object"}},
                "usage": {"type": "object"},
            },
            contentType="application/json",
        )
    elif info.family is None:
        outputs = {"type": "object", "description": "The model's page states no output schema."}
    else:  # legacy
        outputs = _object(
            {
                "response": {"oneOf": [_STRING, {"type": "object"}]},
                "tool_calls": _tool_calls(),
                "usage": _USAGE,
            },
            contentType="application/json",
        )
    return inputs, outputs


# -- schemas generated from @cloudflare/workers-types --------------------------------------------------
@cache
def _workers_types() -> dict[str, Any]:
    text = resources.files("workersai.local").joinpath("data/workers_types.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


WORKERS_TYPES_PACKAGE = "@cloudflare/workers-types"
WORKERS_TYPES_VERSION: str = _workers_types()["version"]
"""The version of ``@cloudflare/workers-types`` the served schemas were generated from."""

_REF = "#/definitions/"


def _reachable(schema: Any, definitions: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    """The definitions ``schema`` refers to, directly or through others."""
    if isinstance(schema, list):
        for item in schema:
            _reachable(item, definitions, found)
    elif isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref" and isinstance(value, str) and value.startswith(_REF):
                name = value[len(_REF) :]
                if name not in found:
                    found[name] = definitions[name]
                    _reachable(found[name], definitions, found)
            else:
                _reachable(value, definitions, found)
    return found


def _standalone(schema: dict[str, Any], doc: dict[str, Any]) -> dict[str, Any]:
    """One generated schema with the definitions it uses, a JSON Schema document of its own."""
    definitions = _reachable(schema, doc["definitions"], {})
    ref = schema.get("$ref")
    top = dict(definitions[ref[len(_REF) :]]) if len(schema) == 1 and isinstance(ref, str) else dict(schema)
    comment = f"generated from {doc['package']} {doc['version']} ({doc['generator']})"
    out: dict[str, Any] = {"$schema": doc["$schema"], "$comment": comment, **top}
    if definitions:
        out["definitions"] = dict(sorted(definitions.items()))
    return out


def typed_schema(name: str) -> dict[str, Any] | None:
    """``{input, output}`` of ``name`` generated from @cloudflare/workers-types; None when its
    ``AiModels`` does not name the model."""
    doc = _workers_types()
    entry = doc["models"].get(name)
    if entry is None:
        return None
    return {"input": _standalone(entry["input"], doc), "output": _standalone(entry["output"], doc)}


@cache
def answers_chat_completions_output(name: str) -> bool:
    """Whether ``name``'s output type is (or, as gpt-oss's ``XOR<ResponsesOutput, ChatCompletionsOutput>``,
    includes) the shared ``ChatCompletionsOutput`` of @cloudflare/workers-types: OpenAI's chat completion,
    ``refusal`` and ``logprobs`` required; the older per-model outputs (qwen3-30b-a3b) have neither."""
    doc = _workers_types()
    entry = doc["models"].get(name)
    return entry is not None and "ChatCompletionChoice" in _reachable(entry["output"], doc["definitions"], {})


def _object_branches(schema: Any, definitions: dict[str, Any]) -> list[dict[str, Any]]:
    """The object shapes ``schema`` allows (its ``$ref`` followed, its ``anyOf`` branches flattened)."""
    while isinstance(schema, dict) and isinstance(schema.get("$ref"), str):
        schema = definitions[schema["$ref"][len(_REF) :]]
    if not isinstance(schema, dict):
        return []
    if "anyOf" in schema or "oneOf" in schema:
        found = []
        for branch in [*schema.get("anyOf", []), *schema.get("oneOf", [])]:
            found.extend(_object_branches(branch, definitions))
        return found
    return [schema] if isinstance(schema.get("properties"), dict) else []


@cache
def typed_output_keys(name: str) -> tuple[frozenset[str], ...] | None:
    """The top-level keys of each object shape ``name``'s output type allows (one per ``anyOf``
    branch), from @cloudflare/workers-types; None when the types do not name the model."""
    doc = _workers_types()
    entry = doc["models"].get(name)
    if entry is None:
        return None
    return tuple(frozenset(b["properties"]) for b in _object_branches(entry["output"], doc["definitions"]))


def typed_answers_legacy(name: str) -> bool:
    """Whether ``name``'s output type is Workers AI's own ``{response, ...}`` only, no chat completion
    (granite-4.0-h-micro: ``BaseAiTextGeneration`` in @cloudflare/workers-types 5.20261117.1, though
    the catalog's model page shows a chat completion): the types are what the answer is checked
    against, so the emulator answers that shape."""
    keys = typed_output_keys(name)
    return bool(keys) and all("response" in k and "choices" not in k for k in keys or ())


def typed_output_declares(name: str, key: str) -> bool:
    """Whether some shape of ``name``'s output type has ``key`` at its top (True for a model the types
    do not name: nothing says otherwise)."""
    keys = typed_output_keys(name)
    return keys is None or any(key in k for k in keys)


def model_schema(info: ModelInfo) -> dict[str, Any]:
    """``{input, output}`` for ``/ai/models/schema``: Cloudflare's types where they cover the model,
    else written here from its catalog entry."""
    typed = typed_schema(info.name)
    if typed is not None:
        return typed
    if info.family in (DECISION, EXTRACTION):
        from .native_schemas import native_schema

        return native_schema(info)
    if info.family == RERANK:
        inputs, outputs = _rerank()
    elif info.is_embedding:
        inputs, outputs = _embedding(info)
    else:
        inputs, outputs = _generation(info)
    return {"input": inputs, "output": outputs}
