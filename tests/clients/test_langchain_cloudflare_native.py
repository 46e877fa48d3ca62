"""langchain-cloudflare 0.4.3's own Clef, Clairic and native-agent integration tests (issue #32), run
unmodified from its sdist against the emulator: the sdist is fetched once with pip into a cache
directory, its tests run in a subprocess with the emulator's account and token (``CF_ACCOUNT_ID``,
``CF_AI_API_TOKEN``) and the emulator's base URL (tests/clients/peer_native_plugin.py, which also lists,
with the reason, the tests whose expectations need Cloudflare's own models' judgement: xfail)."""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from workersai.local import LocalEmulator

from .conftest import need

pytestmark = pytest.mark.slow

PEER = "langchain-cloudflare==0.4.3"
ROOT = Path(__file__).resolve().parents[2]
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "workersai" / "peer-sdists"
SELECTED = [
    "tests/integration_tests/test_native_agents.py",
    "tests/integration_tests/test_workersai_models.py::TestExtractionModels",
    "tests/integration_tests/test_workersai_models.py::TestDecisionModels",
    "tests/integration_tests/test_workersai_models.py::TestNativePydanticStructuredOutput",
    "tests/integration_tests/test_workersai_models.py::TestSystemOneStructuredOutput",
]
"""The peer's decision, extraction and native-agent tests (``-k``: its reject-if-busy variants only for
the text case, which sends the same bodies with ``options.rejectIfBusy``)."""


@pytest.fixture(scope="module")
def sdist() -> Path:
    """The peer's unpacked sdist (``pip download --no-binary :all: --no-deps``), cached."""
    need("langchain_cloudflare")
    need("langchain.agents")
    need("dotenv")
    folder = CACHE / "langchain_cloudflare-0.4.3"
    if not (folder / "tests" / "integration_tests").is_dir():
        CACHE.mkdir(parents=True, exist_ok=True)
        pip = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "-q",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-d",
            str(CACHE),
        ]
        fetched = subprocess.run([*pip, PEER], capture_output=True, text=True, timeout=300)
        archive = CACHE / "langchain_cloudflare-0.4.3.tar.gz"
        if fetched.returncode != 0 or not archive.exists():
            pytest.skip(f"could not fetch the {PEER} sdist: {fetched.stderr.strip()[-300:]}")
        with tarfile.open(archive) as tar:
            tar.extractall(CACHE, filter="data")
    return folder


def test_the_peers_own_native_model_tests_pass(emulator: LocalEmulator, sdist: Path, tmp_path: Path) -> None:
    report = tmp_path / "peer.xml"
    env = {
        **os.environ,
        "CF_ACCOUNT_ID": emulator.account_id,
        "CF_AI_API_TOKEN": emulator.token,
        "WORKERSAI_PEER_API_BASE": f"{emulator.base_url}/accounts",
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "clients"), str(ROOT)]),
    }
    env.pop("AI_GATEWAY", None)
    command = [sys.executable, "-m", "pytest", "-q", "-p", "peer_native_plugin", "-p", "no:cacheprovider"]
    command += ["-o", "addopts=", "-k", "not reject_busy or text", f"--junitxml={report}", *SELECTED]
    run = subprocess.run(command, cwd=sdist, env=env, capture_output=True, text=True, timeout=900)
    cases = list(ET.parse(report).iter("testcase"))
    outcomes = {f"{c.get('classname')}::{c.get('name')}": next((k.tag for k in c), "passed") for c in cases}
    failed = sorted(name for name, outcome in outcomes.items() if outcome in ("failure", "error"))
    assert not failed, f"{len(failed)} failed:\n" + "\n".join(failed) + run.stdout[-3000:]
    passed = [name for name, outcome in outcomes.items() if outcome == "passed"]
    assert len(passed) >= 10, run.stdout[-3000:]
