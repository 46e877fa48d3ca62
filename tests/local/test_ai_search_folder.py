"""``workersai-local --ai-search NAME=DIR`` reads nothing outside DIR and skips, one line each, the files
the service would not index; one bad file never stops the start (#25 item 8)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from workersai.local import LOCAL_ACCOUNT_ID, LocalEmulator


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def make_folder(tmp_path: Path) -> Path:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text("The vault password is swordfish.")
    docs = tmp_path / "docs"
    (docs / "sub").mkdir(parents=True)
    (docs / "good.md").write_text("The ferry Marigold crosses Lake Vell at dawn.")
    (docs / "sub" / "notes.txt").write_text("The lighthouse keeper is named Bramwell.")
    (docs / "latin1.txt").write_bytes("Le café est fermé.".encode("latin-1"))
    (docs / "nul.txt").write_bytes(b"looks like text\x00but is not")
    (docs / "big.md").write_bytes(b"a " * (2 * 1024 * 1024) + b"!")  # 4 MB and one byte
    (docs / "leak.md").symlink_to(outside / "secret.md")
    (docs / "linked-dir").symlink_to(outside, target_is_directory=True)
    (docs / "inner.md").symlink_to(docs / "good.md")
    (docs / "dangling.md").symlink_to(tmp_path / "nowhere.md")
    return docs


SKIPPED = {
    "big.md": "larger than 4 MB",
    "dangling.md": "a link to nothing",
    "latin1.txt": "not UTF-8 text",
    "leak.md": "a link out of the folder",
    "nul.txt": "binary (it holds NUL bytes)",
}


def test_only_what_is_inside_is_indexed(tmp_path: Path) -> None:
    from workersai.local.ai_search_folder import index_folder

    docs = make_folder(tmp_path)
    with LocalEmulator() as emu:
        indexed = index_folder(emu.app.state.emulator, f"kb={docs}")
        assert dict(indexed.skipped) == SKIPPED
        assert indexed.files == 3
        base = f"{emu.base_url}/accounts/{LOCAL_ACCOUNT_ID}/ai-search/instances/kb"
        headers = {"Authorization": f"Bearer {emu.token}"}
        items = httpx.get(f"{base}/items", headers=headers).json()["result"]
        assert sorted(i["key"] for i in items) == ["good.md", "inner.md", "sub/notes.txt"]
        body = {"messages": [{"role": "user", "content": "What is the vault password?"}]}
        chunks = httpx.post(f"{base}/search", json=body, headers=headers, timeout=60).json()["result"][
            "chunks"
        ]
        assert all("swordfish" not in c["text"] for c in chunks)


def test_the_cli_starts_and_says_what_it_skipped(tmp_path: Path) -> None:
    docs = make_folder(tmp_path)
    port = _free_port()
    command = [sys.executable, "-m", "workersai.local.cli", "--port", str(port), "--token", "t"]
    command += ["--ai-search", f"kb={docs}", "--log-level", "warning"]
    env = {**os.environ, "WORKERSAI_LOCAL_GENERATOR": "extractive"}
    proc = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=env)
    try:
        base = f"http://127.0.0.1:{port}/client/v4/accounts/{LOCAL_ACCOUNT_ID}/ai-search/instances/kb"
        for _ in range(1200):  # until it answers (or dies: then the assertion shows why)
            try:
                items = httpx.get(f"{base}/items", headers={"Authorization": "Bearer t"})
                break
            except httpx.ConnectError:
                assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
                time.sleep(0.1)
        assert sorted(i["key"] for i in items.json()["result"]) == ["good.md", "inner.md", "sub/notes.txt"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=30)
    for key, reason in SKIPPED.items():
        lines = [line for line in err.splitlines() if f"skipped {key}:" in line]
        assert lines == [f"  AI Search instance kb: skipped {key}: {reason}"], err
    assert "Traceback" not in err and "AI Search instance kb: 3 files indexed" in err
