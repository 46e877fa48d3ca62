"""Every example runs, against the local emulator, as a user would run it.

examples/python_worker (a Python Worker on env.AI / env.VECTORIZE) runs in the Workers runtime only; its
handler's work (src/rag.py) runs under Pyodide with emulated bindings in tests/pyodide."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from workersai.local import LocalEmulator

EXAMPLES = Path(__file__).parent.parent / "examples"


@pytest.mark.parametrize(
    "script", sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
)
def test_example_runs(script: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    # The demo (`make demo`) answers with the language model; the others need no language model and
    # run with the fast extractive generator.
    env["WORKERSAI_LOCAL_GENERATOR"] = "auto" if script == "quickstart.py" else "extractive"
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "using the local emulator" in done.stdout
    if script == "quickstart.py":
        answer = done.stdout.split("\nA: ", 1)[1].split("\n\n[", 1)[0]
        assert answer.strip(), answer  # a real answer, by the language model
        assert "Context:" not in answer and "Answer in one sentence" not in answer, answer  # no echo


@pytest.mark.parametrize(
    ("script", "shown"),
    [
        ("retry.py", "answer after 3 retries"),
        ("model_fallback.py", "answered by @cf/meta/llama-3.2-3b-instruct"),
    ],
)
def test_retry_examples_show_retries_against_an_emulator_named_in_the_environment(
    emulator: LocalEmulator, script: str, shown: str
) -> None:
    """Pointed at a running emulator through CLOUDFLARE_* (as a user of `workersai-local` does), the
    examples still inject their faults and show the retries and the fallback."""
    env = {**os.environ, **emulator.env()}
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"using the emulator at {emulator.url}" in done.stdout
    assert shown in done.stdout
