"""JSON mode and tool calls under llguidance: every answer parses and validates."""

from __future__ import annotations

from typing import Any

import pytest

from workersai.local.lm import SmolLM2Generator
from workersai.local.lm.grammar import strict_schema


def validate(value: Any, schema: dict[str, Any]) -> None:
    """The JSON-schema keywords these tests use, checked by hand (jsonschema is not a dependency)."""
    if "anyOf" in schema:
        errors = []
        for option in schema["anyOf"]:
            try:
                validate(value, option)
                return
            except AssertionError as exc:
                errors.append(exc)
        raise AssertionError(errors)
    if "const" in schema:
        assert value == schema["const"]
    if "enum" in schema:
        assert value in schema["enum"], (value, schema["enum"])
    kind = schema.get("type")
    if kind == "object":
        assert isinstance(value, dict)
        props = schema.get("properties", {})
        for key in schema.get("required", []):
            assert key in value, (key, value)
        if schema.get("additionalProperties") is False:
            assert set(value) <= set(props), (value, props)
        for key, sub in props.items():
            if key in value:
                validate(value[key], sub)
    elif kind == "array":
        assert isinstance(value, list)
        assert len(value) >= schema.get("minItems", 0)
        assert len(value) <= schema.get("maxItems", len(value))
        for item in value:
            validate(item, schema.get("items", {}))
    elif kind == "integer":
        assert isinstance(value, int) and not isinstance(value, bool)
        assert schema.get("minimum", value) <= value <= schema.get("maximum", value)
    elif kind == "number":
        assert isinstance(value, (int, float)) and not isinstance(value, bool)
    elif kind == "string":
        assert isinstance(value, str)
        assert len(value) <= schema.get("maxLength", len(value))
    elif kind == "boolean":
        assert isinstance(value, bool)


PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0, "maximum": 150}},
    "required": ["name", "age"],
}
ORDER = {
    "type": "object",
    "properties": {
        "customer": PERSON,
        "fruit": {"type": "string", "enum": ["apple", "pear", "banana"]},
        "quantities": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
        "express": {"type": "boolean"},
    },
    "required": ["customer", "fruit", "quantities", "express"],
}
TICKET = {
    "type": "object",
    "properties": {
        "title": {"type": "string", "maxLength": 40},
        "priority": {"type": "string", "enum": ["low", "medium", "high"]},
        "tags": {"type": "array", "items": {"type": "string", "maxLength": 12}, "minItems": 1, "maxItems": 3},
    },
    "required": ["title", "priority", "tags"],
}


@pytest.mark.parametrize(
    ("question", "schema"),
    [
        ("Ingrid Solberg is 34 years old. Extract her name and age.", PERSON),
        ("Ola, 41, orders 3 pears, then 2 more, with express delivery. Extract the order.", ORDER),
        ("The login page crashes on Safari; it blocks every user. File a ticket.", TICKET),
    ],
)
def test_json_schema_answers_always_validate(
    generator: SmolLM2Generator, question: str, schema: dict[str, Any]
) -> None:
    for seed in (1,):
        gen = generator.generate(
            [{"role": "user", "content": question}],
            temperature=0.8,
            seed=seed,
            max_tokens=80,
            response_format={"type": "json_schema", "json_schema": {"schema": schema}},
        )
        assert gen.json_value is not None, gen.text
        validate(gen.json_value, strict_schema(schema))


def test_json_schema_extracts_the_facts(generator: SmolLM2Generator) -> None:
    gen = generator.generate(
        [{"role": "user", "content": "Ingrid Solberg is 34 years old. Extract her name and age."}],
        temperature=0,
        max_tokens=40,
        response_format={"type": "json_schema", "json_schema": {"schema": PERSON}},
    )
    assert gen.json_value == {"name": "Ingrid Solberg", "age": 34}


def test_json_object_mode_gives_an_object(generator: SmolLM2Generator) -> None:
    gen = generator.generate(
        [{"role": "user", "content": "Give the colour and size of a ripe banana as JSON."}],
        temperature=0,
        max_tokens=60,
        response_format={"type": "json_object"},
    )
    assert isinstance(gen.json_value, dict)


WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string", "enum": ["c", "f"]}},
            "required": ["city", "unit"],
        },
    },
}
MULTIPLY = {
    "type": "function",
    "function": {
        "name": "multiply",
        "description": "Multiply two numbers",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


@pytest.mark.parametrize("tools", [[WEATHER, MULTIPLY], [MULTIPLY, WEATHER]])
def test_the_model_picks_the_tool_whatever_the_order(generator: SmolLM2Generator, tools: list[Any]) -> None:
    gen = generator.generate(
        [{"role": "user", "content": "What is 12 times 3?"}], temperature=0, max_tokens=40, tools=tools
    )
    assert gen.tool_calls == [{"name": "multiply", "arguments": {"a": 12, "b": 3}}]
    gen = generator.generate(
        [{"role": "user", "content": "What's the weather like in Oslo?"}],
        temperature=0,
        max_tokens=40,
        tools=tools,
    )
    assert [c["name"] for c in gen.tool_calls] == ["get_weather"]
    validate(gen.tool_calls[0]["arguments"], strict_schema(WEATHER["function"]["parameters"]))  # type: ignore[index]


def test_no_tool_when_none_fits_and_required_forces_one(generator: SmolLM2Generator) -> None:
    messages = [{"role": "user", "content": "Write a haiku about the sea."}]
    gen = generator.generate(messages, temperature=0, max_tokens=12, tools=[WEATHER, MULTIPLY])
    assert gen.tool_calls == [] and gen.text
    forced = generator.generate(
        messages, temperature=0, max_tokens=40, tools=[WEATHER, MULTIPLY], tool_choice="required"
    )
    assert len(forced.tool_calls) == 1
    named = generator.generate(
        messages,
        temperature=0.9,
        seed=4,
        max_tokens=40,
        tools=[WEATHER, MULTIPLY],
        tool_choice={"type": "function", "function": {"name": "multiply"}},
    )
    assert [c["name"] for c in named.tool_calls] == ["multiply"]
    validate(named.tool_calls[0]["arguments"], strict_schema(MULTIPLY["function"]["parameters"]))  # type: ignore[index]
