"""The README's Python examples run as written, against a local emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from workersai.local import LocalEmulator

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture(autouse=True)
def _local_tokenizer() -> Iterator[None]:
    from llama_index.core import Settings

    saved = Settings._tokenizer
    yield
    Settings._tokenizer = saved


def test_readme_python_blocks_run(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)
    assert len(blocks) >= 2
    with LocalEmulator() as emu:
        for key, value in emu.env().items():
            monkeypatch.setenv(key, value)
        namespace: dict[str, object] = {}
        for block in blocks:
            exec(compile(block, str(README), "exec"), namespace)
    out = capsys.readouterr().out
    assert "Vectorize stores embeddings." in out
    assert (
        out.count("Vectorize is Cloudflare's vector database.") >= 2
    )  # the LangChain and LlamaIndex answers
