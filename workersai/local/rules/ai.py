"""Workers AI's input rules as the service states them.

Sources: https://developers.cloudflare.com/workers-ai/platform/errors/ (codes and statuses: 5007 400
"No such model ${model} or task", 3042 404 invalid model name, 3003 400 request missing its body,
3006 413 request too large, 5006 400 bad input), each model's page under
https://developers.cloudflare.com/workers-ai/models/ (embeddings: ``text`` a string or 1..100 strings,
``pooling`` mean | cls; text generation: ``prompt`` or ``messages``, ``max_tokens``, ``temperature``
0..5, ``tools``, ``response_format``), and cloudflare/agents#1685 for JSON mode with streaming.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

from ...catalog import ModelInfo, get_model
from ..images import describe
from . import Rejected, parse_json

BAD_INPUT = 5006
NO_SUCH_MODEL = 5007
INVALID_MODEL_ID = 3042
MISSING_BODY = 3003
TOO_LARGE = 3006
JSON_SCHEMA_STREAM = 5023

# ``@cf/<author>/<name>`` or ``@hf/<author>/<name>``: a Workers AI model name in the path.
_MODEL_ID = re.compile(r"@(cf|hf)/[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)+")
_ROLES = ("system", "user", "assistant", "tool")
POOLING_MODELS = frozenset(
    {"@cf/baai/bge-small-en-v1.5", "@cf/baai/bge-base-en-v1.5", "@cf/baai/bge-large-en-v1.5"}
)
"""Embedding models that take ``pooling`` (mean | cls) and name it in their answer: the BGE English
models' pages and their types in @cloudflare/workers-types (``Ai_Cf_Baai_Bge_*_En_V1_5_Input`` /
``_Output``); bge-m3, qwen3-embedding and embeddinggemma answer ``{shape, data}`` only."""
NESTED_TOOL_CALL_MODELS = frozenset({"@cf/meta/llama-4-scout-17b-16e-instruct"})
"""Models that answer ``{response, tool_calls, usage}`` with each tool call as ``{id, type: "function",
function: {name, arguments}}``, the arguments an object: Llama 4 Scout's output type in
@cloudflare/workers-types (``Ai_Cf_Meta_Llama_4_Scout_17B_16E_Instruct_Output``); the other legacy
models answer ``{name, arguments}``."""
IMAGE_FIELD_MODELS = frozenset({"@cf/meta/llama-3.2-11b-vision-instruct"})
"""Models whose page documents a top-level ``image`` input (the image's bytes)."""


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


_DATA_URL = re.compile(r"data:(?P<type>[^;,]*)(?P<params>(?:;[^;,]*)*),(?P<data>.*)", re.DOTALL)


def _image_url(url: Any, where: str) -> tuple[bytes | None, str | None, str]:
    """An ``image_url`` part's image: (bytes, declared media type, url); bytes None for an https URL."""
    if not isinstance(url, str) or not url:
        raise bad_input(f"'{where}/image_url/url' must be a non-empty string")
    if url.startswith("https://"):
        return None, None, url
    match = _DATA_URL.fullmatch(url)
    if match is None or ";base64" not in match["params"].lower():
        raise bad_input(f"'{where}/image_url/url' must be an https URL or a base64 data URL")
    media_type = match["type"].strip().lower()
    if not media_type.startswith("image/"):
        raise bad_input(f"'{where}/image_url/url' is a data URL of {media_type or 'no type'}, not an image")
    try:
        data = base64.b64decode(match["data"], validate=True)
    except (binascii.Error, ValueError):
        raise bad_input(f"'{where}/image_url/url' is not valid base64") from None
    return data, media_type, url


def _content(content: Any, where: str) -> tuple[str, list[tuple[bytes | None, str | None, str]]]:
    """A message's text and images. ``content`` is a string, one part or a list of ``{type: "text",
    text}`` / ``{type: "image_url", image_url: {url}}`` parts (@cloudflare/workers-types, e.g.
    ``Ai_Cf_Meta_Llama_4_Messages``; the OpenAI-schema model pages)."""
    if content is None or isinstance(content, str):
        return content or "", []
    parts = [content] if isinstance(content, dict) else content
    if not isinstance(parts, list):
        raise bad_input(f"'{where}/content' must be a string or an array of content parts")
    texts: list[str] = []
    found: list[tuple[bytes | None, str | None, str]] = []
    for i, part in enumerate(parts):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text" and isinstance(part.get("text"), str):
            texts.append(part["text"])
        elif kind == "image_url" and isinstance(part.get("image_url"), dict):
            found.append(_image_url(part["image_url"].get("url"), f"{where}/content/{i}"))
        else:
            raise bad_input(f"'{where}/content/{i}' must be a text part or an image_url part")
    return "\n".join(texts), found


def _image_field(value: Any) -> bytes:
    """The top-level ``image`` of Llama 3.2 11B Vision: "an array of integers that represent the image
    data constrained to 8-bit unsigned integer values", or a binary string (its model page)."""
    if isinstance(value, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        if not all(0 <= v <= 255 for v in value):
            raise bad_input("'/image' items must be between 0 and 255")
        return bytes(value)
    if isinstance(value, str):
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return value.encode("latin-1", errors="replace")
    raise bad_input("'/image' must be an array of 8-bit unsigned integers or a binary string")


def chat_messages(body: dict[str, Any], info: ModelInfo | None = None) -> list[dict[str, Any]]:
    """The checked messages of a text-generation request, each ``content`` a string for the generator.

    Images are accepted by the models the catalog marks ``vision`` only, in user messages: as
    ``image_url`` parts, except for Llama 3.2 11B Vision, whose page documents string content and the
    image's bytes in the top-level ``image`` field (the only model that takes that field).
    An image for a text-only model is 5006 (no documented code for it was found). Each image reaches the
    generator as a sentence of what its bytes state (:mod:`workersai.local.images`), followed by the
    message's text as a ``Question:`` line."""
    messages = body.get("messages")
    if messages is None and isinstance(body.get("prompt"), str):
        messages = [{"role": "user", "content": body["prompt"]}]
    if not isinstance(messages, list) or not messages:
        raise bad_input("must have required property 'prompt' or 'messages'")
    checked: list[dict[str, Any]] = []
    per_message: list[list[tuple[bytes | None, str | None, str]]] = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or m.get("role") not in _ROLES:
            raise bad_input("each message needs a valid 'role'")
        text, found = _content(m.get("content"), f"/messages/{i}")
        if found and m["role"] != "user":  # OpenAI's chat format: image parts in user messages only
            raise bad_input(f"'/messages/{i}/content' of a {m['role']} message must be text")
        if found and info is not None and info.name in IMAGE_FIELD_MODELS:
            raise bad_input(f"{info.name} takes its image in the 'image' field; message content is a string")
        checked.append({**m, "content": text})
        per_message.append(found)
    if "image" in body:
        if info is None or info.name not in IMAGE_FIELD_MODELS:
            raise bad_input("'/image' is not an input of this model; send images as image_url content parts")
        last_user = max((i for i, m in enumerate(checked) if m["role"] == "user"), default=len(checked) - 1)
        per_message[last_user].append((_image_field(body["image"]), None, ""))
    if any(per_message) and info is not None and not info.vision:
        raise bad_input(f"{info.name} does not accept image input")
    number = 0
    for m, found in zip(checked, per_message, strict=True):
        if found:
            lines = []
            for data, declared, url in found:
                number += 1
                lines.append(describe(number, data, url, declared))
            m["content"] = "\n".join(lines) + (f"\nQuestion: {m['content']}" if m["content"] else "")
    return checked


def token_cap(body: dict[str, Any]) -> int:
    """The most tokens to generate: ``max_completion_tokens`` when given (the OpenAI-schema models' pages
    list it, ``max_tokens`` being "deprecated in favor of max_completion_tokens"), else ``max_tokens``,
    else 256 (the text-generation models' documented default)."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise bad_input(f"'/{name}' must be an integer >= 1")
        return value
    return 256


def context_window(info: ModelInfo, max_tokens: int, prompt_tokens: int) -> None:
    """The prompt and ``max_tokens`` together within the model's context window (the catalog's
    ``context_window``), as the service answers past it (400, cloudflare/cloudflare-docs#29731: "AiError:
    This model's maximum context length is 131072 tokens. However, you requested 16000 output tokens and
    your prompt contains at least 115073 input tokens, ..."; its code is not shown there: 5006 here).
    ``prompt_tokens`` is the emulator's count, so "at least" holds only roughly."""
    window = info.context_window
    if window is None or max_tokens + prompt_tokens <= window:
        return
    raise Rejected(
        400,
        BAD_INPUT,
        f"AiError: This model's maximum context length is {window} tokens. However, you requested "
        f"{max_tokens} output tokens and your prompt contains at least {prompt_tokens} input tokens, for a "
        f"total of at least {max_tokens + prompt_tokens} tokens. Please reduce the length of the input "
        "prompt or reduce max_tokens.",
    )


def openai_chat(body: dict[str, Any]) -> dict[str, Any]:
    """A ``/ai/v1/chat/completions`` body as ``/ai/run`` takes it. Refused beyond ``/ai/run``: both token
    caps at once, as OpenAI's chat completions API does ("Setting 'max_tokens' and
    'max_completion_tokens' at the same time is not supported."); Cloudflare's pages say nothing of the
    pair, so OpenAI's rule stands. Accepted beyond it: the ``developer`` role, OpenAI's name for system
    instructions ("developer messages ... replace the previous system messages", OpenAI's chat API
    reference), which the openai SDK and langchain-openai send for some models; it reaches the model as
    a system message. The OpenAI-compatible endpoint is documented as taking the OpenAI SDK's calls
    unchanged (developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/)."""
    if body.get("max_tokens") is not None and body.get("max_completion_tokens") is not None:
        raise bad_input("Setting 'max_tokens' and 'max_completion_tokens' at the same time is not supported.")
    messages = body.get("messages")
    if not isinstance(messages, list):
        return body
    developer = [isinstance(m, dict) and m.get("role") == "developer" for m in messages]
    if not any(developer):
        return body
    as_system = [{**m, "role": "system"} if d else m for m, d in zip(messages, developer, strict=True)]
    return {**body, "messages": as_system}


def _stop(value: Any) -> list[str]:
    """``stop``: a string or an array of strings (the type OpenAI's chat completions give it, which the
    OpenAI-schema model pages take); anything else is bad input, never a failure mid-generation."""
    if value is None:
        return []
    stop = [value] if isinstance(value, str) else value
    if not isinstance(stop, list) or not all(isinstance(s, str) for s in stop):
        raise bad_input("'/stop' must be a string or an array of strings")
    return list(stop)


def _tools(value: Any) -> list[dict[str, Any]]:
    """``tools``: an array of tools, each ``{name, description?, parameters?}`` or ``{type: "function",
    function: {name, description?, parameters?}}`` (the text-generation model pages), with ``parameters``
    a JSON Schema object."""
    if value is None:
        return []
    if not isinstance(value, list):
        raise bad_input("'/tools' must be array")
    for i, tool in enumerate(value):
        spec = tool.get("function") if isinstance(tool, dict) and tool.get("type") == "function" else tool
        where = f"/tools/{i}/function" if spec is not tool else f"/tools/{i}"
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise bad_input(f"'{where}' must be an object with a string 'name'")
        if spec.get("parameters") is not None and not isinstance(spec["parameters"], dict):
            raise bad_input(f"'{where}/parameters' must be object")
        if spec.get("description") is not None and not isinstance(spec["description"], str):
            raise bad_input(f"'{where}/description' must be string")
    return value


def generation(body: dict[str, Any], info: ModelInfo | None = None) -> dict[str, Any]:
    """The checked inputs of a text-generation request: messages, max_tokens, temperature, seed, stop,
    tools, tool_choice, response_format."""
    messages = chat_messages(body, info)
    max_tokens = token_cap(body)
    temperature = body.get("temperature", 0.6)
    if (
        isinstance(temperature, bool)
        or not isinstance(temperature, (int, float))
        or not 0 <= temperature <= 5
    ):
        raise bad_input("'/temperature' must be <= 5")
    stop = _stop(body.get("stop"))
    tools = _tools(body.get("tools"))
    response_format = body.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict)
        or response_format.get("type") not in ("json_object", "json_schema")
    ):
        raise bad_input("'/response_format/type' must be json_object or json_schema")
    if response_format is not None and body.get("stream"):
        if response_format.get("type") == "json_schema":  # as the service answers (cloudflare/agents#1685)
            raise Rejected(
                400, JSON_SCHEMA_STREAM, "AiError: 5023: JSON Schema mode is not supported with stream mode."
            )
        # json_object with stream: unverified (no page or capture shows it); refused as bad input here.
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


def reasoning_effort(body: dict[str, Any], info: ModelInfo | None = None) -> None:
    """``reasoning_effort`` on a chat request, when given, is one of the levels the model's input type
    lists (@cloudflare/workers-types 5.20261117.1, catalog ``reasoning_efforts``: qwen3.8-27b takes
    low, medium, xhigh; deepseek-v4 none, low, high, max); low, medium or high for a model whose type
    takes none or that the types do not describe (cloudflare/ai workers-ai-provider e9b2a9a)."""
    effort = body.get("reasoning_effort")
    allowed = (info.reasoning_efforts if info is not None else None) or _EFFORTS
    if effort is not None and effort not in allowed:
        raise bad_input(f"'/reasoning_effort' must be one of {', '.join(allowed)}")
