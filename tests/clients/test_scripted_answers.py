"""Scripted answers (workersai/local/scripts.py) reach clients nobody here wrote, unmodified: the official
``openai`` and ``cloudflare`` SDKs and langchain-cloudflare get the script in their model's family shape,
so an agent built on them runs the same every time."""

from __future__ import annotations

from typing import Any

import pytest

from workersai.local import LocalEmulator, tool_call

from .conftest import need
from .test_openai_sdk import WEATHER

LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"
GPT_OSS = "@cf/openai/gpt-oss-120b"
QUESTION = [{"role": "user", "content": "What is the weather in Lyon?"}]


def test_openai_sdk_tool_call_stream_and_error(emulator: LocalEmulator, oai: Any) -> None:
    openai = need("openai")
    emulator.script(QWEN, tool_calls=[tool_call("get_weather", city="Lyon")], reasoning="Use the tool.")
    completion = oai.chat.completions.create(model=QWEN, messages=QUESTION, tools=[WEATHER])
    [call] = completion.choices[0].message.tool_calls
    assert (call.function.name, call.function.arguments) == ("get_weather", '{"city": "Lyon"}')
    assert completion.choices[0].finish_reason == "tool_calls"

    emulator.script(QWEN, text="It is sunny in Lyon.")
    chunks = oai.chat.completions.create(model=QWEN, messages=QUESTION, stream=True)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "It is sunny in Lyon."

    emulator.script(QWEN, error="3040")
    with pytest.raises(openai.RateLimitError) as busy:
        oai.chat.completions.create(model=QWEN, messages=QUESTION)
    assert busy.value.response.json()["errors"][0]["code"] == 3040


def test_cloudflare_sdk_gets_the_family_shape(emulator: LocalEmulator, cf: Any) -> None:
    emulator.script(LLAMA, text="Legacy shape.")
    emulator.script(GPT_OSS, json={"city": "Lyon"})
    legacy = cf.ai.run(LLAMA, account_id=emulator.account_id, messages=QUESTION)
    assert legacy["response"] == "Legacy shape."
    chat = cf.ai.run(GPT_OSS, account_id=emulator.account_id, messages=QUESTION)
    assert chat["choices"][0]["message"]["content"] == '{"city": "Lyon"}'


@pytest.mark.parametrize("model", [LLAMA, QWEN])
def test_langchain_cloudflare_agent_turns(emulator: LocalEmulator, model: str) -> None:
    """The two turns of a tool-calling agent, scripted: the call, then the answer once the tool spoke."""
    lc_cf = need("langchain_cloudflare")
    from langchain_core.messages import HumanMessage, ToolMessage
    from langchain_core.tools import tool

    @tool
    def get_weather(city: str) -> str:
        """The weather in a city."""
        return f"sunny in {city}"

    emulator.script(model, last_role="tool", text="It is sunny in Lyon.")
    emulator.script(model, tool_calls=[tool_call("get_weather", city="Lyon")])
    llm = lc_cf.ChatCloudflareWorkersAI(
        model=model, account_id=emulator.account_id, api_token=emulator.token, base_url=emulator.base_url
    ).bind_tools([get_weather])
    question = HumanMessage("What is the weather in Lyon?")
    call = llm.invoke([question])
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [("get_weather", {"city": "Lyon"})]
    [asked] = call.tool_calls
    result = ToolMessage(get_weather.invoke(asked["args"]), tool_call_id=asked["id"])
    assert llm.invoke([question, call, result]).text == "It is sunny in Lyon."
    assert emulator.scripts() == []
