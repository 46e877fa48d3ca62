"""The emulator's language model reads a tool call written as Llama's JSON in an assistant turn (how the
client sends earlier calls to a model whose messages type takes no ``tool_calls``) as its own call."""

from __future__ import annotations

import json

from workersai.local.lm.prompt import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, _content, _written_calls

CALL = json.dumps({"name": "multiply", "parameters": {"a": 12, "b": 3}})


def test_written_calls_are_taken_off_the_end_of_the_text() -> None:
    other = json.dumps({"name": "now", "parameters": {}})
    assert _written_calls(f"Let me see.\n{CALL}\n{other}") == (
        "Let me see.",
        [{"name": "multiply", "arguments": {"a": 12, "b": 3}}, {"name": "now", "arguments": {}}],
    )
    assert _written_calls('{"name": "x"}') == ('{"name": "x"}', [])  # no parameters: not a call
    assert _written_calls("plain text") == ("plain text", [])


def test_an_assistant_turn_with_a_written_call_renders_as_a_tool_call() -> None:
    rendered = _content({"role": "assistant", "content": CALL})
    calls = [{"name": "multiply", "arguments": {"a": 12, "b": 3}}]
    assert rendered == TOOL_CALL_OPEN + json.dumps(calls) + TOOL_CALL_CLOSE
    assert _content({"role": "user", "content": CALL}) == CALL  # only an assistant's own turn
