"""A LangGraph agent with one tool: the model calls it, reads its result, answers."""

from __future__ import annotations

from typing import Any

from langchain_core.tools import tool
from langgraph.graph import END, START, MessagesState, StateGraph
from langgraph.prebuilt import ToolNode, tools_condition

from langchain_workersai import ChatWorkersAI

MODEL = "@cf/qwen/qwen3-30b-a3b-fp8"
FORECASTS = {"Lyon": "sunny, 24°C", "Oslo": "snow, -3°C"}


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return FORECASTS.get(city, "unknown")


def weather_agent() -> Any:
    """The compiled graph: model -> (tools -> model)* -> end."""
    llm = ChatWorkersAI(model=MODEL, max_tokens=200).bind_tools([get_weather])

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    graph = StateGraph(MessagesState)
    graph.add_node("model", model)
    graph.add_node("tools", ToolNode([get_weather]))
    graph.add_edge(START, "model")
    graph.add_conditional_edges("model", tools_condition, {"tools": "tools", END: END})
    graph.add_edge("tools", "model")
    return graph.compile()
