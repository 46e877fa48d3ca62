"""Scripted answers (workersai/local/scripts.py): what a model answers next, in every family's shape and
route, JSON and streamed, through this project's client; which requests a script answers; and the
errors that name the fix for a script that cannot be answered."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from workersai import CapacityExceeded, StreamInterrupted, WorkersAI
from workersai.local import LocalEmulator, tool_call

LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"  # legacy family
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"  # openai family, reasoning
GPT_OSS = "@cf/openai/gpt-oss-20b"  # responses family, reasoning
QWQ = "@cf/qwen/qwq-32b"  # legacy family, reasoning in <think>
FAMILIES = [LLAMA, QWEN, GPT_OSS, QWQ]
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    },
}


@pytest.fixture
def quick(emulator: LocalEmulator) -> Any:
    """A client that does not retry (a scripted error is seen as sent)."""
    with emulator.client(max_retries=0) as client:
        yield client


@pytest.mark.parametrize("model", FAMILIES)
def test_text_in_every_family_json_and_stream(emulator: LocalEmulator, client: WorkersAI, model: str) -> None:
    emulator.script(model, text="Scripted: Lyon is sunny.", times=2)
    assert client.chat("Weather?", model=model, max_tokens=4).text == "Scripted: Lyon is sunny."
    streamed = "".join(c.text for c in client.stream_chat("Weather?", model=model, max_tokens=4))
    assert streamed == "Scripted: Lyon is sunny."
    assert emulator.scripts() == []  # used up
    assert client.chat("Weather?", model=model, max_tokens=4).text != "Scripted: Lyon is sunny."


@pytest.mark.parametrize("model", FAMILIES)
def test_tool_call_with_arguments_in_every_family(
    emulator: LocalEmulator, client: WorkersAI, model: str
) -> None:
    emulator.script(model, tool_calls=[tool_call("get_weather", city="Lyon", days=2)], times=2)
    [call] = client.chat("Weather in Paris?", model=model, tools=[WEATHER]).tool_calls
    assert (call.name, call.arguments) == ("get_weather", {"city": "Lyon", "days": 2})
    chunks = list(client.stream_chat("Weather in Paris?", model=model, tools=[WEATHER]))
    deltas = [d for c in chunks for d in c.tool_calls]
    assert deltas[0].name == "get_weather"
    assert "".join(d.arguments or "" for d in deltas) == '{"city": "Lyon", "days": 2}'


@pytest.mark.parametrize("model", [QWEN, GPT_OSS, QWQ])
def test_reasoning_block_apart_from_the_answer(
    emulator: LocalEmulator, client: WorkersAI, model: str
) -> None:
    emulator.script(model, reasoning="The user wants the weather.", text="Sunny.")
    answer = client.chat("Weather?", model=model)
    assert (answer.text, answer.reasoning) == ("Sunny.", "The user wants the weather.")


def test_json_object_and_the_openai_route(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.script(LLAMA, json={"name": "Anna", "age": 31}, path="/ai/run/" + LLAMA)
    answer = client.chat("Anna is 31.", model=LLAMA, response_format={"type": "json_object"})
    assert answer.parsed == {"name": "Anna", "age": 31}
    emulator.script(QWEN, text="Over the OpenAI route.", path="/ai/v1/chat/completions")
    response = httpx.post(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1/chat/completions",
        headers={"Authorization": f"Bearer {emulator.token}"},
        json={"model": QWEN, "messages": [{"role": "user", "content": "hi"}]},
    )
    assert response.json()["choices"][0]["message"]["content"] == "Over the OpenAI route."


def test_error_and_cut_stream(emulator: LocalEmulator, quick: WorkersAI) -> None:
    emulator.script(LLAMA, error=3040)
    with pytest.raises(CapacityExceeded):
        quick.chat("hi", model=LLAMA)
    emulator.script(LLAMA, text="one two three four five six seven", cut_after=2)
    got: list[str] = []
    with pytest.raises(StreamInterrupted):
        for chunk in quick.stream_chat("hi", model=LLAMA):
            got.append(chunk.text)
    assert "".join(got) == "one two "


def test_predicates_order_and_times(emulator: LocalEmulator, client: WorkersAI) -> None:
    """An agent's two turns: a tool call for the question, then, once the tool has answered, the
    answer; a script with ``times=None`` stays; the first that matches answers."""
    emulator.script(LLAMA, last_role="tool", text="It is sunny in Lyon.", times=None)
    emulator.script(LLAMA, contains="weather", tool_calls=[tool_call("get_weather", city="Lyon")], times=None)
    emulator.script(text="Any model, once.")
    for _ in range(2):
        call = client.chat("What is the weather in Lyon?", model=LLAMA, tools=[WEATHER])
        assert call.tool_calls[0].arguments == {"city": "Lyon"}
        turn: list[Any] = [
            {"role": "user", "content": "What is the weather in Lyon?"},
            {"role": "assistant", "content": "", "tool_calls": [{"name": "get_weather", "arguments": {}}]},
            {"role": "tool", "content": "sunny", "name": "get_weather"},
        ]
        assert client.chat(turn, model=LLAMA, tools=[WEATHER]).text == "It is sunny in Lyon."
    assert client.chat("Hello", model=QWEN).text == "Any model, once."
    assert [(s["used"], s["times"]) for s in emulator.scripts()] == [(2, None), (2, None)]


def test_in_process_predicate_on_the_body(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.script(LLAMA, text="Cold answer.", when=lambda body: body.get("temperature") == 0)
    assert client.chat("hi", model=LLAMA, temperature=0.7).text != "Cold answer."
    assert client.chat("hi", model=LLAMA, temperature=0).text == "Cold answer."


@pytest.mark.parametrize(
    ("script", "fix"),
    [
        (
            {"model": "@cf/meta/llama-3.1-8b-instruct-fastt", "text": "x"},
            "did you mean @cf/meta/llama-3.1-8b",
        ),
        ({"model": "@cf/baai/bge-small-en-v1.5", "text": "x"}, "not a text generation model"),
        ({"model": LLAMA, "tool_calls": [{"name": "f", "arguments": '{"a": 1}'}]}, "json.loads"),
        ({"model": LLAMA, "tool_calls": [{"function": {"name": "f"}}]}, '"name": "get_weather"'),
        ({"model": LLAMA, "tool_calls": {"name": "f"}}, "non-empty list"),
        ({"model": LLAMA, "error": "418"}, "'3040'"),
        ({"model": LLAMA, "error": "3040", "text": "x"}, "not both"),
        ({"model": LLAMA}, "needs an answer"),
        ({"model": LLAMA, "text": "x", "times": 0}, "null: always"),
        ({"model": LLAMA, "txt": "x"}, "unknown script fields ['txt']"),
    ],
)
def test_a_script_that_cannot_be_answered_names_the_fix(
    emulator: LocalEmulator, script: dict[str, Any], fix: str
) -> None:
    response = httpx.post(
        f"{emulator.url}/__local__/scripts",
        headers={"Authorization": f"Bearer {emulator.token}"},
        json=script,
    )
    assert response.status_code == 400 and response.json()["errors"][0]["code"] == 5006
    assert fix in response.json()["errors"][0]["message"]
    assert emulator.scripts() == []


def test_python_api_raises_the_emulators_message(emulator: LocalEmulator) -> None:
    control = type(emulator).__mro__[1](emulator.url, emulator.token)  # EmulatorControl over HTTP only
    with pytest.raises(ValueError, match="did you mean"):
        control.script("@cf/meta/llama-3.1-8b-instruct-fastt", text="x")
    emulator.script(LLAMA, text="a")
    control.clear_scripts()
    assert emulator.scripts() == []
