"""Chat streams: every malformed frame is a ResponseFormatError, sync and async."""

from __future__ import annotations

import asyncio

import pytest

from workersai import ResponseFormatError, WorkersAI

from .conftest import Wire, sse

BAD_FRAMES = [
    "not json",
    "[1, 2]",
    '"a string"',
    "42",
    '{"response": true}',
    '{"response": {"an": "object"}}',
    '{"response": "x", "usage": "lots"}',
    '{"response": "x", "usage": {"prompt_tokens": "many"}}',
    '{"response": "x", "usage": {"prompt_tokens": [1]}}',
    '{"tool_calls": {"name": "f"}}',
    '{"tool_calls": [5]}',
    '{"tool_calls": [{"name": 5}]}',
    '{"tool_calls": [{"name": "f", "arguments": "{not json"}]}',
    '{"tool_calls": [{"name": "f", "arguments": "[1]"}]}',
    '{"tool_calls": [{"arguments": "{}"}]}',
    '{"choices": [5]}',
    '{"choices": ["x"]}',
    '{"choices": [{"delta": "x"}]}',
    '{"choices": [{"delta": [1]}]}',
    '{"choices": [{"delta": {"content": false}}]}',
    '{"choices": [{"delta": {"content": ["a"]}}]}',
    '{"choices": [{"delta": {}, "finish_reason": 3}]}',
    '{"choices": [{"delta": {"tool_calls": {"a": 1}}}]}',
    '{"choices": [{"delta": {"tool_calls": [5]}}]}',
    '{"choices": [{"delta": {"tool_calls": [{"index": "x", "function": {"name": "f"}}]}}]}',
    '{"choices": [{"delta": {"tool_calls": [{"index": 0.5, "function": {"name": "f"}}]}}]}',
    '{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": 5, "function": {"name": "f"}}]}}]}',
    '{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"name": ["f"]}}]}}]}',
]


def _drain(client: WorkersAI) -> list[str]:
    return [c.text for c in client.stream_chat("hi")]


async def _adrain(client: WorkersAI) -> list[str]:
    return [c.text async for c in client.astream_chat("hi")]


@pytest.mark.parametrize("frame", BAD_FRAMES)
def test_malformed_frame_is_a_response_format_error(wire: Wire, core: WorkersAI, frame: str) -> None:
    wire.answer = lambda request: sse('{"response": "Hel"}', frame)
    with pytest.raises(ResponseFormatError):
        _drain(core)
    with pytest.raises(ResponseFormatError):
        asyncio.run(_adrain(core))


def test_well_formed_frames_of_both_shapes_pass(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: sse(
        '{"response": "Hel", "p": "abc"}',
        '{"response": null}',
        '{"choices": [{"delta": {"content": "lo"}}]}',
        '{"choices": [{"delta": {"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "f"}}]}}]}',
        '{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}}]}',
        '{"choices": [{"delta": {}, "finish_reason": "tool_calls"}], "usage": null}',
        '{"response": "", "usage": {"prompt_tokens": 3, "completion_tokens": 2}}',
    )
    chunks = list(core.stream_chat("hi"))
    assert "".join(c.text for c in chunks) == "Hello"
    assert chunks[-1].finish_reason == "tool_calls"
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5
