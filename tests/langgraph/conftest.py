"""A D1 database on the session's emulator for each LangGraph test."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from workersai import WorkersAI


@pytest.fixture
def database(client: WorkersAI) -> Iterator[str]:
    created = client.d1.create_database(f"lg-{uuid.uuid4().hex[:8]}")
    yield created.uuid
    client.d1.delete_database(created.uuid)
