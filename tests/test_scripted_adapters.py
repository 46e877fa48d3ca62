"""Scripted answers (workersai/local/scripts.py) through this project's adapters: LangChain's
``ChatWorkersAI`` and LlamaIndex's ``WorkersAI`` get the scripted tool calls, reasoning and text, JSON
and streamed."""

from __future__ import annotations

from workersai import WorkersAI as CoreClient
from workersai.local import LocalEmulator, tool_call

QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"
LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"


def magic(input: int) -> int:
    """Applies a magic function to an input."""
    return input + 2


def test_langchain_chat_model(emulator: LocalEmulator, client: CoreClient) -> None:
    from langchain_workersai import ChatWorkersAI

    emulator.script(QWEN, tool_calls=[tool_call("magic", input=40)])
    emulator.script(QWEN, last_role="tool", reasoning="The tool said 42.", text="The answer is 42.")
    llm = ChatWorkersAI(model=QWEN, client=client)
    call = llm.bind_tools([magic]).invoke("What is magic(40)?")
    assert [(c["name"], c["args"]) for c in call.tool_calls] == [("magic", {"input": 40})]
    from langchain_core.messages import HumanMessage, ToolMessage

    result = ToolMessage("42", tool_call_id=call.tool_calls[0]["id"])
    chunks = list(llm.stream([HumanMessage("What is magic(40)?"), call, result]))
    assert "".join(c.text for c in chunks) == "The answer is 42."


def test_llamaindex_llm(emulator: LocalEmulator, client: CoreClient) -> None:
    from llama_index.core.tools import FunctionTool

    from llamaindex_workersai import WorkersAI

    emulator.script(LLAMA, tool_calls=[tool_call("magic", input=5)])
    emulator.script(LLAMA, text="Seven.")
    llm = WorkersAI(model=LLAMA, client=client)
    response = llm.chat_with_tools([FunctionTool.from_defaults(fn=magic)], user_msg="magic(5)?")
    [call] = llm.get_tool_calls_from_response(response, error_on_no_tool_call=True)
    assert (call.tool_name, call.tool_kwargs) == ("magic", {"input": 5})
    assert llm.complete("And the answer?").text == "Seven."
