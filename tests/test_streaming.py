"""Streaming over real SSE: text deltas, tool-call deltas merged by index, usage, and cut streams."""

from __future__ import annotations

import httpx
import pytest

from workersai import StreamInterrupted, WorkersAI
from workersai.chat_answers import ToolCallAccumulator
from workersai.local import LocalEmulator
from workersai.streaming import iter_sse_json

from .test_chat import MAGIC_OPENAI, ask


def test_stream_text_equals_the_whole_answer(client: WorkersAI) -> None:
    whole = client.chat(ask("What is Vectorize?"), max_tokens=20, temperature=0)
    chunks = list(client.stream_chat(ask("What is Vectorize?"), max_tokens=20, temperature=0))
    text_chunks = [c for c in chunks if c.text]
    assert len(text_chunks) > 5  # token by token
    assert "".join(c.text for c in chunks) == whole.text
    final = chunks[-1]
    assert final.usage is not None
    assert final.usage == whole.usage
    assert final.finish_reason == "stop"
    assert sum(1 for c in chunks if c.usage is not None) == 1


def test_frames_carry_padding_that_is_ignored(client: WorkersAI) -> None:
    model = "@cf/meta/llama-3.1-8b-instruct-fast"
    request = client._chat_request("hello", model, None, {"max_tokens": 4}, None, stream=True)
    with client.transport.stream("POST", **request) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = list(iter_sse_json(response))
    assert all("p" in e for e in events if e.get("response"))
    assert "usage" in events[-1]


def test_stop_sequence_in_a_stream(client: WorkersAI) -> None:
    full = "".join(c.text for c in client.stream_chat(ask("Where is the Eiffel Tower?"), temperature=0))
    cut = "".join(
        c.text for c in client.stream_chat(ask("Where is the Eiffel Tower?"), temperature=0, stop=["Paris"])
    )
    assert cut == full[: full.index("Paris")]


def test_tool_call_deltas_merge_by_index(client: WorkersAI) -> None:
    chunks = list(client.stream_chat("What is magic_function(12)? Use the tool.", tools=[MAGIC_OPENAI]))
    deltas = [d for c in chunks for d in c.tool_calls]
    assert len(deltas) > 1  # the arguments arrive in pieces
    assert deltas[0].name == "magic_function" and deltas[0].id
    merged = ToolCallAccumulator()
    merged.add(deltas)
    calls = merged.tool_calls()
    assert [(c.name, c.arguments) for c in calls] == [("magic_function", {"input": 12})]
    assert calls[0].id == deltas[0].id
    assert chunks[-1].finish_reason == "tool_calls"


async def test_async_stream(client: WorkersAI) -> None:
    chunks = [c async for c in client.astream_chat(ask("What is Vectorize?"), max_tokens=10)]
    assert "".join(c.text for c in chunks).startswith("Vectorize")
    assert chunks[-1].usage is not None and chunks[-1].usage.completion_tokens == 10


def test_cut_stream_raises_not_truncates(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.set_faults(cut_stream_after=3)
    received: list[str] = []
    with pytest.raises(StreamInterrupted):
        for chunk in client.stream_chat(ask("What is Vectorize?"), max_tokens=20):
            received.append(chunk.text)
    assert len(received) == 3  # the three frames that did arrive were delivered, then the error


async def test_async_cut_stream_raises(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.set_faults(cut_stream_after=2)
    with pytest.raises(StreamInterrupted):
        async for _ in client.astream_chat(ask("What is Vectorize?"), max_tokens=20):
            pass


def test_stream_without_done_raises() -> None:
    body = b'data: {"response": "Hel"}\n\ndata: {"response": "lo"}\n\n'
    response = httpx.Response(200, headers={"content-type": "text/event-stream"}, content=body)
    with pytest.raises(StreamInterrupted, match="without \\[DONE\\]"):
        list(iter_sse_json(response))


def test_openai_style_stream_is_parsed(client: WorkersAI) -> None:
    from workersai.chat_answers import parse_stream_event

    body = {
        "model": "@cf/meta/llama-3.1-8b-instruct-fast",
        "messages": [{"role": "user", "content": "magic_function(5) please"}],
        "tools": [MAGIC_OPENAI],
        "stream": True,
    }
    with client.transport.stream("POST", client.account_url("ai/v1/chat/completions"), json=body) as response:
        chunks = [parse_stream_event(e) for e in iter_sse_json(response)]
    merged = ToolCallAccumulator()
    for c in chunks:
        merged.add(c.tool_calls)
    assert [(c.name, c.arguments) for c in merged.tool_calls()] == [("magic_function", {"input": 5})]
    assert chunks[-1].finish_reason == "tool_calls" and chunks[-1].usage is not None


def test_paced_stream_delivers_the_same_answer(emulator: LocalEmulator, client: WorkersAI) -> None:
    """``token_interval_ms`` (the service's generation speed, for benchmarks) changes only timing."""
    question = ask("What is Vectorize?")
    plain = "".join(c.text for c in client.stream_chat(question, max_tokens=40, temperature=0))
    emulator.set_faults(token_interval_ms=1)
    paced = list(client.stream_chat(question, max_tokens=40, temperature=0))
    assert "".join(c.text for c in paced) == plain
    assert paced[-1].usage is not None


def test_cli_takes_the_benchmark_options() -> None:
    from workersai.local.cli import parse_args

    args = parse_args(["--token-interval-ms", "2", "--embedding-cache", "100", "--log-level", "warning"])
    assert (args.token_interval_ms, args.embedding_cache, args.log_level) == (2.0, 100, "warning")
