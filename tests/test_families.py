"""Every response family over HTTP: each family x {invoke, stream, tools, JSON mode} x {core, LangChain,
LlamaIndex}, one catalog model per family, against the emulator.

The emulator answers each model in its catalog family's shape (legacy ``{response}``, OpenAI
``chat.completion``, Responses object) and shows reasoning for catalog reasoning models in that family's
way (``<think>`` text, ``reasoning_content``, a reasoning item). Whatever the shape, the answer must hold
no reasoning and the reasoning must be where the framework expects it.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import pytest
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage, SystemMessage
from llama_index.core.base.llms.types import ChatMessage, MessageRole, TextBlock, ThinkingBlock
from pydantic import BaseModel

from langchain_workersai import ChatWorkersAI
from llamaindex_workersai import WorkersAI as LlamaWorkersAI
from workersai import WorkersAI
from workersai.chat_answers import ToolCallAccumulator
from workersai.local import LocalEmulator

pytestmark = pytest.mark.usefixtures("local_llamaindex_settings")


@dataclass(frozen=True)
class Family:
    name: str
    model: str
    reasons: bool
    shape_key: str
    """The key of ``/ai/run``'s result that shows the family's shape."""


FAMILIES = [
    Family("legacy", "@cf/meta/llama-3.1-8b-instruct-fast", False, "response"),
    Family("openai", "@cf/qwen/qwen3-30b-a3b-fp8", True, "choices"),
    Family("responses", "@cf/openai/gpt-oss-20b", True, "output"),
    Family("think-in-text", "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", True, "response"),
]

CONTEXT = "The capital of France is Paris. Bananas are yellow. The Loire is a long river."
QUESTION = "What is the capital of France?"
MESSAGES = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}
TOOL_QUESTION = "Use the tool to get the weather in 'Lyon'"
JSON_QUESTION = "Answer in JSON: which 'city' is the capital of France?"


class City(BaseModel):
    """A city."""

    city: str


CITY_SCHEMA = City.model_json_schema()


@pytest.fixture(params=FAMILIES, ids=[f.name for f in FAMILIES])
def family(request: pytest.FixtureRequest) -> Family:
    return request.param  # type: ignore[no-any-return]


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


def check_answer(family: Family, text: str, reasoning: str | None) -> None:
    """The answer is the answer only; the reasoning (for a reasoning model) is the model's own, apart."""
    assert "Paris" in text
    for leak in ("<think>", "</think>", "The user asks"):
        assert leak not in text
    if family.reasons:
        assert reasoning and QUESTION in reasoning
        assert "<think>" not in reasoning and "</think>" not in reasoning
    else:
        assert not reasoning


# -- core ---------------------------------------------------------------------------------------------
def test_core_invoke(client: WorkersAI, family: Family) -> None:
    result = client.chat(MESSAGES, model=family.model)
    assert family.shape_key in result.raw  # the emulator answered in the family's shape
    check_answer(family, result.text, result.reasoning)
    assert result.usage is not None and result.usage.completion_tokens > 0
    assert result.finish_reason == "stop"


def test_core_stream(client: WorkersAI, family: Family) -> None:
    chunks = list(client.stream_chat(MESSAGES, model=family.model))
    text = "".join(c.text for c in chunks)
    reasoning = "".join(c.reasoning for c in chunks)
    check_answer(family, text, reasoning)
    assert chunks[-1].usage is not None and chunks[-1].finish_reason == "stop"
    if family.reasons:  # reasoning streams before the answer, in pieces of its own
        first_text = next(i for i, c in enumerate(chunks) if c.text)
        assert any(c.reasoning for c in chunks[:first_text])
        assert all(not (c.text and c.reasoning) for c in chunks)
    whole = client.chat(MESSAGES, model=family.model)
    assert text == whole.text
    assert reasoning.strip() == (whole.reasoning or "")


def test_core_tools(client: WorkersAI, family: Family) -> None:
    result = client.chat(TOOL_QUESTION, model=family.model, tools=[WEATHER], tool_choice="required")
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("get_weather", {"city": "Lyon"})]
    assert result.finish_reason == "tool_calls"
    assert "</think>" not in result.text
    streamed = ToolCallAccumulator()
    for chunk in client.stream_chat(TOOL_QUESTION, model=family.model, tools=[WEATHER]):
        streamed.add(chunk.tool_calls)
    assert [(c.name, c.arguments) for c in streamed.tool_calls()] == [("get_weather", {"city": "Lyon"})]
    # The tool's answer goes back in the family's own input shape and is answered from.
    call = result.tool_calls[0]
    follow_up = [
        {"role": "user", "content": TOOL_QUESTION},
        {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
        {"role": "tool", "tool_call_id": call.id, "name": call.name, "content": "18 C and sunny"},
    ]
    answer = client.chat(follow_up, model=family.model, tools=[WEATHER])
    assert "18 C and sunny" in answer.text and not answer.tool_calls


def test_core_json_mode(client: WorkersAI, family: Family) -> None:
    schema = {"type": "json_schema", "json_schema": CITY_SCHEMA}
    result = client.chat(JSON_QUESTION, model=family.model, response_format=schema)
    assert isinstance(result.parsed, dict) and isinstance(result.parsed["city"], str)
    assert json.loads(result.text) == result.parsed
    streamed = list(client.stream_chat(JSON_QUESTION, model=family.model, response_format=schema))
    assert isinstance(json.loads("".join(c.text for c in streamed))["city"], str)  # the whole JSON text


def test_core_async(client: WorkersAI, family: Family) -> None:
    async def run() -> tuple[str, str | None, str, str]:
        result = await client.achat(MESSAGES, model=family.model)
        chunks = [c async for c in client.astream_chat(MESSAGES, model=family.model)]
        return (
            result.text,
            result.reasoning,
            "".join(c.text for c in chunks),
            "".join(c.reasoning for c in chunks),
        )

    text, reasoning, streamed, streamed_reasoning = asyncio.run(run())
    check_answer(family, text, reasoning)
    check_answer(family, streamed, streamed_reasoning)


# -- LangChain ----------------------------------------------------------------------------------------
@pytest.fixture
def chat(conn: dict[str, Any], family: Family) -> ChatWorkersAI:
    return ChatWorkersAI(model=family.model, **conn)


LC_MESSAGES = [SystemMessage(CONTEXT), HumanMessage(QUESTION)]


def _lc_reasoning(message: AIMessage) -> str | None:
    """The reasoning as LangChain shows it: the standard ``reasoning`` block of ``content_blocks``."""
    blocks = [b for b in message.content_blocks if b["type"] == "reasoning"]
    kwarg = message.additional_kwargs.get("reasoning_content")
    assert (blocks[0].get("reasoning") if blocks else None) == kwarg
    return kwarg


def test_langchain_invoke(chat: ChatWorkersAI, family: Family) -> None:
    message = chat.invoke(LC_MESSAGES)
    assert isinstance(message.content, str)
    check_answer(family, message.content, _lc_reasoning(message))
    assert message.usage_metadata and message.usage_metadata["output_tokens"] > 0


def test_langchain_stream(chat: ChatWorkersAI, family: Family) -> None:
    whole: AIMessageChunk | None = None
    for chunk in chat.stream(LC_MESSAGES):
        assert isinstance(chunk.content, str)
        whole = chunk if whole is None else whole + chunk
    assert whole is not None and isinstance(whole.content, str)
    check_answer(family, whole.content, _lc_reasoning(whole))
    assert whole.response_metadata["model_name"] == family.model


def test_langchain_tools(chat: ChatWorkersAI, family: Family) -> None:
    bound = chat.bind_tools([WEATHER], tool_choice="any")
    message = bound.invoke(TOOL_QUESTION)
    assert [(c["name"], c["args"]) for c in message.tool_calls] == [("get_weather", {"city": "Lyon"})]
    streamed: Any = None
    for chunk in bound.stream(TOOL_QUESTION):
        streamed = chunk if streamed is None else streamed + chunk
    assert [(c["name"], c["args"]) for c in streamed.tool_calls] == [("get_weather", {"city": "Lyon"})]


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_langchain_structured_output(chat: ChatWorkersAI, family: Family, method: str) -> None:
    schema: Any = City if method != "json_mode" else CITY_SCHEMA
    question = JSON_QUESTION if method != "json_mode" else f"{JSON_QUESTION} Return JSON with the 'city' key."
    answer = chat.with_structured_output(schema, method=method).invoke(question)  # type: ignore[arg-type]
    city = answer.city if isinstance(answer, City) else answer["city"]
    assert isinstance(city, str) and city
    streamed = list(chat.with_structured_output(City, method="json_schema").stream(question))
    assert isinstance(streamed[-1], City)


# -- LlamaIndex ---------------------------------------------------------------------------------------
@pytest.fixture
def llm(conn: dict[str, Any], family: Family) -> LlamaWorkersAI:
    return LlamaWorkersAI(model=family.model, **conn)


LI_MESSAGES = [
    ChatMessage(role=MessageRole.SYSTEM, content=CONTEXT),
    ChatMessage(role=MessageRole.USER, content=QUESTION),
]


def _li_reasoning(message: ChatMessage) -> str | None:
    thinking = [b for b in message.blocks if isinstance(b, ThinkingBlock)]
    assert len(thinking) <= 1
    assert [type(b) for b in message.blocks if not isinstance(b, ThinkingBlock)] == [TextBlock]
    return thinking[0].content if thinking else None


def test_llamaindex_invoke(llm: LlamaWorkersAI, family: Family) -> None:
    response = llm.chat(LI_MESSAGES)
    check_answer(family, response.message.content or "", _li_reasoning(response.message))
    completion = llm.complete(f"{CONTEXT}\nQuery: {QUESTION}")
    assert "Paris" in completion.text and "</think>" not in completion.text


def test_llamaindex_stream(llm: LlamaWorkersAI, family: Family) -> None:
    responses = list(llm.stream_chat(LI_MESSAGES))
    last = responses[-1].message
    deltas = "".join(r.delta or "" for r in responses)
    thinking = "".join(r.additional_kwargs.get("thinking_delta", "") for r in responses)
    assert deltas == last.content
    check_answer(family, deltas, _li_reasoning(last))
    assert thinking == (_li_reasoning(last) or "")


def test_llamaindex_tools(llm: LlamaWorkersAI, family: Family) -> None:
    from llama_index.core.tools import FunctionTool

    def get_weather(city: str) -> str:
        """The current weather in a city."""
        return f"18 C and sunny in {city}"

    tool = FunctionTool.from_defaults(fn=get_weather)
    response = llm.chat_with_tools([tool], user_msg=TOOL_QUESTION, tool_required=True)
    calls = llm.get_tool_calls_from_response(response)
    assert [(c.tool_name, c.tool_kwargs) for c in calls] == [("get_weather", {"city": "Lyon"})]
    # structured_predict goes through tool calling for a function-calling model (the catalog says
    # DeepSeek-R1-distill is not one; LlamaIndex then parses free text, which the emulator's
    # extractive generator does not write as JSON).
    assert llm.metadata.is_function_calling_model == (family.name != "think-in-text")
    if llm.metadata.is_function_calling_model:
        picked = llm.structured_predict(City, _prompt(JSON_QUESTION))
        assert isinstance(picked, City) and picked.city


def test_llamaindex_json_mode(llm: LlamaWorkersAI, family: Family) -> None:
    response = llm.chat(
        [ChatMessage(role=MessageRole.USER, content=JSON_QUESTION)],
        response_format={"type": "json_schema", "json_schema": CITY_SCHEMA},
    )
    assert isinstance(json.loads(response.message.content or "")["city"], str)
    streamed = list(
        llm.stream_chat(
            [ChatMessage(role=MessageRole.USER, content=JSON_QUESTION)],
            response_format={"type": "json_object"},
        )
    )
    assert isinstance(json.loads(streamed[-1].message.content or ""), dict)  # the whole JSON text


def _prompt(text: str) -> Any:
    from llama_index.core.prompts import PromptTemplate

    return PromptTemplate(text)
