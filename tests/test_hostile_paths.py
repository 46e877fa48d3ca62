"""The reported escape over real HTTP (issue #25, item 1): ``delete_item("docs", "../../victim")`` sent
``DELETE .../instances/victim`` and the emulator deleted the instance ``victim``. Fails on 9d8d072."""

from __future__ import annotations

import uuid

import pytest

from workersai import BadInput, NotFound, WorkersAI
from workersai.local import LocalEmulator

from .conftest import RequestLog


def test_an_item_id_with_dot_segments_never_reaches_another_instance(
    emulator: LocalEmulator, logged_client: WorkersAI, request_log: RequestLog
) -> None:
    victim = f"victim-{uuid.uuid4().hex[:8]}"
    ai = logged_client.ai_search
    ai.create_instance(victim)
    try:
        request_log.requests.clear()
        with pytest.raises(BadInput):
            ai.delete_item("docs", f"../../{victim}")
        with pytest.raises(BadInput):
            ai.delete_item(victim, "..")  # would be the instance itself
        assert request_log.requests == []
        # An odd id the service could have assigned stays one segment, answered by the items route.
        with pytest.raises(NotFound, match="item"):
            ai.delete_item(victim, "x?y#z %2e")
        assert request_log.requests[-1].url.raw_path.endswith(b"/items/x%3Fy%23z%20%252e")
        assert ai.get_instance(victim).id == victim
    finally:
        ai.delete_instance(victim)
