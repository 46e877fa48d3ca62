"""The official SDKs against the emulator: ``openai`` (Responses API on gpt-oss, chat completions with
reasoning) and ``cloudflare`` (``ai.run`` for each response family). Their parsers, not ours, read the
emulator's answers, so these tests check the wire shapes from the other side."""

from __future__ import annotations

from typing import Any

import pytest
from cloudflare import Cloudflare
from openai import OpenAI

from workersai.local import LocalEmulator

GPT_OSS = "@cf/openai/gpt-oss-20b"
CONTEXT = "The capital of France is Paris. Bananas are yellow."
QUESTION = "What is the capital of France?"
WEATHER = {
    "type": "function",
    "name": "get_weather",
    "description": "The current weather in a city",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}


@pytest.fixture
def openai_client(emulator: LocalEmulator) -> OpenAI:
    return OpenAI(
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1",
        api_key=emulator.token,
        max_retries=0,
    )


@pytest.fixture
def cloudflare_client(emulator: LocalEmulator) -> Cloudflare:
    return Cloudflare(api_token=emulator.token, base_url=emulator.base_url, max_retries=0)


# -- openai -------------------------------------------------------------------------------------------
def test_openai_responses_create(openai_client: OpenAI) -> None:
    response = openai_client.responses.create(
        model=GPT_OSS,
        instructions=CONTEXT,
        input=QUESTION,
        reasoning={"effort": "low"},
        max_output_tokens=200,
    )
    assert response.status == "completed" and response.model == GPT_OSS
    assert "Paris" in response.output_text
    kinds = [item.type for item in response.output]
    assert kinds == ["reasoning", "message"]
    reasoning = response.output[0]
    assert reasoning.type == "reasoning" and reasoning.content is not None
    assert QUESTION in reasoning.content[0].text
    assert QUESTION not in response.output_text
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.usage is not None and response.usage.output_tokens > 0


def test_openai_responses_stream(openai_client: OpenAI) -> None:
    stream = openai_client.responses.create(
        model=GPT_OSS,
        input=[{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}],
        stream=True,
    )
    events = list(stream)
    kinds = [e.type for e in events]
    assert kinds[0] == "response.created" and kinds[-1] == "response.completed"
    text = "".join(e.delta for e in events if e.type == "response.output_text.delta")
    thought = "".join(e.delta for e in events if e.type == "response.reasoning_text.delta")
    final = events[-1]
    assert final.type == "response.completed"
    assert text == final.response.output_text and "Paris" in text
    assert QUESTION in thought and QUESTION not in text
    assert [e.sequence_number for e in events] == list(range(len(events)))


def test_openai_responses_tool_call_and_its_output(openai_client: OpenAI) -> None:
    question = "Use the tool to get the weather in 'Lyon'"
    first = openai_client.responses.create(
        model=GPT_OSS, input=question, tools=[WEATHER], tool_choice="required"
    )  # type: ignore[list-item]
    calls = [item for item in first.output if item.type == "function_call"]
    assert [(c.name, c.arguments) for c in calls] == [("get_weather", '{"city": "Lyon"}')]
    follow: list[Any] = [
        {"role": "user", "content": question},
        {
            "type": "function_call",
            "call_id": calls[0].call_id,
            "name": "get_weather",
            "arguments": calls[0].arguments,
        },
        {"type": "function_call_output", "call_id": calls[0].call_id, "output": "18 C and sunny"},
    ]
    second = openai_client.responses.create(model=GPT_OSS, input=follow, tools=[WEATHER])  # type: ignore[list-item]
    assert "18 C and sunny" in second.output_text


def test_openai_chat_completions_reasoning_content(openai_client: OpenAI) -> None:
    messages: list[Any] = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}]
    completion = openai_client.chat.completions.create(model="@cf/qwen/qwen3-30b-a3b-fp8", messages=messages)
    message = completion.choices[0].message
    assert message.content is not None and "Paris" in message.content
    assert QUESTION in (message.model_extra or {})["reasoning_content"]
    stream = openai_client.chat.completions.create(
        model="@cf/qwen/qwen3-30b-a3b-fp8", messages=messages, stream=True
    )
    deltas = [c.choices[0].delta for c in stream if c.choices]
    assert "".join(d.content or "" for d in deltas) == message.content
    assert QUESTION in "".join((d.model_extra or {}).get("reasoning_content") or "" for d in deltas)


def test_openai_refuses_a_bad_reasoning_effort(openai_client: OpenAI) -> None:
    import openai

    with pytest.raises(openai.BadRequestError):
        openai_client.responses.create(model=GPT_OSS, input=QUESTION, reasoning={"effort": "extreme"})  # type: ignore[typeddict-item]


# -- cloudflare ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("model", "check"),
    [
        ("@cf/meta/llama-3.1-8b-instruct-fast", lambda r: "Paris" in r["response"]),
        ("@cf/qwen/qwen3-30b-a3b-fp8", lambda r: "Paris" in r["choices"][0]["message"]["content"]),
        (  # chat messages in, a chat completion out (workers-types: XOR<..., ChatCompletionsOutput>)
            "@cf/openai/gpt-oss-20b",
            lambda r: (
                r["object"] == "chat.completion"
                and "Paris" in r["choices"][0]["message"]["content"]
                and bool(r["choices"][0]["message"]["reasoning_content"])
            ),
        ),
        ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", lambda r: "</think>" in r["response"]),
    ],
    ids=["legacy", "openai", "gpt-oss-messages", "think-in-text"],
)
def test_cloudflare_ai_run_each_family(
    cloudflare_client: Cloudflare, emulator: LocalEmulator, model: str, check: Any
) -> None:
    result = cloudflare_client.ai.run(
        model,
        account_id=emulator.account_id,
        messages=[{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}],
    )
    assert isinstance(result, dict) and check(result)


def test_cloudflare_ai_run_with_responses_input(
    cloudflare_client: Cloudflare, emulator: LocalEmulator
) -> None:
    # The SDK's ai.run has no typed `input`/`instructions` (gpt-oss's Responses input): send them as the body.
    result: Any = cloudflare_client.ai.run(
        GPT_OSS,
        account_id=emulator.account_id,
        extra_body={"instructions": CONTEXT, "input": QUESTION, "reasoning": {"effort": "high"}},
    )
    message = next(item for item in result["output"] if item["type"] == "message")
    assert "Paris" in message["content"][0]["text"]
    assert result["reasoning"]["effort"] == "high"
