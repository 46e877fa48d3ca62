"""What each catalog model's input type takes (issue #26): reasoning-effort levels, JSON mode and the
form of a tool-result turn, read into the catalog from @cloudflare/workers-types 5.20261117.1
(``workers_types_note`` in workersai/data/models.json; tests/contract/test_workers_types_contract.py
checks the catalog against the types and the requests against the schemas)."""

from __future__ import annotations

import json
import warnings
from typing import Any

import pytest

from workersai import BadInput, WorkersAI
from workersai.catalog import get_model
from workersai.chat import SCHEMA_PROMPT, build_chat_payload
from workersai.chat_answers import parse_chat_result

from .conftest import Wire, envelope

QWEN38 = "@cf/qwen/qwen3.8-27b"  # low, medium, xhigh
GLM53 = "@cf/zai-org/glm-5.3"  # low, high, max
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"  # none
LLAMA33 = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"  # messages: role, content
LLAMA4 = "@cf/meta/llama-4-scout-17b-16e-instruct"  # messages: role, content, tool_call_id
HERMES = "@hf/nousresearch/hermes-2-pro-mistral-7b"  # messages: role, content, name
QWEN3 = "@cf/qwen/qwen3-30b-a3b-fp8"  # openai family, messages: role, content
GEMMA3 = "@cf/google/gemma-3-12b-it"  # no response_format
UNCATALOGUED = "@cf/example/not-in-the-catalog"

HI = [{"role": "user", "content": "hi"}]
CITY = {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}


def _sent_effort(model: str, effort: str) -> tuple[Any, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        body = build_chat_payload(HI, model=model, reasoning_effort=effort)  # type: ignore[typeddict-item]
    return body.get("reasoning_effort"), [str(w.message) for w in caught]


def test_the_catalog_records_each_models_levels() -> None:
    levels = {m: get_model(m).reasoning_efforts for m in (QWEN38, GLM53, R1, LLAMA33)}  # type: ignore[union-attr]
    assert levels == {
        QWEN38: ("low", "medium", "xhigh"),
        GLM53: ("low", "high", "max"),
        R1: (),
        LLAMA33: (),
    }


@pytest.mark.parametrize(
    ("model", "effort", "sent"),
    [
        (QWEN38, "medium", "medium"),
        (QWEN38, "xhigh", "xhigh"),
        (QWEN38, "high", "xhigh"),  # between medium and xhigh: the higher
        (QWEN38, "max", "xhigh"),
        (QWEN38, "none", "low"),
        (GLM53, "medium", "high"),  # between low and high: the higher
        (GLM53, "max", "max"),
        (UNCATALOGUED, "high", "high"),  # nothing known: as given
    ],
)
def test_a_level_is_sent_as_the_nearest_the_model_takes(model: str, effort: str, sent: str) -> None:
    value, said = _sent_effort(model, effort)
    assert value == sent
    assert bool(said) == (effort != sent)
    if said:
        assert f"{effort!r} is sent as {sent!r}" in said[0] and model in said[0]


@pytest.mark.parametrize("model", [R1, LLAMA33, "@cf/zai-org/glm-4.7-flash", "@cf/qwen/qwq-32b"])
def test_a_model_whose_type_takes_no_effort_is_not_sent_one(model: str) -> None:
    value, said = _sent_effort(model, "high")
    assert value is None
    assert said and "takes no reasoning_effort" in said[0]


def test_gpt_oss_gets_its_level_as_reasoning_effort() -> None:
    body = build_chat_payload(HI, model="@cf/openai/gpt-oss-20b", reasoning_effort="low")
    assert body["reasoning"] == {"effort": "low"}


def test_an_unknown_level_is_refused_before_any_request(wire: Wire, core: WorkersAI) -> None:
    with pytest.raises(BadInput, match="reasoning_effort"):
        core.chat("hi", model=QWEN38, reasoning_effort="extreme")  # type: ignore[typeddict-item]
    assert wire.requests == []


# -- JSON mode where the type takes no response_format ----------------------------------------------
@pytest.mark.parametrize(
    "model",
    [
        GEMMA3,
        "@cf/qwen/qwq-32b",
        "@cf/mistralai/mistral-small-3.1-24b-instruct",
        "@cf/meta/llama-3.2-11b-vision-instruct",
    ],
)
def test_json_schema_is_asked_in_the_prompt_where_the_type_has_no_response_format(model: str) -> None:
    system = {"role": "system", "content": "Extract the city."}
    body = build_chat_payload(
        [system, *HI], model=model, response_format={"type": "json_schema", "json_schema": CITY}
    )
    assert "response_format" not in body
    first = body["messages"][0]
    assert first["role"] == "system"
    assert first["content"].startswith("Extract the city.\n\n" + SCHEMA_PROMPT)
    assert json.loads(first["content"].split(SCHEMA_PROMPT, 1)[1]) == CITY
    assert body["messages"][1:] == HI


def test_json_object_without_a_system_message_gets_one() -> None:
    body = build_chat_payload(HI, model=GEMMA3, response_format={"type": "json_object"})
    assert "response_format" not in body
    assert body["messages"][0]["role"] == "system" and "valid JSON" in body["messages"][0]["content"]
    assert body["messages"][1:] == HI


def test_a_model_with_response_format_is_still_sent_it() -> None:
    body = build_chat_payload(HI, model=LLAMA33, response_format={"type": "json_object"})
    assert body["response_format"] == {"type": "json_object"} and body["messages"] == HI


def test_the_json_is_read_from_the_text_and_from_a_fenced_block(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: envelope({"response": 'Here:\n```json\n{"city": "Paris"}\n```'})
    result = core.chat("x", model=GEMMA3, response_format={"type": "json_schema", "json_schema": CITY})
    assert result.parsed == {"city": "Paris"}
    assert "response_format" not in wire.body
    assert parse_chat_result(GEMMA3, {"response": "no JSON here"}, json_mode=True).parsed is None


# -- tool-result turns in the model's own message form ------------------------------------------------
CALL = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
TURN = [
    {"role": "user", "content": "Weather in Paris?"},
    {"role": "assistant", "content": "", "tool_calls": [CALL]},
    {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny"},
]
TOOL = {"name": "get_weather", "description": "d", "parameters": {"type": "object"}}
WRITTEN = json.dumps({"name": "get_weather", "parameters": {"city": "Paris"}})


@pytest.mark.parametrize(
    ("model", "tool_message"),
    [
        (LLAMA33, {"role": "tool", "content": "sunny"}),
        (QWEN3, {"role": "tool", "content": "sunny"}),
        (LLAMA4, {"role": "tool", "content": "sunny", "tool_call_id": "call_1"}),
        (HERMES, {"role": "tool", "content": "sunny", "name": "get_weather"}),
    ],
)
def test_a_tool_turn_takes_the_models_message_form(model: str, tool_message: dict[str, Any]) -> None:
    body = build_chat_payload(TURN, model=model, tools=[TOOL])
    assert body["messages"] == [
        {"role": "user", "content": "Weather in Paris?"},
        {"role": "assistant", "content": WRITTEN},
        tool_message,
    ]


def test_an_openai_form_model_keeps_tool_calls_and_ids() -> None:
    body = build_chat_payload(TURN, model=GLM53, tools=[TOOL])
    assistant, tool = body["messages"][1:]
    assert assistant["tool_calls"][0]["id"] == "call_1" and assistant["content"] == ""
    assert tool == {"role": "tool", "tool_call_id": "call_1", "content": "sunny"}


def test_several_calls_and_text_are_written_one_per_line() -> None:
    other = {"id": "call_2", "name": "get_time", "arguments": {}}
    turn = [TURN[0], {"role": "assistant", "content": "Checking.", "tool_calls": [CALL, other]}]
    body = build_chat_payload(turn, model=LLAMA33)
    written = [WRITTEN, json.dumps({"name": "get_time", "parameters": {}})]
    assert body["messages"][1] == {"role": "assistant", "content": "\n".join(["Checking.", *written])}
