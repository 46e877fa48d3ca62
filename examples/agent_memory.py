"""An agent that remembers: LangGraph thread state in D1 (WorkersAID1Saver), long-term memories in
Vectorize + D1 (VectorizeD1Store). A first process talks to the agent and is killed (SIGKILL) in the
middle of its second turn; this process resumes the same thread where it stopped, then a new thread
recalls what the user said, by meaning, from the long-term memory.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Annotated, Any, TypedDict

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, SystemMessage
from langgraph.graph import END, START, StateGraph
from langgraph.graph.message import add_messages
from langgraph.store.base import BaseStore

from langchain_workersai import ChatWorkersAI, VectorizeD1Store, WorkersAID1Saver
from workersai import WorkersAI

EMBED = "@cf/baai/bge-small-en-v1.5"  # 384 dimensions
USER = "ada"


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    recalled: list[str]


def remember(state: State, *, store: BaseStore) -> dict[str, Any]:
    """Keep what the user says about themselves as a long-term memory (namespace: the user)."""
    said = str(state["messages"][-1].content)
    if said.lower().startswith(("i ", "my ")):
        store.put((USER, "memories"), uuid.uuid4().hex[:8], {"text": said})
    return {}


def recall(state: State, *, store: BaseStore) -> dict[str, Any]:
    found = store.search((USER, "memories"), query=str(state["messages"][-1].content), limit=1)
    return {"recalled": [item.value["text"] for item in found]}


def answer(state: State) -> dict[str, Any]:
    if os.environ.get("AGENT_MEMORY_DIE_IN_TURN") == str(len(state["messages"]) // 2 + 1):
        print(f"process {os.getpid()} killed inside 'answer'", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)  # no cleanup: what was checkpointed is all that is left
    memories = "\n".join(state["recalled"]) or "nothing yet"
    system = SystemMessage(f"Answer in one short sentence. What you know about the user:\n{memories}")
    reply = ChatWorkersAI(max_tokens=40).invoke([system, *state["messages"]])
    return {"messages": [AIMessage(str(reply.content))]}


def agent(client: WorkersAI, database: str, index: str) -> Any:
    builder = StateGraph(State).add_sequence([remember, recall, answer])  # nodes named after the functions
    builder.add_edge(START, "remember")
    builder.add_edge("answer", END)
    store = VectorizeD1Store(
        client, database, index={"name": index, "dims": 384, "embed": EMBED, "fields": ["text"]}
    )
    return builder.compile(checkpointer=WorkersAID1Saver(client, database), store=store)


def turn(graph: Any, thread: str, text: str) -> str:
    # durability="sync": a step's checkpoint is in D1 before the next step starts
    state = graph.invoke(
        {"messages": [HumanMessage(text)]}, {"configurable": {"thread_id": thread}}, durability="sync"
    )
    return str(state["messages"][-1].content)


def first_process(database: str, index: str, thread: str) -> None:
    """Two turns; the process is killed inside the second one."""
    with WorkersAI() as client:
        graph = agent(client, database, index)
        print(f"turn 1 (pid {os.getpid()}): A: {turn(graph, thread, 'My favourite fruit is the mango.')}")
        turn(graph, thread, "I walk my dog Rex every morning. What should I eat for breakfast?")


def main() -> None:
    if sys.argv[1:2] == ["--first-process"]:
        first_process(*sys.argv[2:5])
        return
    with cloudflare_env(), WorkersAI() as client:
        database = client.d1.create_database(f"agent-memory-{uuid.uuid4().hex[:8]}").uuid
        index = f"agent-memory-{uuid.uuid4().hex[:8]}"
        graph = agent(client, database, index)
        graph.store.setup()  # the Vectorize index, its namespace metadata indexes, the D1 tables
        thread = f"chat-{uuid.uuid4().hex[:6]}"

        first = subprocess.run(
            [sys.executable, __file__, "--first-process", database, index, thread],
            env={**os.environ, "AGENT_MEMORY_DIE_IN_TURN": "2"},
            capture_output=True,
            text=True,
            timeout=600,
        )
        print(first.stdout, end="")
        assert first.returncode == -signal.SIGKILL, first.stderr[-2000:]

        config = {"configurable": {"thread_id": thread}}
        waiting = graph.get_state(config)
        print(f"resumed thread {thread} at {list(waiting.next)} in pid {os.getpid()}")
        state = graph.invoke(None, config, durability="sync")  # carries on where the killed process stopped
        print(f"A: {state['messages'][-1].content}")
        print(f"history: {len(state['messages'])} messages, recalled: {state['recalled']}")
        assert waiting.next == ("answer",) and len(state["messages"]) == 4

        other = f"chat-{uuid.uuid4().hex[:6]}"
        print(f"new thread {other}: A: {turn(graph, other, 'Which fruit do I like?')}")
        recalled = graph.get_state({"configurable": {"thread_id": other}}).values["recalled"]
        print(f"recalled in a new thread: {recalled}")
        assert any("mango" in text for text in recalled)

        client.vectorize.delete_index(index)
        client.d1.delete_database(database)


if __name__ == "__main__":
    main()
