"""WorkersAID1Saver next to Cloudflare's own ``langgraph-checkpoint-cloudflare-d1`` (0.1.6, pinned in
requirements.txt, never a dependency): the same graph on the same emulator D1, counting the D1 HTTP
requests each checkpointer sends per ``put`` and per whole run. The numbers are printed (the README
quotes them)."""

from __future__ import annotations

import copy
import operator
import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypedDict

import httpx
import pytest

from tests.timing import HTTP_TIMEOUT_S
from workersai import WorkersAI
from workersai.local import LocalEmulator

from .conftest import need


class State(TypedDict):
    notes: Annotated[list[str], operator.add]


def _graph(checkpointer: Any) -> Any:
    from langgraph.graph import END, START, StateGraph

    builder = StateGraph(State)
    builder.add_node("think", lambda s: {"notes": [f"thought {len(s['notes'])}"]})
    builder.add_node("act", lambda s: {"notes": [f"acted {len(s['notes'])}"]})
    builder.add_edge(START, "think")
    builder.add_edge("think", "act")
    builder.add_edge("act", END)
    return builder.compile(checkpointer=checkpointer)


def _recorded_run() -> tuple[list[tuple[str, tuple[Any, ...]]], list[str]]:
    """Three turns of the graph on one thread with LangGraph's in-memory saver, recording every ``put``
    and ``put_writes`` it received (the operations both D1 savers then replay) and the final notes."""
    from langgraph.checkpoint.memory import InMemorySaver

    calls: list[tuple[str, tuple[Any, ...]]] = []

    class Recording(InMemorySaver):
        def put(self, *args: Any) -> Any:
            calls.append(("put", copy.deepcopy(args)))
            return super().put(*args)

        def put_writes(self, *args: Any) -> Any:
            calls.append(("put_writes", copy.deepcopy(args)))
            return super().put_writes(*args)

    graph = _graph(Recording())
    config = {"configurable": {"thread_id": "peer-comparison"}}
    for turn in range(3):
        graph.invoke({"notes": [f"user {turn}"]}, config)
    return calls, graph.get_state(config).values["notes"]


def _replay(saver: Any, calls: list[tuple[str, tuple[Any, ...]]], sent: Callable[[], int]) -> dict[str, Any]:
    """The recorded operations, one at a time: the requests each sent, and the state read back."""
    counts: dict[str, list[int]] = {"put": [], "put_writes": []}
    for name, args in calls:
        before = sent()
        getattr(saver, name)(*copy.deepcopy(args))
        counts[name].append(sent() - before)
    before = sent()
    latest = saver.get_tuple({"configurable": {"thread_id": "peer-comparison", "checkpoint_ns": ""}})
    counts["get_tuple"] = [sent() - before]
    return {**counts, "notes": latest.checkpoint["channel_values"]["notes"]}


def test_fewer_d1_requests_than_the_peer_checkpointer(
    emulator: LocalEmulator, database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    peer_module = need("langgraph_checkpoint_cloudflare_d1")
    requests = need("requests")
    from langchain_workersai import WorkersAID1Saver

    calls, notes = _recorded_run()
    ours_sent: list[httpx.Request] = []
    http = httpx.Client(timeout=HTTP_TIMEOUT_S, event_hooks={"request": [ours_sent.append]})
    with emulator.client(http_client=http) as client:
        ours = _replay(WorkersAID1Saver(client, database), calls, lambda: len(ours_sent))
    http.close()

    peer_sent = [0]
    post = requests.post

    def counted_post(*args: Any, **kwargs: Any) -> Any:
        peer_sent[0] += 1
        return post(*args, **kwargs)

    monkeypatch.setattr(requests, "post", counted_post)
    peer_saver = peer_module.CloudflareD1Saver(emulator.account_id, database, emulator.token)
    # The peer builds its URL on api.cloudflare.com; point it at the emulator's D1.
    peer_saver.base_url = f"{emulator.base_url}/accounts/{emulator.account_id}/d1/database/{database}"
    peer = _replay(peer_saver, calls, lambda: peer_sent[0])

    for name in ("put", "put_writes", "get_tuple"):
        print(f"\nD1 requests per {name}: WorkersAID1Saver {ours[name]}, peer {peer[name]}")
        print(f"  total: WorkersAID1Saver {sum(ours[name])}, peer {sum(peer[name])}")
    assert ours["notes"] == peer["notes"] == notes and len(notes) == 9  # both stored the same run
    assert set(ours["put"]) == {1}  # every put is one request, the first too (it creates the tables)
    assert sum(ours["put"]) < sum(peer["put"])
    assert all(o <= p for o, p in zip(ours["put"], peer["put"], strict=True))
    assert set(ours["put_writes"]) == {1}
    assert sum(ours["put_writes"]) < sum(peer["put_writes"])
    assert ours["get_tuple"] == [1] and ours["get_tuple"] < peer["get_tuple"]


@pytest.fixture
def database(client: WorkersAI) -> Any:
    created = client.d1.create_database(f"peer-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    client.d1.delete_database(created.uuid)
