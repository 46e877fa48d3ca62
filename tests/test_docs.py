"""The docs pages hold what they promise: the Testing page's suite passes as a reader's own would, the
emulator page lists every flag of ``workersai-local``, and the README's links lead to pages that exist.

The site itself is built by ``make docs`` (``mkdocs build --strict``, part of ``make test``): a broken
link, anchor or docstring reference fails there."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

from workersai.local.install import cache_dir

pytest_plugins = ["pytester"]

ROOT = Path(__file__).parent.parent
DOCS = ROOT / "docs"
WEIGHTS_CACHE = cache_dir().parent
"""Where install-models unpacked the weights, read before any test moves ``HOME``."""
FILE_BLOCK = re.compile(r'```python title="([^"]+)"\n(.*?)```', re.DOTALL)


def test_the_testing_page_suite_passes(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """The conftest.py and tests of docs/testing.md, written out as a reader would, pass under pytest
    with the plugin: the scripted agent, the recorded requests and the faults they show do what the
    page says. Pytester points ``HOME`` at its temporary folder, so the cache ``install-models``
    unpacked the weights into is named explicitly; only the plugins the page needs are loaded."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(WEIGHTS_CACHE))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    files = dict(FILE_BLOCK.findall((DOCS / "testing.md").read_text()))
    assert set(files) == {"conftest.py", "test_agent.py", "test_ingestion.py", "test_faults.py"}
    for name, text in files.items():
        pytester.path.joinpath(name).write_text(text)
    pytester.makeini("[pytest]\nasyncio_mode = auto\nasyncio_default_fixture_loop_scope = function\n")
    plugins = ["-p", "workersai.local.pytest_plugin", "-p", "pytest_asyncio.plugin"]
    result = pytester.runpytest_subprocess(*plugins, "-p", "no:cacheprovider", "-q")
    result.assert_outcomes(passed=7)


def test_the_emulator_page_lists_every_flag() -> None:
    page = (DOCS / "emulator.md").read_text()
    options = emulator_help().split("options:", 1)[1].split("commands:", 1)[0]
    flags = set(re.findall(r"^  (--[a-z][a-z-]+)", options, re.MULTILINE)) - {"--help"}
    assert len(flags) >= 20, options
    missing = sorted(f for f in flags if f"`{f}" not in page)
    assert not missing, f"docs/emulator.md does not list {missing}"


def emulator_help() -> str:
    """``workersai-local --help``, as printed."""
    from workersai.local import cli

    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit):
        cli.parse_args(["--help"])
    return out.getvalue()


def test_readme_links_lead_to_pages() -> None:
    readme = (ROOT / "README.md").read_text()
    links = re.findall(r"\]\((docs/[^)#]+)", readme)
    assert len(links) >= 10
    for link in links:
        assert (ROOT / link).is_file(), link
    nav = (ROOT / "mkdocs.yml").read_text()
    for page in DOCS.rglob("*.md"):
        assert str(page.relative_to(DOCS)) in nav, f"{page} is not in mkdocs.yml's nav"
