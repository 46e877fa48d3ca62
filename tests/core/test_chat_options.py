"""Chat options: defined once (``workersai.chat.ChatOptions``), merged by ``is not None``, and every
one of them reaches the wire from the core client and from both adapters."""

from __future__ import annotations

import asyncio
import typing
from typing import Any

import pytest

from langchain_workersai import ChatWorkersAI
from llamaindex_workersai import WorkersAI as LlamaWorkersAI
from workersai import WorkersAI
from workersai.chat import CHAT_OPTIONS, ChatOptions, build_chat_payload, merge_chat_options
from workersai.settings import ChatOptionFields

from .conftest import Wire

ZEROS: dict[str, Any] = {
    "temperature": 0,
    "seed": 0,
    "top_p": 0,
    "top_k": 0,
    "repetition_penalty": 0,
    "frequency_penalty": 0,
    "presence_penalty": 0,
}
TOOL = {"type": "function", "function": {"name": "lookup", "description": "d", "parameters": {}}}
OTHER = {"type": "function", "function": {"name": "other", "description": "d", "parameters": {}}}

# One per-call value for every option, and what it puts on the wire.
OVERRIDES: list[tuple[dict[str, Any], dict[str, Any]]] = [
    ({"max_tokens": 7}, {"max_tokens": 7}),
    ({"temperature": 0.3}, {"temperature": 0.3}),
    ({"top_p": 0.5}, {"top_p": 0.5}),
    ({"top_k": 3}, {"top_k": 3}),
    ({"seed": 11}, {"seed": 11}),
    ({"repetition_penalty": 1.1}, {"repetition_penalty": 1.1}),
    ({"frequency_penalty": 0.5}, {"frequency_penalty": 0.5}),
    ({"presence_penalty": 0.25}, {"presence_penalty": 0.25}),
    ({"stop": ["END"]}, {"stop": ["END"]}),
    ({"tools": [TOOL]}, {"tools": [TOOL]}),
    (
        {"tools": [TOOL, OTHER], "tool_choice": "lookup"},
        {"tools": [TOOL], "tool_choice": {"type": "function", "function": {"name": "lookup"}}},
    ),
    ({"response_format": {"type": "json_object"}}, {"response_format": {"type": "json_object"}}),
    ({"reasoning_effort": "low"}, {"reasoning_effort": "low"}),
    ({"extra_body": {"x_option": 1, "top_k": 5}}, {"x_option": 1, "top_k": 5}),  # merged last
]
# Model-level defaults that every override above must beat. The model is one the catalog does not
# describe, so every option goes on the wire as given (a catalog model gets only the reasoning_effort
# levels and response_format its type takes: tests/core/test_model_inputs.py).
UNCATALOGUED = "@cf/example/not-in-the-catalog"
DEFAULTS: dict[str, Any] = {
    "max_tokens": 100,
    "temperature": 1.0,
    "top_p": 0.9,
    "top_k": 40,
    "seed": 1,
    "repetition_penalty": 1.0,
    "frequency_penalty": 0.1,
    "presence_penalty": 0.1,
    "stop": ["STOP"],
    "reasoning_effort": "high",
}


def _ids(case: tuple[dict[str, Any], dict[str, Any]]) -> str:
    return "+".join(case[0])


def test_every_option_has_an_override_case() -> None:
    assert {name for given, _ in OVERRIDES for name in given} == set(CHAT_OPTIONS)


def test_option_fields_are_the_core_options_with_their_types() -> None:
    hints = typing.get_type_hints(ChatOptions)
    assert set(ChatOptionFields.model_fields) <= set(CHAT_OPTIONS)
    assert set(DEFAULTS) == set(ChatOptionFields.model_fields)
    for name, field in ChatOptionFields.model_fields.items():
        assert field.annotation is not None
        assert typing.get_args(field.annotation)[0] in (*typing.get_args(hints[name]), list[str])


def test_merge_keeps_zero_and_lets_none_fall_through() -> None:
    defaults = {"temperature": 0.7, "seed": 5, "top_k": None}
    merged = merge_chat_options(defaults, {"temperature": 0, "seed": None})
    assert merged == {"temperature": 0, "seed": 5}
    assert merge_chat_options({"stop": ["x"]}, {"stop": []}) == {"stop": []}
    with pytest.raises(TypeError, match=r"did you mean 'temperature'"):
        merge_chat_options({}, {"temprature": 0})


def test_payload_refuses_unknown_options() -> None:
    with pytest.raises(TypeError, match="top_n"):
        build_chat_payload([{"role": "user", "content": "x"}], top_n=3)  # type: ignore[call-arg]


def test_zero_values_reach_the_wire_from_the_core(wire: Wire, core: WorkersAI) -> None:
    core.chat("hi", **ZEROS)
    assert {k: wire.body[k] for k in ZEROS} == ZEROS
    asyncio.run(core.achat("hi", **ZEROS))
    assert {k: wire.body[k] for k in ZEROS} == ZEROS


def test_zero_values_reach_the_wire_from_langchain(wire: Wire, core: WorkersAI) -> None:
    llm = ChatWorkersAI(client=core, **ZEROS)
    llm.invoke("hi")
    assert {k: wire.body[k] for k in ZEROS} == ZEROS
    asyncio.run(llm.ainvoke("hi"))
    assert {k: wire.body[k] for k in ZEROS} == ZEROS


def test_zero_values_reach_the_wire_from_llamaindex(wire: Wire, core: WorkersAI) -> None:
    """``WorkersAI(temperature=0)`` used to send nothing: options were filtered by truthiness."""
    llm = LlamaWorkersAI(client=core, **ZEROS)
    llm.complete("hi")
    assert {k: wire.body[k] for k in ZEROS} == ZEROS
    asyncio.run(llm.achat([_li_message("hi")]))
    assert {k: wire.body[k] for k in ZEROS} == ZEROS


def _li_message(text: str) -> Any:
    from llama_index.core.base.llms.types import ChatMessage

    return ChatMessage(role="user", content=text)


def _expect(body: dict[str, Any], expected: dict[str, Any]) -> None:
    assert {k: body.get(k) for k in expected} == expected
    for name, value in DEFAULTS.items():  # the defaults not overridden are still sent
        if name not in expected:
            assert body[name] == value


@pytest.mark.parametrize(("given", "expected"), OVERRIDES, ids=[_ids(c) for c in OVERRIDES])
def test_langchain_per_call_override_of_every_option(
    wire: Wire, core: WorkersAI, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    """``invoke(..., frequency_penalty=0.5)`` used to fail: only five keys could be overridden."""
    llm = ChatWorkersAI(client=core, model=UNCATALOGUED, **DEFAULTS)
    llm.invoke("hi", **given)
    _expect(wire.body, expected)
    asyncio.run(llm.ainvoke("hi", **given))
    _expect(wire.body, expected)
    llm.bind(**given).invoke("hi")
    _expect(wire.body, expected)


@pytest.mark.parametrize(("given", "expected"), OVERRIDES, ids=[_ids(c) for c in OVERRIDES])
def test_llamaindex_per_call_override_of_every_option(
    wire: Wire, core: WorkersAI, given: dict[str, Any], expected: dict[str, Any]
) -> None:
    llm = LlamaWorkersAI(client=core, model=UNCATALOGUED, **DEFAULTS)
    llm.chat([_li_message("hi")], **given)
    _expect(wire.body, expected)
    llm.complete("hi", **given)
    _expect(wire.body, expected)
    asyncio.run(llm.achat([_li_message("hi")], **given))
    _expect(wire.body, expected)
    asyncio.run(llm.acomplete("hi", **given))
    _expect(wire.body, expected)


def test_none_per_call_keeps_the_models_default(wire: Wire, core: WorkersAI) -> None:
    ChatWorkersAI(client=core, temperature=0).invoke("hi", temperature=None)
    assert wire.body["temperature"] == 0
    LlamaWorkersAI(client=core, seed=0).complete("hi", seed=None, tool_choice=None)
    assert wire.body["seed"] == 0


def test_langchain_refuses_unknown_arguments(core: WorkersAI) -> None:
    with pytest.raises(TypeError, match="temprature"):
        ChatWorkersAI(client=core).invoke("hi", temprature=0)
