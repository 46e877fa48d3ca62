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


_EFFORTS = ("low", "medium", "high")


def _responses_content(content: Any) -> Any:
    """Responses content parts (``input_text`` / ``output_text`` / ``input_image``) as chat content."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise bad_input("'/input/content' must be string or array")
    texts: list[str] = []
    parts: list[dict[str, Any]] = []
    for part in content:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text"):
            texts.append(str(part.get("text", "")))
            parts.append({"type": "text", "text": str(part.get("text", ""))})
        elif kind == "input_image":
            parts.append({"type": "image_url", "image_url": {"url": part.get("image_url")}})
        else:
            raise bad_input(f"'/input/content' part type {kind!r} is not supported")
    return "".join(texts) if len(texts) == len(parts) else parts


def responses_input(body: dict[str, Any]) -> dict[str, Any]:
    """A Responses-API request (gpt-oss: ``input``, ``instructions``, ``reasoning``, ``tools``,
    ``text.format``, ``max_output_tokens``) as the text-generation body :func:`generation` checks.

    Sources: developers.cloudflare.com/workers-ai/models/gpt-oss-120b/ ("input" a string or an array of
    messages with role user, assistant, system or developer; "reasoning.effort" low, medium or high)
    and OpenAI's Responses API reference for the item and tool shapes it refers to."""
    raw = body.get("input")
    if isinstance(raw, str):
        raw = [{"role": "user", "content": raw}]
    if not isinstance(raw, list) or not raw:
        raise bad_input("'/input' must be a string or a non-empty array")
    messages: list[dict[str, Any]] = []
    instructions = body.get("instructions")
    if instructions is not None:
        if not isinstance(instructions, str):
            raise bad_input("'/instructions' must be string")
        messages.append({"role": "system", "content": instructions})
    names: dict[str, str] = {}
    for item in raw:
        if not isinstance(item, dict):
            raise bad_input("'/input' items must be objects")
        kind = item.get("type", "message")
        if kind == "message":
            role = item.get("role")
            if role not in ("user", "assistant", "system", "developer"):
                raise bad_input("'/input/role' must be one of user, assistant, system, developer")
            content = _responses_content(item.get("content", ""))
            messages.append({"role": "system" if role == "developer" else role, "content": content})
        elif kind == "function_call":
            call_id, name = str(item.get("call_id", "")), str(item.get("name", ""))
            names[call_id] = name
            call = {
                "id": call_id,
                "type": "function",
                "function": {"name": name, "arguments": item.get("arguments")},
            }
            messages.append({"role": "assistant", "content": "", "tool_calls": [call]})
        elif kind == "function_call_output":
            call_id = str(item.get("call_id", ""))
            output = item.get("output")
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call_id,
                    "name": names.get(call_id, ""),
                    "content": str(output),
                }
            )
        elif kind != "reasoning":  # earlier reasoning items are context the model may ignore
            raise bad_input(f"'/input' item type {kind!r} is not supported")
    reasoning = body.get("reasoning")
    if reasoning is not None and (
        not isinstance(reasoning, dict) or reasoning.get("effort", "medium") not in _EFFORTS
    ):
        raise bad_input("'/reasoning/effort' must be one of low, medium, high")
    chat: dict[str, Any] = {"messages": messages}
    for name in ("temperature", "top_p", "stream"):
        if name in body:
            chat[name] = body[name]
    if "max_output_tokens" in body:
        chat["max_tokens"] = body["max_output_tokens"]
    tools = body.get("tools")
    if tools is not None:
        if not isinstance(tools, list) or not all(isinstance(t, dict) and t.get("name") for t in tools):
            raise bad_input("'/tools' must be an array of {type: function, name, parameters}")
        chat["tools"] = [{k: v for k, v in t.items() if k != "type"} for t in tools]
    choice = body.get("tool_choice")
    if isinstance(choice, dict) and choice.get("name"):
        chat["tool_choice"] = {"type": "function", "function": {"name": choice["name"]}}
    elif choice in ("required", "none"):
        chat["tool_choice"] = choice
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
        chat["response_format"] = {"type": "json_schema", "json_schema": fmt.get("schema") or {}}
    elif isinstance(fmt, dict) and fmt.get("type") == "json_object":
        chat["response_format"] = {"type": "json_object"}
    return chat


def reasoning_effort(body: dict[str, Any]) -> None:
    """``reasoning_effort`` on a chat request, when given, is low, medium or high (the values Workers AI's
    reasoning models take, per cloudflare/ai workers-ai-provider e9b2a9a)."""
    effort = body.get("reasoning_effort")
    if effort is not None and effort not in _EFFORTS:
        raise bad_input("'/reasoning_effort' must be one of low, medium, high")
