"""Chat prompts in SmolLM2's ChatML template, built from pieces.

Special tokens are inserted by id and every text (role, content) is encoded with special-token
parsing off, so no user text can open or close a turn. With tools, the system prompt is the
function-calling prompt SmolLM2-Instruct was trained on (Argilla's APIGen format): the tools as JSON
inside ``<tools>...</tools>``, the answer as ``<tool_call>[...]</tool_call>``, ``[]`` for no call, and
a tool's result as a user turn ``<tool_response>...</tool_response>``.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

from .tokenizer import TextTokenizer

DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"

TOOL_CALL_OPEN = "<tool_call>"
TOOL_CALL_CLOSE = "</tool_call>"

_TOOLS_SYSTEM = (
    "You are an expert in composing functions. You are given a question and a set of possible functions.\n"
    "Based on the question, you will need to make one or more function/tool calls to achieve the purpose.\n"
    "If none of the functions can be used, point it out and refuse to answer.\n"
    "If the given question lacks the parameters required by the function, also point it out.\n"
    "You have access to the following tools:\n"
    "<tools>{tools}</tools>\n"
    "The output MUST strictly adhere to the following format, and NO other text MUST be included.\n"
    "The example format is as follows. Please make sure the parameter type is correct. If no function call "
    "is needed, please make the tool calls an empty list '[]'.\n"
    "<tool_call>[\n"
    '{{"name": "func_name1", "arguments": {{"argument1": "value1", "argument2": "value2"}}}},\n'
    "(more tool calls as required)\n"
    "]</tool_call>"
)


def tool_spec(tool: Mapping[str, Any]) -> dict[str, Any]:
    """``{"name", "description", "parameters"}`` of a tool given flat or OpenAI-style."""
    fn = tool.get("function") if tool.get("type") == "function" else tool
    spec = dict(fn) if isinstance(fn, Mapping) else {}
    return {
        "name": str(spec.get("name", "")),
        "description": str(spec.get("description", "")),
        "parameters": spec.get("parameters") or {"type": "object", "properties": {}},
    }


def call_opening(name: str) -> str:
    """How a call to tool ``name`` starts, up to its arguments."""
    return '{"name": ' + json.dumps(name) + ', "arguments": '


def tools_system_prompt(specs: Sequence[Mapping[str, Any]]) -> str:
    listed = [{"type": "function", "function": dict(spec)} for spec in specs]
    return _TOOLS_SYSTEM.format(tools=json.dumps(listed))


def _written_calls(text: str) -> tuple[str, list[dict[str, Any]]]:
    """An assistant turn's text, less the tool calls written at its end as Llama's JSON tool calls
    (``{"name", "parameters"}``, one per line), and those calls as ``{name, arguments}``.

    That is how a model whose messages type takes no ``tool_calls`` is sent its earlier calls (llama-3.3,
    hermes-2-pro, qwen3-30b in @cloudflare/workers-types 5.20261117.1; Llama 3's own chat template
    writes a call so), and how the model reads them: here they become SmolLM2's ``<tool_call>``."""
    lines = text.split("\n")
    calls: list[dict[str, Any]] = []
    while lines:
        try:
            value = json.loads(lines[-1])
        except ValueError:
            break
        if not (
            isinstance(value, dict)
            and isinstance(value.get("name"), str)
            and isinstance(value.get("parameters"), dict)
        ):
            break
        calls.insert(0, {"name": value["name"], "arguments": value["parameters"]})
        lines.pop()
    return "\n".join(lines), calls


def _content(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    text = content if isinstance(content, str) else ""
    calls = message.get("tool_calls")
    if message.get("role") == "assistant" and not calls:
        text, calls = _written_calls(text)
    if message.get("role") == "assistant" and isinstance(calls, list) and calls:
        rendered = []
        for call in calls:
            fn = call.get("function", call) if isinstance(call, Mapping) else {}
            args = fn.get("arguments", {})
            if isinstance(args, str):
                with contextlib.suppress(ValueError):
                    args = json.loads(args)
            rendered.append({"name": fn.get("name", ""), "arguments": args})
        text = (text + "\n" if text else "") + TOOL_CALL_OPEN + json.dumps(rendered) + TOOL_CALL_CLOSE
    return text


def chat_ids(
    tok: TextTokenizer,
    messages: Sequence[Mapping[str, Any]],
    *,
    system: str | None = None,
    answer_prefix: str = "",
    only_system: bool = False,
) -> list[int]:
    """Token ids of the ChatML prompt for ``messages``, ending with the assistant's turn opened.

    ``system`` is put before the conversation's own system message (or stands for the default one);
    ``answer_prefix`` is text the assistant's answer is made to start with. ``only_system`` stops after
    the system turn (a prefix that prompts with the same system turn share).
    """
    msgs = list(messages)
    own_system = [_content(m) for m in msgs if m.get("role") == "system"]
    rest = [m for m in msgs if m.get("role") != "system"]
    parts = [p for p in (system, *own_system) if p]
    ids: list[int] = []
    newline = tok.encode("\n")

    def turn(role: str, text: str) -> None:
        ids.append(tok.im_start)
        ids.extend(tok.encode(role + "\n"))
        ids.extend(tok.encode(text))
        ids.append(tok.im_end)
        ids.extend(newline)

    turn("system", "\n\n".join(parts) if parts else DEFAULT_SYSTEM)
    if only_system:
        return ids
    for m in rest:
        role = str(m.get("role") or "user")
        if role == "tool":  # SmolLM2's function-calling format: a tool's result is a user turn
            turn("user", f"<tool_response>\n{_content(m)}\n</tool_response>")
        else:
            turn(role, _content(m))
    ids.append(tok.im_start)
    ids.extend(tok.encode("assistant\n"))
    ids.extend(tok.encode(answer_prefix))
    return ids
