"""``workersai-local`` refuses to start on a broken setup (issue #12.10): it exits at once, non-zero,
with one clear line, instead of serving a server that answers 500 to every call."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workersai.local.cli", "--port", str(free_port()), "--token", "t", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
    )


def one_line_error(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode != 0, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    assert lines[0].startswith("workersai-local: error: ")
    return lines[0]


def test_a_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    line = one_line_error(run_cli("--data-dir", str(blocker / "data")))
    assert "--data-dir" in line and "cannot be written" in line


def test_a_corrupt_sqlite_file(tmp_path: Path) -> None:
    (tmp_path / "vectorize.sqlite3").write_bytes(b"this is not a database" * 100)
    line = one_line_error(run_cli("--data-dir", str(tmp_path)))
    assert "vectorize.sqlite3" in line and "corrupt" in line


@pytest.mark.parametrize("how", ["env", "option"])
def test_missing_embedding_weights(tmp_path: Path, how: str) -> None:
    missing = tmp_path / "no-model-here"
    if how == "env":
        result = run_cli(env={"WORKERSAI_LOCAL_MODEL_DIR": str(missing)})
    else:
        result = run_cli("--model-dir", str(missing))
    line = one_line_error(result)
    assert "embedding model files missing" in line and "model.safetensors" in line


def test_unreadable_embedding_weights(tmp_path: Path) -> None:
    (tmp_path / "model.safetensors").write_bytes(b"\x00" * 64)
    (tmp_path / "tokenizer.json").write_text("{}")
    line = one_line_error(run_cli("--model-dir", str(tmp_path)))
    assert "cannot be read" in line
