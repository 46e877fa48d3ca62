"""Workers AI's input rules as the service states them.

Sources: https://developers.cloudflare.com/workers-ai/platform/errors/ (codes and statuses: 5007 400
"No such model ${model} or task", 3042 404 invalid model name, 3003 400 request missing its body,
3006 413 request too large, 5006 400 bad input), each model's page under
https://developers.cloudflare.com/workers-ai/models/ (embeddings: ``text`` a string or 1..100 strings,
``pooling`` mean | cls; text generation: ``prompt`` or ``messages``, ``max_tokens``, ``temperature``
0..5, ``tools``, ``response_format``), and cloudflare/agents#1685 for JSON mode with streaming.
"""

from __future__ import annotations

import re
from typing import Any

from ...catalog import ModelInfo, get_model
from . import Rejected, parse_json

BAD_INPUT = 5006
NO_SUCH_MODEL = 5007
INVALID_MODEL_ID = 3042
MISSING_BODY = 3003
TOO_LARGE = 3006

# ``@cf/<author>/<name>`` or ``@hf/<author>/<name>``: a Workers AI model name in the path.
_MODEL_ID = re.compile(r"@(cf|hf)/[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+")
_ROLES = ("system", "user", "assistant", "tool")


def bad_input(message: str) -> Rejected:
    return Rejected(400, BAD_INPUT, f"AiError: Bad input: {message}")


def json_body(raw: bytes) -> Any:
    """A JSON body (3003 when there is none)."""
    if not raw.strip():
        raise Rejected(400, MISSING_BODY, "Missing body")
    try:
        return parse_json(raw, BAD_INPUT, "AiError: Bad input")
    except Rejected as exc:
        raise bad_input("body is not valid JSON") from exc


def model_info(model: str) -> ModelInfo:
    """The catalog entry of ``model``: 404/3042 for a malformed name, 400/5007 for an unknown one."""
    if not _MODEL_ID.fullmatch(model):
        raise Rejected(404, INVALID_MODEL_ID, f"Invalid model ID: {model}")
    info = get_model(model)
    if info is None:
        raise Rejected(400, NO_SUCH_MODEL, f"No such model {model} or task")
    return info


def embedding_texts(info: ModelInfo, text: Any, pooling: Any) -> list[str]:
    """The texts of an embedding request."""
    texts = [text] if isinstance(text, str) else text
    if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
        raise bad_input("Type mismatch of '/text', must be string or array")
    if not texts:
        raise bad_input("'/text' must NOT have fewer than 1 items")
    if len(texts) > (info.max_batch or 100):
        raise bad_input(f"'/text' must NOT have more than {info.max_batch} items")
    if any(not t.strip() for t in texts):
        raise bad_input("'/text' items must NOT have fewer than 1 characters")
    if pooling not in ("mean", "cls"):
        raise bad_input("'/pooling' must be equal to one of the allowed values")
    return texts


def generation(body: dict[str, Any]) -> dict[str, Any]:
    """The checked inputs of a text-generation request: messages, max_tokens, temperature, seed, stop,
    tools, tool_choice, response_format."""
    messages = body.get("messages")
    if messages is None and isinstance(body.get("prompt"), str):
        messages = [{"role": "user", "content": body["prompt"]}]
    if not isinstance(messages, list) or not messages:
        raise bad_input("must have required property 'prompt' or 'messages'")
    for m in messages:
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise bad_input("each message needs a valid 'role'")
        if m.get("content") is not None and not isinstance(m.get("content"), str):
            raise bad_input("message 'content' must be a string")
    max_tokens = body.get("max_tokens", 256)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise bad_input("'/max_tokens' must be >= 1")
    temperature = body.get("temperature", 0.6)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0 <= temperature <= 5
    ):
        raise bad_input("'/temperature' must be <= 5")
    stop = body.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    tools = body.get("tools") or []
    if not isinstance(tools, list):
        raise bad_input("'/tools' must be array")
    response_format = body.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict)
        or response_format.get("type") not in ("json_object", "json_schema")
    ):
        raise bad_input("'/response_format/type' must be json_object or json_schema")
    if response_format is not None and body.get("stream"):
        raise bad_input("JSON mode does not support streaming")
    return {
        "messages": messages,
        "max_tokens": max_tokens,
        "temperature": float(temperature),
        "seed": body.get("seed"),
        "stop": stop,
        "tools": tools,
        "tool_choice": body.get("tool_choice"),
        "response_format": response_format,
    }


_SAMPLING = {
    # name: (lowest, highest) as the text-generation models' input schemas state them
    # (developers.cloudflare.com/workers-ai/models/llama-3.1-8b-instruct/, "Parameters").
    "top_p": (0.001, 1.0),
    "top_k": (1, 50),
    "repetition_penalty": (0.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
    "presence_penalty": (-2.0, 2.0),
}


def sampling(body: dict[str, Any]) -> dict[str, Any]:
    """The sampling options of a text-generation request that are present, checked against their
    documented ranges."""
    out: dict[str, Any] = {}
    for name, (low, high) in _SAMPLING.items():
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise bad_input(f"'/{name}' must be a number from {low} to {high}")
        out[name] = int(value) if name == "top_k" else float(value)
    return out
