"""The official ``openai`` SDK, unmodified, against the emulator's OpenAI-compatible endpoints
(developers.cloudflare.com/workers-ai/configuration/open-ai-compatibility/): chat, stream, tools,
structured output (``json_schema``, ``parse``, ``json_object`` with the schema in the prompt), the
``developer`` role, reasoning apart from content, embeddings with the SDK's defaults (it asks for
base64), and the Responses API with stored turns."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import BaseModel

CONTEXT = "The capital of France is Paris. Bananas are yellow."
QUESTION = "What is the capital of France?"
MESSAGES: list[Any] = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}]
LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"
GPT_OSS = "@cf/openai/gpt-oss-20b"
WEATHER: Any = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


class Person(BaseModel):
    name: str
    age: int


def test_chat_and_stream(oai: Any) -> None:
    completion = oai.chat.completions.create(model=LLAMA, messages=MESSAGES, max_tokens=30)
    assert "Paris" in completion.choices[0].message.content
    assert completion.usage.completion_tokens <= 30
    chunks = list(oai.chat.completions.create(model=LLAMA, messages=MESSAGES, stream=True))
    assert (
        "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        == completion.choices[0].message.content
    )


def test_developer_role(oai: Any) -> None:
    messages = [{"role": "developer", "content": CONTEXT}, {"role": "user", "content": QUESTION}]
    completion = oai.chat.completions.create(model=LLAMA, messages=messages)
    assert "Paris" in completion.choices[0].message.content


def test_tool_call(oai: Any) -> None:
    completion = oai.chat.completions.create(
        model="@cf/qwen/qwen3-30b-a3b-fp8",
        messages=[{"role": "user", "content": "Use the tool: weather in 'Lyon'"}],
        tools=[WEATHER],
    )
    call = completion.choices[0].message.tool_calls[0]
    assert call.function.name == "get_weather" and json.loads(call.function.arguments) == {"city": "Lyon"}


def test_tool_call_stream(oai: Any) -> None:
    stream = oai.chat.completions.create(
        model="@cf/qwen/qwen3-30b-a3b-fp8",
        messages=[{"role": "user", "content": "Use the tool: weather in 'Lyon'"}],
        tools=[WEATHER],
        stream=True,
    )
    parts = [d for c in stream if c.choices for d in c.choices[0].delta.tool_calls or []]
    assert parts[0].function.name == "get_weather"
    assert json.loads("".join(p.function.arguments or "" for p in parts)) == {"city": "Lyon"}


def test_parse_with_a_pydantic_schema(oai: Any) -> None:
    completion = oai.chat.completions.parse(
        model=LLAMA, messages=[{"role": "user", "content": "Anna is 31."}], response_format=Person
    )
    person = completion.choices[0].message.parsed
    assert isinstance(person, Person) and person.age == 31


def test_json_object_with_the_schema_in_the_prompt(oai: Any) -> None:
    system = f"Reply with JSON matching this schema: {json.dumps(Person.model_json_schema())}"
    completion = oai.chat.completions.create(
        model=LLAMA,
        messages=[{"role": "system", "content": system}, {"role": "user", "content": "Anna is 31."}],
        response_format={"type": "json_object"},
    )
    assert Person.model_validate_json(completion.choices[0].message.content).age == 31


def test_deepseek_r1_reasoning_content_apart(oai: Any) -> None:
    completion = oai.chat.completions.create(
        model="@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", messages=MESSAGES
    )
    message = completion.choices[0].message
    assert "<think>" not in message.content and "Paris" in message.content
    assert QUESTION in message.model_extra["reasoning_content"]


@pytest.mark.parametrize("options", [{}, {"encoding_format": "float"}, {"dimensions": 128}])
def test_embeddings(oai: Any, options: dict[str, Any]) -> None:
    # The SDK asks for base64 unless told otherwise and decodes only string answers; the service
    # answers floats of the model's own size (see ai_routes.openai_embeddings).
    result = oai.embeddings.create(model="@cf/baai/bge-base-en-v1.5", input=["one", "two"], **options)
    assert [len(d.embedding) for d in result.data] == [768, 768]


def test_responses_with_previous_response_id(oai: Any) -> None:
    first = oai.responses.create(model=GPT_OSS, input=f"Remember: {CONTEXT}", max_output_tokens=60)
    assert first.usage.output_tokens <= 60
    second = oai.responses.create(model=GPT_OSS, input=QUESTION, previous_response_id=first.id)
    assert "Paris" in second.output_text and second.previous_response_id == first.id


def test_responses_stream(oai: Any) -> None:
    events = list(oai.responses.create(model=GPT_OSS, instructions=CONTEXT, input=QUESTION, stream=True))
    assert events[-1].type == "response.completed" and "Paris" in events[-1].response.output_text
