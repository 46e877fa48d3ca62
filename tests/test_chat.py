"""Chat over real HTTP: context answers, max_tokens, stop, seed, tools (both shapes), JSON mode, and
both answer shapes (legacy ``response`` and OpenAI ``choices``)."""

from __future__ import annotations

import json

import pytest

from workersai import DEFAULT_CHAT_MODEL, BadInput, WorkersAI
from workersai.chat_answers import parse_chat_result

from .conftest import RequestLog

CONTEXT = (
    "Vectorize is Cloudflare's vector database. Workers AI runs models on GPUs. "
    "The Eiffel Tower is in Paris. Bananas are yellow."
)
MAGIC_OPENAI = {
    "type": "function",
    "function": {
        "name": "magic_function",
        "description": "Applies a magic function to an input.",
        "parameters": {"type": "object", "properties": {"input": {"type": "integer"}}, "required": ["input"]},
    },
}
WEATHER_LEGACY = {
    "name": "get_weather",
    "description": "Get the current weather for a city",
    "parameters": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city"],
    },
}


def ask(question: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": CONTEXT}, {"role": "user", "content": question}]


def test_answers_from_the_context(client: WorkersAI) -> None:
    result = client.chat(ask("Where is the Eiffel Tower?"), max_tokens=30)
    assert result.text.startswith("The Eiffel Tower is in Paris.")
    assert result.usage is not None
    assert result.usage.prompt_tokens > 10
    assert 0 < result.usage.completion_tokens <= 30
    assert result.usage.total_tokens == result.usage.prompt_tokens + result.usage.completion_tokens
    assert result.model == DEFAULT_CHAT_MODEL


def test_max_tokens_is_honoured(client: WorkersAI) -> None:
    short = client.chat(ask("What is Vectorize?"), max_tokens=3)
    assert short.usage is not None and short.usage.completion_tokens == 3
    longer = client.chat(ask("What is Vectorize?"), max_tokens=50)
    assert longer.text.startswith(short.text)
    assert len(longer.text) > len(short.text)


def test_stop_sequences_cut_the_answer(client: WorkersAI) -> None:
    full = client.chat(ask("Where is the Eiffel Tower?"), temperature=0).text
    cut = client.chat(ask("Where is the Eiffel Tower?"), temperature=0, stop=["Paris"])
    assert "Paris" in full
    assert cut.text == full[: full.index("Paris")]


def test_seed_makes_answers_reproducible(client: WorkersAI) -> None:
    runs = {client.chat(ask("Tell me something."), seed=7, temperature=1.0).text for _ in range(3)}
    assert len(runs) == 1


def test_prompt_string_becomes_a_user_message(client: WorkersAI) -> None:
    result = client.chat("hello there")
    assert "hello there" in result.text


def test_tool_call_openai_shape(client: WorkersAI) -> None:
    result = client.chat("What is the value of magic_function(3)? Use the tool.", tools=[MAGIC_OPENAI])
    assert [(c.name, c.arguments) for c in result.tool_calls] == [("magic_function", {"input": 3})]
    assert result.finish_reason == "tool_calls"
    assert result.tool_calls[0].id.startswith("call_")


def test_tool_call_legacy_shape_picks_the_fitting_tool(client: WorkersAI) -> None:
    result = client.chat(
        "What's the weather in 'Lisbon' in fahrenheit?", tools=[MAGIC_OPENAI, WEATHER_LEGACY]
    )
    assert len(result.tool_calls) == 1
    call = result.tool_calls[0]
    assert call.name == "get_weather"
    assert call.arguments == {"city": "Lisbon", "unit": "fahrenheit"}


def test_tool_choice_none_and_named(logged_client: WorkersAI, request_log: RequestLog) -> None:
    none = logged_client.chat("Use magic_function on 3", tools=[MAGIC_OPENAI], tool_choice="none")
    assert none.tool_calls == []
    assert "tools" not in json.loads(request_log.requests[-1].content)
    named = logged_client.chat(
        "What's the weather in 'Oslo'?", tools=[MAGIC_OPENAI, WEATHER_LEGACY], tool_choice="get_weather"
    )
    assert [c.name for c in named.tool_calls] == ["get_weather"]
    with pytest.raises(BadInput, match="not among the tools"):
        logged_client.chat("x", tools=[MAGIC_OPENAI], tool_choice="nope")


def test_answers_with_tool_results(client: WorkersAI) -> None:
    first = client.chat("What is magic_function(3)? Use the tool.", tools=[MAGIC_OPENAI])
    call = first.tool_calls[0]
    messages = [
        {"role": "user", "content": "What is magic_function(3)? Use the tool."},
        {"role": "assistant", "content": "", "tool_calls": [call.model_dump()]},
        {"role": "tool", "name": call.name, "tool_call_id": call.id, "content": "5"},
    ]
    answer = client.chat(messages, tools=[MAGIC_OPENAI])
    assert answer.tool_calls == []
    assert "5" in answer.text


def test_json_schema_mode_returns_a_valid_object(client: WorkersAI) -> None:
    schema = {
        "type": "object",
        "properties": {"name": {"type": "string"}, "age": {"type": "integer"}, "member": {"type": "boolean"}},
        "required": ["name", "age", "member"],
    }
    result = client.chat(
        "Extract: name: Ada Lovelace, age: 36, member: yes",
        response_format={"type": "json_schema", "json_schema": schema},
    )
    assert result.parsed == {"name": "Ada Lovelace", "age": 36, "member": True}
    assert json.loads(result.text) == result.parsed


def test_json_object_mode(client: WorkersAI) -> None:
    result = client.chat(ask("What is Vectorize?"), response_format={"type": "json_object"})
    assert isinstance(result.parsed, dict)
    assert "Vectorize" in result.parsed["response"]


def test_json_mode_stream_asks_for_the_answer_whole(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    """The service does not stream JSON mode (5023): one request without ``stream``, its JSON text as
    one chunk (tests/test_json_mode_stream.py has the three clients agree)."""
    chunks = list(
        logged_client.stream_chat(ask("What is Vectorize?"), response_format={"type": "json_object"})
    )
    (request,) = request_log.requests
    assert "stream" not in json.loads(request.content)
    assert isinstance(json.loads("".join(c.text for c in chunks)), dict)
    assert chunks[-1].finish_reason == "stop"


@pytest.mark.parametrize(
    ("messages", "options", "message"),
    [
        ([], {}, "must not be empty"),
        ([{"role": "wizard", "content": "x"}], {}, "role"),
        ([{"role": "user", "content": ""}], {}, "every message is empty"),
        ("hi", {"max_tokens": 0}, "max_tokens"),
        ("hi", {"temperature": 9}, "temperature"),
        ("hi", {"response_format": {"type": "xml"}}, "response_format"),
    ],
)
def test_bad_chat_input_fails_before_any_request(
    logged_client: WorkersAI,
    request_log: RequestLog,
    messages: object,
    options: dict[str, object],
    message: str,
) -> None:
    with pytest.raises(BadInput, match=message):
        logged_client.chat(messages, **options)  # type: ignore[arg-type]
    assert request_log.requests == []


async def test_achat(client: WorkersAI) -> None:
    result = await client.achat(ask("What is Vectorize?"), max_tokens=8)
    assert result.text.startswith("Vectorize")


def test_openai_compatible_shape_is_parsed(client: WorkersAI) -> None:
    body = {
        "model": "@cf/meta/llama-3.1-8b-instruct-fast",
        "messages": ask("Where is the Eiffel Tower?"),
        "max_tokens": 12,
    }
    raw = client.transport.request("POST", client.account_url("ai/v1/chat/completions"), json=body).json()
    assert raw["object"] == "chat.completion"
    result = parse_chat_result(body["model"], raw)
    assert result.text.startswith("The Eiffel Tower")
    assert result.usage is not None and result.usage.completion_tokens <= 12
    tools_body = {
        **body,
        "messages": [{"role": "user", "content": "magic_function(4) please"}],
        "tools": [MAGIC_OPENAI],
    }
    raw = client.transport.request(
        "POST", client.account_url("ai/v1/chat/completions"), json=tools_body
    ).json()
    called = parse_chat_result(body["model"], raw)
    assert [(c.name, c.arguments) for c in called.tool_calls] == [("magic_function", {"input": 4})]
    assert called.finish_reason == "tool_calls"
