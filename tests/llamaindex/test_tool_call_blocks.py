"""Tool calls as llama-index-core's ``ToolCallBlock`` (``llama_index.core.base.llms.types``): written
into the answer's blocks (as well as ``additional_kwargs["tool_calls"]``), and read back from the
blocks of a response and of the chat history."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llama_index.core.base.llms.types import (
    ChatMessage,
    ChatResponse,
    MessageRole,
    TextBlock,
    ToolCallBlock,
)
from llama_index.core.tools import FunctionTool

from llamaindex_workersai import WorkersAI
from llamaindex_workersai.llms import convert_messages
from workersai import WorkersAI as CoreClient
from workersai.local import LocalEmulator

from ..conftest import RequestLog

ASK = "What is magic(5)? Use the tool."


def magic(input: int) -> int:
    """Applies a magic function to an input."""
    return input + 2


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


def _blocks(message: ChatMessage) -> list[ToolCallBlock]:
    return [b for b in message.blocks if isinstance(b, ToolCallBlock)]


def test_an_answer_carries_its_tool_calls_as_blocks(conn: dict[str, Any]) -> None:
    llm = WorkersAI(**conn)
    tool = FunctionTool.from_defaults(fn=magic)
    for response in (
        llm.chat_with_tools([tool], user_msg=ASK),
        list(llm.stream_chat_with_tools([tool], user_msg=ASK))[-1],
    ):
        [block] = _blocks(response.message)
        assert (block.tool_name, block.tool_kwargs) == ("magic", {"input": 5}) and block.tool_call_id
        [call] = response.message.additional_kwargs["tool_calls"]  # the older form, still written
        assert call["id"] == block.tool_call_id
        assert response.message.content == ""  # a call is not text


def test_tool_calls_are_read_from_blocks(conn: dict[str, Any]) -> None:
    """A response or a history message holding only ``ToolCallBlock`` blocks (what other LLM classes
    and llama-index's own memory write) is read as tool calls, its arguments as JSON text too."""
    llm = WorkersAI(**conn)
    message = ChatMessage(
        role=MessageRole.ASSISTANT,
        blocks=[
            TextBlock(text=""),
            ToolCallBlock(tool_call_id="call_1", tool_name="magic", tool_kwargs={"input": 5}),
            ToolCallBlock(tool_call_id="call_2", tool_name="magic", tool_kwargs=json.dumps({"input": 6})),
        ],
    )
    selections = llm.get_tool_calls_from_response(ChatResponse(message=message))
    assert [(s.tool_id, s.tool_name, s.tool_kwargs) for s in selections] == [
        ("call_1", "magic", {"input": 5}),
        ("call_2", "magic", {"input": 6}),
    ]
    wire = convert_messages(
        [
            ChatMessage(role="user", content=ASK),
            message,
            ChatMessage(role="tool", content="7", additional_kwargs={"tool_call_id": "call_1"}),
        ]
    )
    assert wire[1]["tool_calls"] == [
        {"id": "call_1", "name": "magic", "arguments": {"input": 5}},
        {"id": "call_2", "name": "magic", "arguments": {"input": 6}},
    ]
    assert wire[2] == {"role": "tool", "content": "7", "tool_call_id": "call_1", "name": "magic"}


async def test_a_function_agent_round_trip_through_blocks(
    logged_client: CoreClient, request_log: RequestLog
) -> None:
    """FunctionAgent calls the tool the model asked for and sends the call and its result back: the
    second request holds the assistant's call (read from the history's blocks, in the form the model's
    workers-types type takes) and the tool's answer."""
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult

    llm = WorkersAI(client=logged_client)
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(fn=magic)], llm=llm)
    handler = agent.run(ASK)
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    await handler
    assert [(r.tool_name, r.tool_kwargs, r.tool_output.content) for r in results] == [
        ("magic", {"input": 5}, "7")
    ]
    bodies = [json.loads(r.content) for r in request_log.requests if r.url.path.endswith("-fast")]
    assert len(bodies) >= 2
    history = bodies[1]["messages"]
    [assistant] = [m for m in history if m["role"] == "assistant"]
    [tool] = [m for m in history if m["role"] == "tool"]
    assert tool["content"] == "7"
    if "tool_calls" in assistant:  # a model whose type takes OpenAI-shaped calls in its messages
        [call] = assistant["tool_calls"]
        assert call["function"] == {"name": "magic", "arguments": json.dumps({"input": 5})}
        assert (tool["tool_call_id"], tool["name"]) == (call["id"], "magic")
    else:  # Llama 3.3's type has no tool_calls: the core writes the call as the model's own JSON
        assert json.loads(assistant["content"]) == {"name": "magic", "parameters": {"input": 5}}
