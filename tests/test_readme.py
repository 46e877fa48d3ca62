"""The README's and the docs pages' Python examples run as written, against a local emulator.

Every ```python block of a page runs, in order, in one namespace per page. A block with a title
(```python title="conftest.py"```) is a file of the reader's own test suite: tests/test_docs.py runs
those with pytest. A ```py block is shown only (it needs what no test here has: a Worker's
``env``, a page on the web, or a file of the reader's own project such as a recording ``conftest.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from workersai.local import LocalEmulator

pytestmark = pytest.mark.usefixtures("local_llamaindex_settings")

ROOT = Path(__file__).parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def blocks(page: Path) -> list[str]:
    return BLOCK.findall(page.read_text())


@pytest.fixture(scope="module")
def emulator_env() -> Iterator[dict[str, str]]:
    with LocalEmulator() as emu:
        yield emu.env()


@pytest.mark.parametrize("page", [p for p in PAGES if blocks(p)], ids=lambda p: str(p.relative_to(ROOT)))
def test_python_blocks_run(
    page: Path,
    emulator_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    for key, value in emulator_env.items():
        monkeypatch.setenv(key, value)
    namespace: dict[str, object] = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for block in blocks(page):
        exec(compile(block, str(page), "exec"), namespace)
    out = capsys.readouterr().out
    expected = {
        "vectorize.md": ["Vectorize stores embeddings."],
        "langchain.md": ["Vectorize is Cloudflare's vector database."],
        "llamaindex.md": ["Vectorize is Cloudflare's vector database."],
        "ai-search.md": ["leave.md", "27"],
        "client.md": ["Vectorize stores embeddings."],  # the reranker's best text
    }
    for text in expected.get(page.name, []):
        assert text in out, (page.name, out)


def test_the_examples_that_prove_the_adapters_are_run() -> None:
    """The pages whose output the test above checks keep their examples (a page that lost its block
    would silently pass)."""
    for name in ("vectorize.md", "langchain.md", "llamaindex.md", "ai-search.md", "client.md"):
        assert blocks(DOCS / name), name
    assert blocks(README), "the README's quickstart"


def test_readme_keeps_the_two_commands() -> None:
    text = README.read_text()
    assert "make demo   # installs into .venv, starts the local emulator" in text
    assert "make test   # installs into .venv" in text


TROUBLESHOOTING = DOCS / "troubleshooting.md"


def test_troubleshooting_quotes_the_messages_as_printed() -> None:
    """Each error the Troubleshooting table quotes is produced here and must read as the table says."""
    from workersai import WorkersAI

    rows = TROUBLESHOOTING.read_text().splitlines()
    quoted = [row.split("`", 2)[1] for row in rows if row.startswith("| `")]

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
