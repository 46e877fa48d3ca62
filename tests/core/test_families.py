"""The response-family parsers without a server: numbers as content, tool-call deltas by index,
``<think>`` tags split anywhere, Responses objects, events and requests."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from workersai import BadInput, WorkersAI
from workersai.chat import build_chat_payload
from workersai.chat_answers import parse_chat_result, parse_stream_event
from workersai.errors import ServerError
from workersai.reasoning import ThinkSplitter, split_think

from .conftest import Wire, envelope, sse

R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"
GPT_OSS = "@cf/openai/gpt-oss-20b"


# -- numbers as content -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("result", "text"),
    [
        ({"response": 42}, "42"),
        ({"response": 2.5}, "2.5"),
        ({"choices": [{"message": {"content": 7}, "finish_reason": "stop"}]}, "7"),
    ],
)
def test_a_number_answer_is_text(result: dict[str, Any], text: str) -> None:
    assert parse_chat_result(LLAMA, result).text == text


def test_streamed_numbers_are_text(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: sse(
        '{"choices": [{"delta": {"content": 12}}]}',
        '{"choices": [{"delta": {"content": "."}}]}',
        '{"response": 5}',
    )
    assert "".join(c.text for c in core.stream_chat("hi")) == "12.5"


# -- tool-call deltas ---------------------------------------------------------------------------------
def test_tool_call_deltas_merge_by_index_whatever_their_order(wire: Wire, core: WorkersAI) -> None:
    def call(index: int, **piece: Any) -> str:
        fn = {k: v for k, v in piece.items() if k in ("name", "arguments")}
        extra = {"id": piece["id"]} if "id" in piece else {}
        return json.dumps(
            {"choices": [{"delta": {"tool_calls": [{"index": index, **extra, "function": fn}]}}]}
        )

    wire.answer = lambda request: sse(
        call(1, id="b", name="second", arguments='{"x"'),
        call(0, id="a", name="first", arguments=""),
        call(1, arguments=": 2}"),
        call(0, arguments='{"y": "z"}'),
        '{"choices": [{"delta": {}, "finish_reason": "tool_calls"}]}',
    )
    from workersai.chat_answers import ToolCallAccumulator

    merged = ToolCallAccumulator()
    chunks = list(core.stream_chat("hi"))
    for c in chunks:
        merged.add(c.tool_calls)
    assert [(t.id, t.name, t.arguments) for t in merged.tool_calls()] == [
        ("a", "first", {"y": "z"}),
        ("b", "second", {"x": 2}),
    ]
    assert chunks[-1].finish_reason == "tool_calls"


# -- reasoning ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "implicit", "expected"),
    [
        ("<think>why</think>\n\nanswer", False, ("why", "answer")),
        ("  <think>\nwhy\n</think>answer", False, ("why", "answer")),
        ("why</think>\n\nanswer", True, ("why", "answer")),  # the opening tag left out (R1 on Workers AI)
        ("why</think>answer", False, (None, "why</think>answer")),  # not a model that thinks in text
        ("<think>still thinking", False, ("still thinking", "")),  # cut while reasoning
        ("plain answer", True, (None, "plain answer")),
    ],
)
def test_split_think(text: str, implicit: bool, expected: tuple[str | None, str]) -> None:
    assert split_think(text, implicit_open=implicit) == expected


TEXTS = [
    "<think>\nThe user asks.\n</think>\n\nParis is the capital.",
    "reasoning first</think>Paris.",
    "Paris, no reasoning at all. a < b and <thin> is not a tag",
    "<think>never closed",
    "\n<think>a</think>b</think>c",
]


@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("implicit", [False, True])
@pytest.mark.parametrize("size", [1, 2, 3, 5, 100])
def test_think_splitter_matches_split_think_for_any_cut(text: str, implicit: bool, size: int) -> None:
    splitter = ThinkSplitter(implicit_open=implicit)
    thought, answer = "", ""
    for start in range(0, len(text), size):
        r, a = splitter.feed(text[start : start + size])
        thought, answer = thought + r, answer + a
    r, a = splitter.flush()
    thought, answer = thought + r, answer + a
    want_thought, want_answer = split_think(text, implicit_open=implicit)
    if implicit and "</think>" not in text and not text.lstrip().startswith("<think>"):
        # A model that thinks in text and never closed: the stream cannot know, and keeps it as reasoning.
        assert (thought, answer) == (text.lstrip(), "")
        return
    assert answer == want_answer
    assert thought.strip() == (want_thought or "")


def test_streamed_think_tags_split_across_frames(wire: Wire, core: WorkersAI) -> None:
    pieces = ["<th", "ink>\nthe user", " asks</th", "ink>", "\n\nPar", "is"]
    wire.answer = lambda request: sse(*(json.dumps({"response": p}) for p in pieces))
    chunks = list(core.stream_chat("hi", model=R1))
    assert "".join(c.text for c in chunks) == "Paris"
    assert "".join(c.reasoning for c in chunks) == "the user asks"
    assert all(not (c.text and c.reasoning) for c in chunks)


def test_r1_without_its_opening_tag(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: envelope({"response": "thinking...\n</think>\n\nParis"})
    result = core.chat("hi", model=R1)
    assert (result.reasoning, result.text) == ("thinking...", "Paris")
    wire.answer = lambda request: sse('{"response": "thinking"}', '{"response": "...</think>Paris"}')
    chunks = list(core.stream_chat("hi", model=R1))
    assert "".join(c.reasoning for c in chunks) == "thinking..."
    assert "".join(c.text for c in chunks) == "Paris"


def test_reasoning_content_in_message_and_delta(wire: Wire, core: WorkersAI) -> None:
    message = {"content": "Paris", "reasoning_content": "It asks for a capital."}
    result = parse_chat_result("m", {"choices": [{"message": message, "finish_reason": "stop"}]})
    assert (result.text, result.reasoning) == ("Paris", "It asks for a capital.")
    alias = {"content": "Paris", "reasoning": "short"}
    assert parse_chat_result("m", {"choices": [{"message": alias}]}).reasoning == "short"
    chunk = parse_stream_event({"choices": [{"delta": {"reasoning_content": "hm"}}]})
    assert (chunk.text, chunk.reasoning) == ("", "hm")


def test_stop_sequences_cut_the_answer_not_the_reasoning() -> None:
    result = parse_chat_result(R1, {"response": "<think>a STOP b</think>x STOP y"}, ["STOP"])
    assert (result.reasoning, result.text) == ("a STOP b", "x ")


# -- Responses API ------------------------------------------------------------------------------------
RESPONSE = {
    "id": "resp_1",
    "object": "response",
    "status": "completed",
    "output": [
        {
            "type": "reasoning",
            "id": "rs_1",
            "summary": [],
            "content": [{"type": "reasoning_text", "text": "Look up."}],
        },
        {
            "type": "function_call",
            "id": "fc_1",
            "call_id": "call_9",
            "name": "get_weather",
            "arguments": '{"city": "Oslo"}',
        },
    ],
    "usage": {"input_tokens": 10, "output_tokens": 4, "total_tokens": 14},
}


def test_a_responses_object_is_parsed() -> None:
    result = parse_chat_result(GPT_OSS, RESPONSE)
    assert result.reasoning == "Look up."
    assert [(c.id, c.name, c.arguments) for c in result.tool_calls] == [
        ("call_9", "get_weather", {"city": "Oslo"})
    ]
    assert result.finish_reason == "tool_calls"
    assert result.usage is not None and (result.usage.prompt_tokens, result.usage.completion_tokens) == (
        10,
        4,
    )
    message = {"type": "message", "content": [{"type": "output_text", "text": "Hi"}]}
    cut = {
        **RESPONSE,
        "status": "incomplete",
        "incomplete_details": {"reason": "max_output_tokens"},
        "output": [message],
    }
    assert (parse_chat_result(GPT_OSS, cut).text, parse_chat_result(GPT_OSS, cut).finish_reason) == (
        "Hi",
        "length",
    )
    with pytest.raises(ServerError):
        parse_chat_result(GPT_OSS, {**RESPONSE, "status": "failed", "error": {"code": "server_error"}})


def test_a_responses_stream_ends_at_response_completed(wire: Wire, core: WorkersAI) -> None:
    events = [
        {"type": "response.created", "response": {**RESPONSE, "status": "in_progress", "output": []}},
        {"type": "response.reasoning_text.delta", "output_index": 0, "delta": "Look"},
        {"type": "response.reasoning_text.delta", "output_index": 0, "delta": " up."},
        {
            "type": "response.output_item.added",
            "output_index": 1,
            "item": {**RESPONSE["output"][1], "arguments": ""},
        },  # type: ignore[dict-item]
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '{"city": '},
        {"type": "response.function_call_arguments.delta", "output_index": 1, "delta": '"Oslo"}'},
        {"type": "response.completed", "response": RESPONSE},
    ]
    wire.answer = lambda request: sse(*(json.dumps(e) for e in events), done=False)  # no [DONE], as OpenAI
    chunks = list(core.stream_chat("hi", model=GPT_OSS))
    assert "".join(c.reasoning for c in chunks) == "Look up."
    assert chunks[-1].finish_reason == "tool_calls" and chunks[-1].usage is not None

    async def drain() -> list[Any]:
        return [c async for c in core.astream_chat("hi", model=GPT_OSS)]

    assert "".join(c.reasoning for c in asyncio.run(drain())) == "Look up."


def test_messages_become_responses_input_for_a_responses_model() -> None:
    tool = {
        "type": "function",
        "function": {"name": "get_weather", "description": "d", "parameters": {"type": "object"}},
    }
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Weather in Oslo?"},
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "call_1", "name": "get_weather", "arguments": {"city": "Oslo"}}],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "3 C"},
    ]
    body = build_chat_payload(
        messages,
        model=GPT_OSS,
        max_tokens=50,
        temperature=0,
        tools=[tool],
        tool_choice="get_weather",
        reasoning_effort="low",
        stop=["END"],
    )
    assert body == {
        "instructions": "Be brief.",
        "input": [
            {"role": "user", "content": "Weather in Oslo?"},
            {
                "type": "function_call",
                "call_id": "call_1",
                "name": "get_weather",
                "arguments": '{"city": "Oslo"}',
            },
            {"type": "function_call_output", "call_id": "call_1", "output": "3 C"},
        ],
        "max_output_tokens": 50,
        "temperature": 0,
        "reasoning": {"effort": "low"},
        "tools": [
            {
                "type": "function",
                "name": "get_weather",
                "description": "d",
                "parameters": {"type": "object"},
                "strict": None,  # required, null when not given (ResponsesFunctionTool)
            }
        ],
        "tool_choice": {"type": "function", "name": "get_weather"},
    }
    schema = {"title": "City", "type": "object", "properties": {"city": {"type": "string"}}}
    json_body = build_chat_payload(
        [{"role": "user", "content": "x"}],
        model=GPT_OSS,
        response_format={"type": "json_schema", "json_schema": schema},
    )
    assert json_body["text"] == {"format": {"type": "json_schema", "name": "City", "schema": schema}}
    # The other families keep messages, with reasoning_effort as Workers AI takes it (glm-5.3: max,
    # high, low in @cloudflare/workers-types 5.20261117.1).
    glm = "@cf/zai-org/glm-5.3"
    assert build_chat_payload(messages[:2], model=glm, reasoning_effort="high")["reasoning_effort"] == "high"


def test_options_a_responses_model_cannot_take_are_refused_before_sending(
    wire: Wire, core: WorkersAI
) -> None:
    with pytest.raises(BadInput, match="seed"):
        core.chat("hi", model=GPT_OSS, seed=3)
    with pytest.raises(BadInput, match="reasoning_effort"):
        core.chat("hi", model=R1, reasoning_effort="extreme")  # type: ignore[typeddict-item]
    assert wire.requests == []
