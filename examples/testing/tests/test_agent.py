"""The LangGraph agent, scripted: the model calls get_weather(city="Lyon"), then answers from the
tool's result. Deterministic, on any machine, in milliseconds."""

from __future__ import annotations

from app.agent import MODEL, weather_agent

from workersai.local import tool_call

ASK = {"messages": [("user", "What is the weather in Lyon?")]}


def script_the_model(emulator):
    emulator.script(MODEL, last_role="tool", text="It is sunny in Lyon (24°C).")
    emulator.script(MODEL, tool_calls=[tool_call("get_weather", city="Lyon")])


def test_the_agent_calls_the_tool_then_answers(workersai_emulator):
    script_the_model(workersai_emulator)
    messages = weather_agent().invoke(ASK)["messages"]
    assert messages[-1].content == "It is sunny in Lyon (24°C)."
    assert messages[-2].content == "sunny, 24°C"  # what the tool returned

    first, second = workersai_emulator.requests(model=MODEL)
    assert [t["function"]["name"] for t in first["body"]["tools"]] == ["get_weather"]
    assert second["body"]["messages"][-1]["content"] == "sunny, 24°C"  # the tool's result went back


async def test_the_agent_async(workersai_emulator):
    script_the_model(workersai_emulator)
    result = await weather_agent().ainvoke(ASK)
    assert result["messages"][-1].content == "It is sunny in Lyon (24°C)."
