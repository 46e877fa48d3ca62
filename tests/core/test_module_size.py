"""No module of the core package grows past 600 lines (issue #27): a module that does is split by what
it holds, as ``workersai/client.py`` was into :mod:`workersai.resources`."""

from __future__ import annotations

from pathlib import Path

import workersai

LIMIT = 600


def test_no_core_module_is_over_600_lines() -> None:
    root = Path(workersai.__file__).parent
    sizes = {
        str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")
    }
    assert {name: n for name, n in sizes.items() if n > LIMIT} == {}
