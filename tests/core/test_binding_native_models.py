"""``decide`` / ``extract`` through a Worker's ``env.AI`` binding (issue #32): the Clef and Clairic bodies
go to ``env.AI.run(model, inputs, options)`` as they go over REST, ``rejectIfBusy`` in the third
argument. The binding here is a stand-in that forwards each call to the emulator over HTTP and records
it, so the answers are the emulator's."""

from __future__ import annotations

from typing import Any

import httpx

from workersai import WorkersAI
from workersai.local import LocalEmulator


class ForwardingAI:
    """``env.AI`` as the emulator answers it: ``run`` posts the inputs to ``/ai/run/{model}``."""

    def __init__(self, emulator: LocalEmulator) -> None:
        self.emulator, self.calls = emulator, []  # type: ignore[var-annotated]

    async def run(self, model: str, inputs: Any, *options: Any) -> Any:
        self.calls.append((model, inputs, *options))
        url = f"{self.emulator.base_url}/accounts/{self.emulator.account_id}/ai/run/{model}"
        async with httpx.AsyncClient(timeout=60) as http:
            answer = await http.post(
                url, json=inputs, headers={"Authorization": f"Bearer {self.emulator.token}"}
            )
        return answer.json()["result"]


async def test_decide_and_extract_through_the_binding(emulator: LocalEmulator) -> None:
    ai = ForwardingAI(emulator)
    client = WorkersAI(binding=ai).with_options(reject_if_busy=True)
    question = {"urgent": {"type": "noul", "instructions": "Is this urgent?"}}
    decision = await client.adecide("Checkout is down for everyone.", question)
    extraction = await client.aextract("Shipped on 2026-03-04.", {"shipped": {"type": "date"}})
    assert set(decision.answers) == {"urgent"} and decision.input_tokens > 0
    assert extraction.values == {"shipped": "2026-03-04"}
    (model, inputs, options), (model2, inputs2, _) = ai.calls
    assert model == "@cf/cloudflare/clef-flash" and inputs["model"] == "clef-flash"
    assert inputs["questions"] == question and "options" not in inputs
    assert options == {"rejectIfBusy": True}
    assert model2 == "@cf/cloudflare/clairic" and inputs2["fields"] == {"shipped": {"type": "date"}}
