"""Malformed answers (non-JSON, HTML with status 200, missing or wrong-shaped results) give a typed
error from every public call, never a KeyError, TypeError or AttributeError."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from tests.figures import record
from workersai import ResponseFormatError, WorkersAI
from workersai.local import LocalEmulator

MALFORMED = ["not-json", "html-200", "no-result", "wrong-shape"]

TOOLS = [{"name": "f", "description": "a tool", "parameters": {"type": "object", "properties": {}}}]


def calls(client: WorkersAI, index: str) -> dict[str, Callable[[], Any]]:
    vz = client.vectorize
    return {
        "embed": lambda: client.embed(["x"]),
        "aembed": lambda: asyncio.run(client.aembed(["x"])),
        "chat": lambda: client.chat("hi"),
        "chat-tools": lambda: client.chat("hi", tools=TOOLS),
        "stream": lambda: list(client.stream_chat("hi")),
        "models": lambda: client.models(refresh=True),
        "model_schema": lambda: client.model_schema("@cf/baai/bge-m3", refresh=True),
        "create_index": lambda: vz.create_index(f"m-{uuid.uuid4().hex[:8]}", dimensions=4),
        "get_index": lambda: vz.get_index(index),
        "list_indexes": lambda: vz.list_indexes(),
        "info": lambda: vz.info(index),
        "upsert": lambda: vz.upsert(index, [{"id": "a", "values": [1, 2, 3, 4]}]),
        "query": lambda: vz.query(index, [1, 2, 3, 4]),
        "get_by_ids": lambda: vz.get_by_ids(index, ["a"]),
        "delete_by_ids": lambda: vz.delete_by_ids(index, ["a"]),
        "list_ids": lambda: list(vz.list_ids(index)),
        "metadata_indexes": lambda: vz.list_metadata_indexes(index),
    }


@pytest.mark.parametrize("fault", MALFORMED)
def test_every_call_raises_a_typed_error(emulator: LocalEmulator, fault: str) -> None:
    with emulator.client(max_retries=0) as client:
        index = f"mal-{uuid.uuid4().hex[:8]}"
        client.vectorize.create_index(index, dimensions=4)
        tried = []
        for name, call in calls(client, index).items():
            emulator.set_faults(error=fault, fail_next=1)
            with pytest.raises(ResponseFormatError):
                call()
            tried.append(name)
        emulator.clear_faults()
        client.vectorize.delete_index(index)
    assert len(tried) == 17
    record("malformed answers turned into typed errors", len(tried))
