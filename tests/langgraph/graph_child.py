"""A LangGraph run that dies half-way, and its resumption in a new process, for
``tests/langgraph/test_checkpoint.py``.

    python -m tests.langgraph.graph_child DATABASE THREAD run      # SIGKILLs itself inside "act"
    python -m tests.langgraph.graph_child DATABASE THREAD resume   # ainvoke(None), then approves

Pointed at the emulator by ``CLOUDFLARE_*`` variables. Each node appends ``name@pid`` to the state, so
the parent sees which process ran which node, and that none ran twice. ``resume`` carries on
(``ainvoke(None)``) up to the human-in-the-loop interrupt, prints the state as a JSON line, answers
``Command(resume="yes")`` and prints the final state; it uses the async saver (``AsyncWorkersAID1Saver``),
``run`` the sync one.
"""

from __future__ import annotations

import asyncio
import json
import operator
import os
import signal
import sys
from typing import Annotated, Any, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.types import Command, interrupt

from langchain_workersai import AsyncWorkersAID1Saver, WorkersAID1Saver
from workersai import WorkersAI


class State(TypedDict):
    trail: Annotated[list[str], operator.add]
    answer: str


def plan(state: State) -> dict[str, Any]:
    return {"trail": [f"plan@{os.getpid()}"]}


def act(state: State) -> dict[str, Any]:
    if sys.argv[3] == "run":
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup, no finally: the process is gone
    return {"trail": [f"act@{os.getpid()}"]}


def approve(state: State) -> dict[str, Any]:
    answer = interrupt("approve the action?")  # a human in the loop: the run stops here
    return {"trail": [f"approve@{os.getpid()}"], "answer": answer}


def graph(saver: Any) -> Any:
    builder = StateGraph(State).add_sequence([plan, act, approve])  # nodes named after the functions
    builder.add_edge(START, "plan")
    builder.add_edge("approve", END)
    return builder.compile(checkpointer=saver)


async def main() -> None:
    database, thread, mode = sys.argv[1:4]
    config = {"configurable": {"thread_id": thread}}
    with WorkersAI() as client:
        if mode == "run":
            # durability="sync": each step's checkpoint is stored before the next step starts (the default,
            # "async", stores it while the next step runs, so a kill may come first)
            app = graph(WorkersAID1Saver(client, database))
            app.invoke({"trail": [], "answer": ""}, config, durability="sync")
            sys.exit("the run was meant to be killed inside act")
        app = graph(AsyncWorkersAID1Saver(client, database))
        for step in (None, Command(resume="yes")):
            await app.ainvoke(step, config)
            state = await app.aget_state(config)
            print(json.dumps({"values": state.values, "next": list(state.next)}))


if __name__ == "__main__":
    asyncio.run(main())
