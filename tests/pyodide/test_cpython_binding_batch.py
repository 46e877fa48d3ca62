"""The Batch API on the binding path, in plain CPython against the emulator: ``aqueue`` reaches the
binding as ``env.AI.run(model, {requests}, {queueRequest: true})`` (pybindings.py forwards the option as
the REST query, as test_workerd_contract.py checks workerd's binding does), so the batch is queued and
polled, not run as a direct request (issue #25, item 12)."""

from __future__ import annotations

from workersai import WorkersAI
from workersai.local import LocalEmulator

from . import pybindings

EMBED = "@cf/baai/bge-small-en-v1.5"
TEXTS = ["Paris is the capital of France.", "The Seine flows through Paris."]


async def test_aqueue_queues_a_batch_through_the_binding(emulator: LocalEmulator, _admin: WorkersAI) -> None:
    client = WorkersAI(binding=pybindings.Ai(emulator.base_url, emulator.account_id, emulator.token))
    job = await client.aqueue(EMBED, [{"text": TEXTS, "external_reference": "docs"}])
    responses = await job.await_(poll_interval=0.02, timeout=600)
    assert [r.external_reference for r in responses] == ["docs"]
    assert responses[0].result["data"] == _admin.embed(TEXTS, model=EMBED)
    assert await client.aembed_batch(TEXTS, model=EMBED, poll_interval=0.02) == _admin.embed(
        TEXTS, model=EMBED
    )
