"""WorkersAID1Saver beyond the conformance suite: a graph resumed by another process after a SIGKILL,
keys refused before any request, sync and async twins over HTTP."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from langchain_workersai import AsyncWorkersAID1Saver, WorkersAID1Saver
from tests.conftest import RequestLog
from workersai import BadInput, BindingUnsupported, WorkersAI
from workersai.local import LocalEmulator

ROOT = Path(__file__).resolve().parents[2]


def child(emulator: LocalEmulator, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.langgraph.graph_child", *args],
        cwd=ROOT,
        env={**os.environ, **emulator.env()},
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.slow
def test_a_graph_killed_mid_run_resumes_in_a_new_process(emulator: LocalEmulator, database: str) -> None:
    thread = f"t-{uuid.uuid4().hex[:6]}"
    killed = child(emulator, database, thread, "run")
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]

    resumed = child(emulator, database, thread, "resume")
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    waiting, final = (json.loads(line) for line in resumed.stdout.strip().splitlines()[-2:])
    trail = waiting["values"]["trail"]
    # plan ran once, in the killed process; act ran again in the new one; the graph waits for approval
    assert [step.split("@")[0] for step in trail] == ["plan", "act"]
    assert trail[0].split("@")[1] != trail[1].split("@")[1]
    assert waiting["next"] == ["approve"]
    assert [s.split("@")[0] for s in final["values"]["trail"]] == ["plan", "act", "approve"]
    assert final["values"]["answer"] == "yes" and final["next"] == []


ODD_KEYS = [("", "empty"), ("a\x00b", "NUL"), ("\ud800", "surrogate"), ("x" * 1025, "1025"), (b"t", "bytes")]


@pytest.mark.parametrize(("thread", "why"), ODD_KEYS, ids=[w for _, w in ODD_KEYS])
def test_odd_thread_ids_are_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, thread: Any, why: str
) -> None:
    saver = WorkersAID1Saver(logged_client, "no-such-database")
    with pytest.raises(BadInput, match="thread_id"):
        saver.get_tuple({"configurable": {"thread_id": thread}})
    with pytest.raises(BadInput, match="checkpoint_ns"):
        saver.get_tuple({"configurable": {"thread_id": "ok", "checkpoint_ns": thread or "\x00"}})
    with pytest.raises(BadInput, match="thread_id"):
        saver.delete_thread(thread)
    assert request_log.requests == []


def test_any_other_text_is_stored_as_given(client: WorkersAI, database: str) -> None:
    """Keys are bound parameters: quotes, semicolons, SQL, emoji and the namespace separator round-trip."""
    from langgraph.checkpoint.base import empty_checkpoint

    saver = WorkersAID1Saver(client, database)
    for thread in ["it's; DROP TABLE langgraph_checkpoints; --", "ns|child:1", '🦜 "quoted" %_', "42"]:
        config = {"configurable": {"thread_id": thread, "checkpoint_ns": "a:b|c"}}
        stored = saver.put(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
        found = saver.get_tuple(stored)
        assert found is not None and found.config["configurable"]["thread_id"] == thread
        assert [
            t.config["configurable"]["thread_id"] for t in saver.list({"configurable": {"thread_id": thread}})
        ] == [thread]


async def test_the_async_twin_and_the_async_only_saver(client: WorkersAI, database: str) -> None:
    from langgraph.checkpoint.base import empty_checkpoint

    saver = AsyncWorkersAID1Saver(client, database)
    config = {"configurable": {"thread_id": "async", "checkpoint_ns": ""}}
    stored = await saver.aput(config, empty_checkpoint(), {"source": "input", "step": -1}, {})
    await saver.aput_writes(stored, [("notes", "hello")], "task-1")
    found = await saver.aget_tuple(config)
    assert found is not None and found.pending_writes == [("task-1", "notes", "hello")]
    with pytest.raises(BindingUnsupported, match="async only"):
        saver.get_tuple(config)
    # the same rows, read by the sync saver
    again = WorkersAID1Saver(client, database).get_tuple(config)
    assert again is not None and again.pending_writes == [("task-1", "notes", "hello")]


def test_a_value_over_d1s_limit_is_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    """D1 stores strings of at most 1,000,000 bytes (d1/platform/limits/); values travel base64-encoded,
    so a channel value of 800 kB is already too large."""
    from langgraph.checkpoint.base import empty_checkpoint

    saver = WorkersAID1Saver(logged_client, "no-such-database")
    checkpoint = {
        **empty_checkpoint(),
        "channel_values": {"big": "x" * 800_000},
        "channel_versions": {"big": 1},
    }
    with pytest.raises(BadInput, match="at most 1000000"):
        saver.put(
            {"configurable": {"thread_id": "t"}}, checkpoint, {"source": "input", "step": -1}, {"big": 1}
        )
    assert request_log.requests == []


def test_a_bad_table_prefix_or_database_is_refused() -> None:
    with pytest.raises(BadInput, match="table_prefix"):
        WorkersAID1Saver(WorkersAI(account_id="a", api_token="t"), "db", table_prefix="x; DROP")
    with pytest.raises(BadInput, match="database_id"):
        WorkersAID1Saver(WorkersAI(account_id="a", api_token="t"), "")
