"""Reliability under the faults Workers AI and Vectorize produce: nothing lost, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
from llama_index.core.schema import TextNode

from langchain_workersai import VectorizeVectorStore as LCStore
from langchain_workersai import WorkersAIEmbeddings
from llamaindex_workersai import VectorizeVectorStore as LIStore
from llamaindex_workersai import WorkersAIEmbedding
from tests.figures import record
from workersai import RetryPolicy, WorkersAI
from workersai.local import LocalEmulator

DOCS = 10_000
FAST = RetryPolicy(max_retries=10, initial_backoff=0.01, max_backoff=0.1, jitter=0.01)


def texts() -> list[str]:
    return [f"document {i} in the fault drill" for i in range(DOCS)]


def assert_exactly_once(client: WorkersAI, index: str, expected: dict[str, str], text_key: str) -> None:
    ids = list(client.vectorize.list_ids(index))
    assert len(ids) == len(set(ids)) == len(expected)
    assert set(ids) == set(expected)
    stored = client.vectorize.get_by_ids(index, ids)
    assert len(stored) == len(expected)
    for vector in stored:
        assert expected[vector.id] in str((vector.metadata or {}).get(text_key))
    record("documents ingested through faults", len(expected))
    record("documents lost or doubled", len(expected) - len(set(ids) & set(expected)))


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_langchain_ingestion_through_20_percent_faults(emulator: LocalEmulator, use_async: bool) -> None:
    client = emulator.client(retry_policy=FAST)
    store = LCStore(
        f"lc-drill-{uuid.uuid4().hex[:6]}",
        WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5", client=client),
        client=client,
    )
    store.create_index()
    docs = texts()
    ids = [f"doc-{i}" for i in range(DOCS)]
    before = emulator.set_faults(error="3040", error_rate=0.2, seed=1 + use_async, retry_after=0)["injected"]
    if use_async:
        asyncio.run(store.aadd_texts(docs, ids=ids))
    else:
        store.add_texts(docs, ids=ids)
    injected = emulator.clear_faults()["injected"] - before
    assert injected > 10
    record("faults injected during ingestion", injected)
    assert_exactly_once(client, store.index_name, dict(zip(ids, docs, strict=True)), "_text")
    client.vectorize.delete_index(store.index_name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
def test_llamaindex_ingestion_through_20_percent_faults(emulator: LocalEmulator, use_async: bool) -> None:
    client = emulator.client(retry_policy=FAST)
    embed = WorkersAIEmbedding(model_name="@cf/baai/bge-small-en-v1.5", client=client)
    store = LIStore(f"li-drill-{uuid.uuid4().hex[:6]}", client=client)
    store.create_index(384)
    docs = texts()
    before = emulator.set_faults(error="500", error_rate=0.2, seed=3 + use_async)["injected"]
    if use_async:
        vectors = asyncio.run(embed.aget_text_embedding_batch(docs))
    else:
        vectors = embed.get_text_embedding_batch(docs)
    nodes = [
        TextNode(id_=f"node-{i}", text=t, embedding=v)
        for i, (t, v) in enumerate(zip(docs, vectors, strict=True))
    ]
    if use_async:
        asyncio.run(store.async_add(nodes))
    else:
        store.add(nodes)
    injected = emulator.clear_faults()["injected"] - before
    assert injected > 10
    record("faults injected during ingestion", injected)
    assert_exactly_once(client, store.index_name, {n.node_id: n.text for n in nodes}, "_node_content")
    client.vectorize.delete_index(store.index_name)


# -- load ----------------------------------------------------------------------------------------


async def _burst(client: WorkersAI, n: int) -> list[Any]:
    calls = [
        client.aembed([f"load {i}"], model="@cf/baai/bge-small-en-v1.5")
        if i % 2
        else client.achat("hi", max_tokens=3)
        for i in range(n)
    ]
    return await asyncio.gather(*calls)


def test_200_concurrent_async_requests_through_one_client(emulator: LocalEmulator) -> None:
    emulator.set_faults(latency_ms=300)
    emulator.stats(reset=True)
    with emulator.client(retry_policy=FAST) as client:
        results = asyncio.run(_burst(client, 200))
        limit = client.transport.limits.max_connections
    stats = emulator.stats()
    assert len(results) == 200 and all(results)
    # The requests really overlapped (the loop was not blocked), and never beyond the pool's limit.
    assert 50 <= stats["max_in_flight"] <= limit
    record("concurrent async requests through one client", len(results))


def test_mixed_load_from_a_second_process(emulator: LocalEmulator) -> None:
    # Half a minute keeps the suite under its 15-minute budget; WORKERSAI_LOAD_SECONDS=120 (or more) by hand.
    seconds = float(os.environ.get("WORKERSAI_LOAD_SECONDS", "30"))
    before = emulator.set_faults(error="3040", error_rate=0.05, seed=9, retry_after=0)["injected"]
    env = {**os.environ, **emulator.env()}
    done = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "load_client.py"), str(seconds)],
        env=env,
        capture_output=True,
        text=True,
        timeout=seconds + 120,
    )
    injected = emulator.clear_faults()["injected"] - before
    assert done.returncode == 0, done.stdout + done.stderr
    report = dict(line.split("=", 1) for line in done.stdout.split() if "=" in line)
    assert int(report["failed"]) == 0, done.stdout
    assert int(report["ok"]) > 50
    assert injected > 0
    record("mixed-load requests from a second process", int(report["ok"]) + int(report["failed"]))
    record("mixed-load requests failed", int(report["failed"]))
    record("faults injected during the mixed load", injected)


# -- durability ----------------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _start(port: int, data: Path, token: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workersai.local.cli",
            "--port",
            str(port),
            "--token",
            token,
            "--data-dir",
            str(data),
            "--mutation-delay-ms",
            "20",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/__local__/health", timeout=1)
            return proc
        except httpx.HTTPError:
            assert proc.poll() is None and time.monotonic() < deadline, "emulator did not start"
            time.sleep(0.1)


def test_kill_9_during_a_write_burst_loses_no_acknowledged_write(tmp_path: Path) -> None:
    port, token = _free_port(), "durability-token"
    proc = _start(port, tmp_path, token)
    client = WorkersAI(
        "0123456789abcdef0123456789abcdef",
        token,
        base_url=f"http://127.0.0.1:{port}/client/v4",
        max_retries=0,
    )
    client.vectorize.create_index("durable", dimensions=4)
    acknowledged: list[str] = []
    stop = threading.Event()

    def writer() -> None:
        batch = 0
        while not stop.is_set():
            ids = [f"b{batch}-{i}" for i in range(50)]
            try:
                client.vectorize.upsert(
                    "durable", [{"id": v, "values": [1.0, 2.0, 3.0, float(batch)]} for v in ids]
                )
            except Exception:
                return  # the server died mid-request: this batch was not acknowledged
            acknowledged.extend(ids)
            batch += 1

    thread = threading.Thread(target=writer)
    thread.start()
    while len(acknowledged) < 2000:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    thread.join()
    client.close()

    proc = _start(port, tmp_path, token)
    try:
        with WorkersAI(
            "0123456789abcdef0123456789abcdef", token, base_url=f"http://127.0.0.1:{port}/client/v4"
        ) as again:
            deadline = time.monotonic() + 60
            while again.vectorize.info("durable").vector_count < len(acknowledged):
                assert time.monotonic() < deadline, "acknowledged writes were lost"
                time.sleep(0.05)
            assert len(again.vectorize.get_by_ids("durable", acknowledged)) == len(acknowledged)
            record("writes acknowledged before kill -9, all present after restart", len(acknowledged))
            assert again.vectorize.query("durable", [1.0, 2.0, 3.0, 0.0], top_k=3).count == 3
    finally:
        proc.kill()
        proc.wait()
