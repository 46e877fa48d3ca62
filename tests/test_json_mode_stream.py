"""JSON mode with streaming behaves the same in the core and both adapters (issue #28, item 6): the
service does not stream JSON mode (5023, "JSON Schema mode is not supported with stream mode":
cloudflare/agents#1685), so the answer is asked for whole and its JSON text comes as one chunk, then
the last chunk with usage and the model. The core refused it, LlamaIndex therefore too, while
LangChain streamed it this way (its standard suite streams ``with_structured_output``)."""

from __future__ import annotations

import asyncio
import json

import pytest
from llama_index.core.llms import ChatMessage

from langchain_workersai import ChatWorkersAI
from llamaindex_workersai import WorkersAI as LlamaIndexWorkersAI
from workersai import WorkersAI

QUESTION = "The capital of Farnland is Quibbleton. Which city is the capital?"
SCHEMA = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
FORMAT = {"type": "json_schema", "json_schema": SCHEMA}


@pytest.fixture
def whole(client: WorkersAI) -> str:
    """The JSON text of the same request, not streamed (the emulator's extractive generator is
    deterministic)."""
    text = client.chat(QUESTION, response_format=FORMAT, max_tokens=40).text
    assert "city" in json.loads(text)
    return text


def test_core_streams_the_json_text(client: WorkersAI, whole: str) -> None:
    chunks = list(client.stream_chat(QUESTION, response_format=FORMAT, max_tokens=40))
    assert "".join(c.text for c in chunks) == whole
    last = chunks[-1]
    assert last.finish_reason == "stop" and last.usage is not None and last.model

    async def collect() -> list[str]:
        return [c.text async for c in client.astream_chat(QUESTION, response_format=FORMAT, max_tokens=40)]

    assert "".join(asyncio.run(collect())) == whole


def test_langchain_streams_the_json_text(client: WorkersAI, whole: str) -> None:
    llm = ChatWorkersAI(client=client, max_tokens=40).bind(response_format=FORMAT)
    assert "".join(str(c.content) for c in llm.stream(QUESTION)) == whole


def test_llamaindex_streams_the_json_text(client: WorkersAI, whole: str) -> None:
    llm = LlamaIndexWorkersAI(client=client, max_tokens=40)
    messages = [ChatMessage(role="user", content=QUESTION)]
    responses = list(llm.stream_chat(messages, response_format=FORMAT))
    assert responses[-1].message.content == whole
    assert "".join(r.delta or "" for r in responses) == whole
