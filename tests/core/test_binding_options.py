"""The binding path carries a request's query as ``env.AI.run``'s options (issue #25, item 12).

``aqueue`` sends ``POST .../ai/run/{model}?queueRequest=true``; on the binding path that is
``env.AI.run(model, inputs, {queueRequest: true})``, as workerd's ai-api.ts takes it (``run(model,
inputs, options = {})`` posts ``{inputs, options}``; @cloudflare/workers-types' ``AiOptions`` documents
``queueRequest?: boolean``, "Send requests as an asynchronous batch job"). It was dropped, so a batch
was run as a direct request. A query the binding cannot carry is refused, not dropped. The stand-ins
here record each call's arguments; tests/pyodide proves the same against the emulator and workerd.
"""

from __future__ import annotations

from typing import Any

import pytest

from workersai import WorkersAI
from workersai.errors import BindingUnsupported

EMBED = "@cf/baai/bge-small-en-v1.5"


class RecordingAI:
    """``env.AI`` answering in the Batch API's shapes, recording each call's arguments."""

    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def run(self, model: str, inputs: Any, *options: Any) -> Any:
        self.calls.append((model, inputs, *options))
        if "requests" in inputs:
            return {"status": "queued", "request_id": "req-1", "model": model}
        if "request_id" in inputs:
            data = [[0.5, 0.25]]
            return {"responses": [{"id": 0, "success": True, "result": {"data": data, "shape": [1, 2]}}]}
        return {"data": [[0.5, 0.25]], "shape": [1, 2]}


async def test_aqueue_and_its_polls_pass_queue_request_as_the_run_options() -> None:
    ai = RecordingAI()
    client = WorkersAI(binding=ai)
    job = await client.aqueue(EMBED, [{"text": ["hello"]}])
    assert job.request_id == "req-1"
    assert ai.calls[0] == (EMBED, {"requests": [{"text": ["hello"]}]}, {"queueRequest": True})
    responses = await job.await_(poll_interval=0)
    assert responses[0].result["data"] == [[0.5, 0.25]]
    assert ai.calls[1] == (EMBED, {"request_id": "req-1"}, {"queueRequest": True})


async def test_a_direct_run_passes_no_options() -> None:
    ai = RecordingAI()
    assert await WorkersAI(binding=ai).aembed(["hello"], model=EMBED) == [[0.5, 0.25]]
    assert ai.calls == [(EMBED, {"text": ["hello"]})]  # run(model, inputs), as before


async def test_a_query_the_binding_cannot_carry_is_refused_not_dropped() -> None:
    ai = RecordingAI()
    client = WorkersAI(binding=ai)
    with pytest.raises(BindingUnsupported, match="no option for the query parameter"):
        await client.transport.arequest("POST", client.run_url(EMBED), json={"text": "x"}, params={"x": "1"})
    with pytest.raises(BindingUnsupported, match="query parameters"):
        await client.transport.arequest(
            "POST", client.account_url("vectorize/v2/indexes/docs/query"), json={}, params={"x": "1"}
        )
    assert ai.calls == []
