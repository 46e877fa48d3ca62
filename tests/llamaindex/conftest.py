"""Every LlamaIndex test runs with LlamaIndex's global settings kept local (tests/conftest.py)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _llamaindex_settings(local_llamaindex_settings: None) -> None:
    """Applies ``local_llamaindex_settings`` to every test here."""
