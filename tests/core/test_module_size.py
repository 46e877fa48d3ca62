"""No module of the three packages (the emulator included) grows past 600 lines (issue #27): a module
that does is split by what it holds, as ``workersai/client.py`` was into :mod:`workersai.resources` and
``workersai/chat.py`` into requests (``chat.py``) and answers (``chat_answers.py``)."""

from __future__ import annotations

from pathlib import Path

import langchain_workersai
import llamaindex_workersai
import workersai

LIMIT = 600


def test_no_module_is_over_600_lines() -> None:
    sizes = {}
    for package in (workersai, langchain_workersai, llamaindex_workersai):
        root = Path(package.__file__).parent
        for p in root.rglob("*.py"):
            sizes[str(p.relative_to(root.parent))] = len(p.read_text(encoding="utf-8").splitlines())
    assert len(sizes) > 100
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
