"""Every emulated resource is scoped by the account id in its path (#25 item 2): account B, holding the
same token, sees account A's AI Search instances, D1 databases, Vectorize indexes and batches exactly as
it sees ones that do not exist, and cannot change them."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from workersai.local import LOCAL_ACCOUNT_ID, LocalEmulator

OTHER = "b" * 32
EMBEDDING = "@cf/baai/bge-small-en-v1.5"


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=f"{emulator.base_url}/accounts", headers=headers, timeout=60) as client:
        yield client


def answer(response: httpx.Response) -> tuple[int, Any]:
    """Status and errors, with the resource's own name taken out: what B learns from an answer."""
    body = response.json()
    return response.status_code, [e.get("code") for e in body.get("errors") or []]


def ids(response: httpx.Response, key: str) -> set[str]:
    assert response.status_code == 200, response.text
    return {item[key] for item in response.json()["result"]}


def test_ai_search(http: httpx.Client, emulator: LocalEmulator) -> None:
    a, b = f"/{emulator.account_id}/ai-search", f"/{OTHER}/ai-search"
    name, missing = f"iso-{uuid.uuid4().hex[:8]}", f"none-{uuid.uuid4().hex[:8]}"
    assert http.post(f"{a}/instances", json={"id": name}).status_code == 200
    try:
        text = b"The vault of account A opens with the word periwinkle."
        item = http.post(f"{a}/instances/{name}/items", files={"file": ("vault.md", text)}).json()["result"]
        question = {"messages": [{"role": "user", "content": "Which word opens the vault?"}]}
        for base in (f"{b}/instances", f"{b}/namespaces/default/instances"):
            assert name not in ids(http.get(base), "id")
            for method, suffix, body in [
                ("GET", "", None),
                ("GET", "/items", None),
                ("GET", f"/items/{item['id']}", None),
                ("GET", f"/items/{item['id']}/chunks", None),
                ("GET", "/stats", None),
                ("POST", "/search", question),
                ("PUT", "", {"max_num_results": 3}),
                ("DELETE", f"/items/{item['id']}", None),
                ("DELETE", "", None),
            ]:
                seen = http.request(method, f"{base}/{name}{suffix}", json=body)
                absent = http.request(method, f"{base}/{missing}{suffix}", json=body)
                assert answer(seen) == answer(absent) and seen.status_code == 404, (method, suffix)
        # B may have an instance of the same name: its own, empty.
        assert http.post(f"{b}/instances", json={"id": name}).status_code == 200
        assert http.get(f"{b}/instances/{name}/items").json()["result"] == []
        assert http.delete(f"{b}/instances/{name}").status_code == 200
        # A's instance is untouched.
        found = http.post(f"{a}/instances/{name}/search", json=question).json()["result"]["chunks"]
        assert found[0]["item"]["key"] == "vault.md"
    finally:
        http.delete(f"{a}/instances/{name}")


def test_d1(http: httpx.Client, emulator: LocalEmulator) -> None:
    a, b = f"/{emulator.account_id}/d1/database", f"/{OTHER}/d1/database"
    created = http.post(a, json={"name": f"iso-{uuid.uuid4().hex[:8]}"}).json()["result"]
    uid, missing = created["uuid"], str(uuid.uuid4())
    try:
        http.post(f"{a}/{uid}/query", json={"sql": "CREATE TABLE secret (v); INSERT INTO secret VALUES (7)"})
        assert uid not in ids(http.get(b), "uuid")
        assert http.get(b, params={"name": created["name"]}).json()["result"] == []
        for method, suffix, body in [
            ("GET", "", None),
            ("POST", "/query", {"sql": "SELECT * FROM secret"}),
            ("POST", "/raw", {"sql": "DELETE FROM secret"}),
            ("DELETE", "", None),
        ]:
            seen = http.request(method, f"{b}/{uid}{suffix}", json=body)
            absent = http.request(method, f"{b}/{missing}{suffix}", json=body)
            assert answer(seen) == answer(absent) and seen.status_code == 404, (method, suffix)
        rows = http.post(f"{a}/{uid}/query", json={"sql": "SELECT v FROM secret"}).json()["result"]
        assert rows[0]["results"] == [{"v": 7}]
    finally:
        http.delete(f"{a}/{uid}")


def test_vectorize(http: httpx.Client, emulator: LocalEmulator) -> None:
    a, b = f"/{emulator.account_id}/vectorize/v2/indexes", f"/{OTHER}/vectorize/v2/indexes"
    name, missing = f"iso-{uuid.uuid4().hex[:8]}", f"none-{uuid.uuid4().hex[:8]}"
    config = {"dimensions": 3, "metric": "cosine"}
    assert http.post(a, json={"name": name, "config": config}).status_code == 200
    try:
        assert name not in ids(http.get(b), "name")
        ndjson = b'{"id": "x", "values": [1, 0, 0]}\n'
        for method, suffix, kwargs in [
            ("GET", "", {}),
            ("GET", "/info", {}),
            ("GET", "/list", {}),
            ("POST", "/query", {"json": {"vector": [1, 0, 0]}}),
            ("POST", "/get_by_ids", {"json": {"ids": ["x"]}}),
            ("POST", "/delete_by_ids", {"json": {"ids": ["x"]}}),
            ("POST", "/insert", {"content": ndjson, "headers": {"content-type": "application/x-ndjson"}}),
            ("GET", "/metadata_index/list", {}),
            ("DELETE", "", {}),
        ]:
            seen = http.request(method, f"{b}/{name}{suffix}", **kwargs)
            absent = http.request(method, f"{b}/{missing}{suffix}", **kwargs)
            assert answer(seen) == answer(absent) and seen.status_code >= 400, (method, suffix)
        assert http.get(f"{a}/{name}").status_code == 200
    finally:
        http.delete(f"{a}/{name}")


def test_batch(http: httpx.Client, emulator: LocalEmulator) -> None:
    a = f"/{emulator.account_id}/ai/run/{EMBEDDING}"
    b = f"/{OTHER}/ai/run/{EMBEDDING}"
    queued = {"queueRequest": "true"}
    submitted = http.post(a, params=queued, json={"requests": [{"text": "a secret of account A"}]})
    request_id = submitted.json()["result"]["request_id"]
    seen = http.post(b, params=queued, json={"request_id": request_id})
    absent = http.post(b, params=queued, json={"request_id": str(uuid.uuid4())})
    assert seen.status_code == 400 and answer(seen) == answer(absent)
    for _ in range(600):  # A still gets its answer (polled by count, not by time)
        result = http.post(a, params=queued, json={"request_id": request_id}).json()["result"]
        if "responses" in result:
            break
    assert result["responses"][0]["success"] is True


def test_an_ai_search_file_from_before_accounts_is_kept_for_the_local_account(tmp_path: Path) -> None:
    """A data dir written when AI Search kept no account: its instances move to the account the
    emulator prints (LOCAL_ACCOUNT_ID), and no other account sees them."""
    with sqlite3.connect(tmp_path / "ai_search.sqlite3") as db:
        db.executescript(
            """
            CREATE TABLE instances (namespace TEXT, id TEXT, settings TEXT, created_at TEXT,
                modified_at TEXT, last_activity TEXT, PRIMARY KEY (namespace, id));
            CREATE TABLE items (namespace TEXT, instance TEXT, id TEXT, key TEXT, checksum TEXT,
                file_size INTEGER, chunks_count INTEGER, metadata TEXT, created_at TEXT, timestamp INTEGER,
                PRIMARY KEY (namespace, instance, id));
            CREATE TABLE chunks (rowid INTEGER PRIMARY KEY, namespace TEXT, instance TEXT, item_id TEXT,
                chunk_id TEXT, position INTEGER, text TEXT, vector BLOB);
            CREATE INDEX chunks_by_instance ON chunks (namespace, instance);
            INSERT INTO instances VALUES ('default', 'old', '{"chunk_size": 256, "chunk_overlap": 10}',
                '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z');
            INSERT INTO items VALUES ('default', 'old', 'i1', 'k.md', 'c', 3, 0, '{}',
                '2026-01-01T00:00:00Z', 0);
            """
        )
    db.close()
    with LocalEmulator(data_dir=tmp_path) as emu:
        headers = {"Authorization": f"Bearer {emu.token}"}
        mine = f"{emu.base_url}/accounts/{LOCAL_ACCOUNT_ID}/ai-search/instances"
        theirs = f"{emu.base_url}/accounts/{OTHER}/ai-search/instances"
        assert [i["id"] for i in httpx.get(mine, headers=headers).json()["result"]] == ["old"]
        assert [i["key"] for i in httpx.get(f"{mine}/old/items", headers=headers).json()["result"]] == [
            "k.md"
        ]
        assert httpx.get(theirs, headers=headers).json()["result"] == []
