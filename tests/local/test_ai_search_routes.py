"""The emulator's AI Search over raw HTTP (no client): both path styles, the wire shapes, chunking by the
instance's size and overlap, the service's refusals, and ``workersai-local --ai-search NAME=DIR``."""

from __future__ import annotations

import itertools
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from workersai.local import LOCAL_ACCOUNT_ID, LocalEmulator

LONG = "\n\n".join(
    f"Paragraph {i}. The river Quillon floods the valley of Emberfall every {i + 2} years. "
    f"Farmers there grow amber turnips and keep {i * 3} goats on the hills."
    for i in range(12)
)


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai-search",
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=60,
    ) as client:
        yield client


@pytest.fixture
def instance(http: httpx.Client) -> Iterator[str]:
    name = f"raw-{uuid.uuid4().hex[:8]}"
    yield name
    http.delete(f"/namespaces/default/instances/{name}")
    http.delete(f"/namespaces/other/instances/{name}")


def upload(http: httpx.Client, path: str, key: str, text: str) -> dict[str, Any]:
    response = http.post(f"{path}/items", files={"file": (key, text.encode())})
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


def test_both_path_styles_and_namespaces(http: httpx.Client, instance: str) -> None:
    assert http.post("/namespaces/other/instances", json={"id": instance}).status_code == 200
    assert instance not in {i["id"] for i in http.get("/instances").json()["result"]}
    assert http.post("/instances", json={"id": instance}).status_code == 200  # the default namespace
    listed = http.get("/namespaces/default/instances").json()
    assert instance in {i["id"] for i in listed["result"]} and listed["result_info"]["count"] >= 1
    assert http.get(f"/namespaces/other/instances/{instance}").json()["result"]["namespace"] == "other"


def test_wire_shapes(http: httpx.Client, instance: str) -> None:
    base = f"/namespaces/default/instances/{instance}"
    created = http.post("/namespaces/default/instances", json={"id": instance, "chunk_size": 128}).json()
    assert created["success"] is True and created["result"]["chunk_size"] == 128
    item = upload(http, base, "farm/quillon.md", LONG)
    assert {"id", "key", "status", "chunks_count", "file_size", "checksum"} <= item.keys()
    body = {
        "messages": [{"role": "user", "content": "How many goats are kept in Emberfall?"}],
        "ai_search_options": {"retrieval": {"max_num_results": 2, "match_threshold": 0.1}},
    }
    found = http.post(f"{base}/search", json=body).json()["result"]
    assert found["search_query"] == "How many goats are kept in Emberfall?"
    assert len(found["chunks"]) == 2
    chunk = found["chunks"][0]
    assert {"id", "type", "score", "text", "item", "scoring_details"} <= chunk.keys()
    assert chunk["item"]["key"] == "farm/quillon.md"
    answer = http.post(f"{base}/chat/completions", json=body).json()
    assert answer["object"] == "chat.completion"
    assert answer["choices"][0]["message"]["role"] == "assistant"
    assert answer["chunks"][0]["item"]["key"] == "farm/quillon.md"
    stats = http.get(f"{base}/stats").json()["result"]
    assert stats["completed"] == 1 and stats["engine"]["vectorize"]["vectors_count"] == item["chunks_count"]


@pytest.mark.parametrize(("size", "overlap"), [(64, 0), (64, 30), (200, 10)])
def test_chunking_respects_size_and_overlap(
    emulator: LocalEmulator, http: httpx.Client, instance: str, size: int, overlap: int
) -> None:
    http.post("/instances", json={"id": instance, "chunk_size": size, "chunk_overlap": overlap})
    item = upload(http, f"/instances/{instance}", "long.md", LONG)
    chunks = [
        c["text"] for c in http.get(f"/instances/{instance}/items/{item['id']}/chunks").json()["result"]
    ]
    assert len(chunks) == item["chunks_count"] > 1
    count = emulator.app.state.emulator.embedder.encoder.count_tokens
    assert all(count(c) <= size for c in chunks)
    flat = [" ".join(c.split()) for c in chunks]
    assert all(f in " ".join(LONG.split()) for f in flat)  # chunks are pieces of the text, in order
    shared = sum(count(c) for c in chunks) - count(LONG)  # tokens counted twice: the overlap
    if overlap:
        assert shared > 0
        for before, after in itertools.pairwise(flat):  # each chunk starts inside the previous
            assert " ".join(after.split()[:3]) in before
    else:
        assert shared <= 0


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("POST", "/instances", {"id": "Bad Name"}, 400),
        ("POST", "/instances", {"id": "x" * 65}, 400),
        ("POST", "/instances", {"id": "ok", "chunk_overlap": 31}, 400),
        ("POST", "/instances", {"id": "ok", "max_num_results": 51}, 400),
        ("POST", "/instances/{i}/search", {"messages": []}, 400),
        (
            "POST",
            "/instances/{i}/search",
            {
                "messages": [{"role": "user", "content": "q"}],
                "ai_search_options": {"retrieval": {"max_num_results": 0}},
            },
            400,
        ),
        (
            "POST",
            "/instances/{i}/search",
            {
                "messages": [{"role": "user", "content": "q"}],
                "ai_search_options": {"retrieval": {"filters": {"a": {"$x": 1}}}},
            },
            400,
        ),
        ("POST", "/instances/{i}/items", {"not": "multipart"}, 400),
        ("GET", "/instances/nope-nope", None, 404),
        ("POST", "/instances/nope-nope/search", {"messages": [{"role": "user", "content": "q"}]}, 404),
        ("GET", "/instances/{i}/stats", None, 200),
    ],
)
def test_refusals(http: httpx.Client, instance: str, method: str, path: str, body: Any, status: int) -> None:
    http.post("/instances", json={"id": instance})
    response = http.request(method, path.replace("{i}", instance), json=body)
    assert response.status_code == status, response.text
    assert response.json()["success"] is (status == 200)


def test_duplicate_and_auth(emulator: LocalEmulator, http: httpx.Client, instance: str) -> None:
    assert http.post("/instances", json={"id": instance}).status_code == 200
    assert http.post("/instances", json={"id": instance}).status_code == 409
    anonymous = httpx.get(f"{emulator.base_url}/accounts/{emulator.account_id}/ai-search/instances")
    assert anonymous.status_code == 401


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_cli_indexes_a_folder(tmp_path: Path) -> None:
    docs = tmp_path / "docs"
    (docs / "guide").mkdir(parents=True)
    (docs / "guide" / "boats.md").write_text("# Boats\n\nThe ferry Marigold crosses Lake Vell at dawn.")
    (docs / "notes.txt").write_text("The lighthouse keeper on Skerry Isle is named Bramwell.")
    (docs / "image.png").write_bytes(b"\x89PNG not text")
    port = _free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workersai.local.cli",
            "--port",
            str(port),
            "--token",
            "t",
            "--ai-search",
            f"kb={docs}",
            "--log-level",
            "warning",
        ],
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "WORKERSAI_LOCAL_GENERATOR": "extractive"},
    )
    try:
        # The instance belongs to the account the emulator prints (and LocalEmulator uses).
        base = f"http://127.0.0.1:{port}/client/v4/accounts/{LOCAL_ACCOUNT_ID}/ai-search/instances/kb"
        headers = {"Authorization": "Bearer t"}
        for _ in range(600):
            try:
                items = httpx.get(f"{base}/items", headers=headers)
                break
            except httpx.ConnectError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert sorted(i["key"] for i in items.json()["result"]) == ["guide/boats.md", "notes.txt"]
        body = {"messages": [{"role": "user", "content": "Who keeps the lighthouse on Skerry Isle?"}]}
        found = httpx.post(f"{base}/search", json=body, headers=headers).json()["result"]
        assert found["chunks"][0]["item"]["key"] == "notes.txt"
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    assert "AI Search instance kb: 2 files indexed" in err


def test_cli_refuses_a_bad_spec(tmp_path: Path) -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "workersai.local.cli",
            "--port",
            str(_free_port()),
            "--token",
            "t",
            "--ai-search",
            f"Bad Name={tmp_path}",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "workersai-local: error: --ai-search" in result.stderr


def test_instances_persist_under_the_data_dir(tmp_path: Path) -> None:
    body = {"messages": [{"role": "user", "content": "What does the Ferris of Oldham eat?"}]}
    for round_ in range(2):
        with LocalEmulator(data_dir=tmp_path) as emu:
            base = f"{emu.base_url}/accounts/{emu.account_id}/ai-search/instances"
            headers = {"Authorization": f"Bearer {emu.token}"}
            if round_ == 0:
                httpx.post(base, json={"id": "kept"}, headers=headers)
                text = b"The Ferris of Oldham eats only toasted barley."
                httpx.post(f"{base}/kept/items", files={"file": ("f.md", text)}, headers=headers)
            found = httpx.post(f"{base}/kept/search", json=body, headers=headers, timeout=60).json()
            assert found["result"]["chunks"][0]["item"]["key"] == "f.md"
