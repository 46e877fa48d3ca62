"""The D1 classes on the binding path (``WorkersAI(d1_binding=env.DB)``) in plain CPython, with the D1
stand-in of pybindings.py (``prepare().bind().all()``, ``batch()``, forwarding to the emulator): the
async checkpointer runs a graph, one binding call per ``put``; a refused statement is the typed error."""

from __future__ import annotations

import operator
import uuid
from collections.abc import Iterator
from typing import Annotated, Any, TypedDict

import pytest

from langchain_workersai import AsyncWorkersAID1Saver
from tests.pyodide import pybindings
from workersai import BadInput, BindingUnsupported, WorkersAI
from workersai.local import LocalEmulator


@pytest.fixture
def db(emulator: LocalEmulator, _admin: WorkersAI) -> Iterator[pybindings.D1Database]:
    created = _admin.d1.create_database(f"bind-{uuid.uuid4().hex[:8]}")
    yield pybindings.D1Database(emulator.base_url, emulator.account_id, emulator.token, created.uuid)
    _admin.d1.delete_database(created.uuid)


class State(TypedDict):
    notes: Annotated[list[str], operator.add]


async def test_a_graph_checkpoints_through_the_d1_binding(db: pybindings.D1Database) -> None:
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    builder.add_node("note", lambda s: {"notes": [f"note {len(s['notes'])}"]})
    builder.add_edge(START, "note")
    builder.add_edge("note", END)
    client = WorkersAI(d1_binding=db)
    saver = AsyncWorkersAID1Saver(client, db.database)  # the uuid of the bound database (wrangler.toml)
    puts = 0
    aput = saver.aput

    async def counted(*args: Any) -> Any:
        nonlocal puts
        puts += 1
        return await aput(*args)

    saver.aput = counted  # type: ignore[method-assign]
    graph = builder.compile(checkpointer=saver)
    config = {"configurable": {"thread_id": "bound"}}
    for turn in range(2):
        await graph.ainvoke({"notes": [f"user {turn}"]}, config, durability="sync")
    assert (await graph.aget_state(config)).values["notes"] == ["user 0", "note 1", "user 1", "note 3"]
    # one binding call per put: a batch with the checkpoint row (and the channel values with it)
    with_checkpoint = [
        body
        for body in db.sent
        if any("INTO langgraph_checkpoints " in i["sql"] for i in body.get("batch", [body]))
    ]
    assert puts == 6 and len(with_checkpoint) == puts
    assert [t.metadata["step"] async for t in saver.alist(config, limit=2)] == [4, 3]
    with pytest.raises(BindingUnsupported, match="async"):
        client.d1.query(db.database, "SELECT 1")


async def test_a_refused_statement_is_the_rest_apis_typed_error(db: pybindings.D1Database) -> None:
    client = WorkersAI(d1_binding=db)
    with pytest.raises(BadInput, match="no such table: nowhere") as caught:
        await client.d1.aquery(db.database, "SELECT * FROM nowhere")
    assert caught.value.code == 7500 and caught.value.status == 400
    rows = await client.d1.araw(db.database, "SELECT 1 AS one, 'a' AS two")
    assert rows[0].columns == ["one", "two"] and rows[0].results == [[1, "a"]]
