"""The README's Python examples run as written, against a local emulator."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from workersai.local import LocalEmulator

pytestmark = pytest.mark.usefixtures("local_llamaindex_settings")

README = Path(__file__).parent.parent / "README.md"


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


def test_troubleshooting_quotes_the_messages_as_printed() -> None:
    """Each error the Troubleshooting table quotes is produced here and must read as the table says."""
    from workersai import WorkersAI

    section = README.read_text().split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    quoted = [row.split("`", 2)[1] for row in section.splitlines() if row.startswith("| `")]

    def error_of(call: object) -> str:
        try:
            call()  # type: ignore[operator]
        except Exception as exc:
            return f"{type(exc).__name__}: {exc}"
        raise AssertionError("no error")

    with LocalEmulator(generator="extractive") as emu:
        client = emu.client(max_retries=0)
        vz = client.vectorize
        vz.create_index("docs", dimensions=3, metric="cosine")
        wrong_root = emu.base_url.removesuffix("/client/v4")
        seen = [
            error_of(lambda: WorkersAI(account_id="", api_token="t").embed(["x"])),
            error_of(
                lambda: WorkersAI(account_id="a", api_token="wrong", base_url=emu.base_url).embed(["x"])
            ),
            error_of(
                lambda: WorkersAI(account_id="a", api_token=emu.token, base_url=wrong_root).embed(["x"])
            ),
            error_of(lambda: client.chat("hi", model="llama-3")),
            error_of(lambda: list(client.stream_chat("hi", response_format={"type": "json_object"}))),
            error_of(lambda: vz.query("docs", [1.0, 2.0, 3.0], filter={"tags": "pets"})),
            error_of(
                lambda: vz.upsert("docs", [{"id": "a", "values": [1, 2, 3], "metadata": {"t": "x" * 11000}}])
            ),
            error_of(lambda: vz.upsert("docs", [{"id": "a", "values": [1, 2]}])),
            error_of(lambda: vz.create_index("a", dimensions=3, metric="cosine")),
            error_of(lambda: vz.query("nope", [1.0, 2.0, 3.0])),
        ]
    checked = 0
    for message in seen:
        matches = [q for q in quoted if message.startswith(q.removesuffix("...").split("...")[0].strip())]
        assert matches, f"the Troubleshooting table does not quote {message!r}"
        for q in matches:
            for piece in q.split("..."):
                assert piece.strip(" ,:;") in message, (q, message)
        checked += 1
    assert checked == len(seen)
