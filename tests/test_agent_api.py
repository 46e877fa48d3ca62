"""LangGraph's ``create_react_agent`` is deprecated (langgraph 1.x: "create_react_agent has been moved to
``langchain.agents``"); the pages, examples and tests use LangChain 1.x's ``langchain.agents.create_agent``,
and the ``dev`` extra installs ``langchain`` for it (issue #28, item 6)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
USES = re.compile(r"\bcreate_react_agent\s*\(|import\s+(?:\(\s*)?create_react_agent\b")
"""A call or an import of it (a page may still name it as what ``create_agent`` replaces)."""


def test_no_page_example_or_test_uses_the_deprecated_agent() -> None:
    files = [ROOT / "README.md", *ROOT.glob("docs/**/*.md")]
    for folder in ("examples", "tests", "benchmarks", "workersai", "langchain_workersai"):
        files += (ROOT / folder).rglob("*.py")
    assert [str(p.relative_to(ROOT)) for p in files if USES.search(p.read_text(encoding="utf-8"))] == []


def test_the_dev_extra_installs_langchain_for_create_agent() -> None:
    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    extras = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    assert "langchain" in {Requirement(r).name for r in extras["dev"]}
    from langchain.agents import create_agent  # the dev environment has it

    assert callable(create_agent)
