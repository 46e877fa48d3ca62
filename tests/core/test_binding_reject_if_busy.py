"""``reject_if_busy`` on the binding path: ``rejectIfBusy`` travels in ``env.AI.run``'s third argument,
never in the model's inputs (developers.cloudflare.com/workers-ai/features/reject-if-busy/: "The binding
only applies this option from the third argument"). The binding is a stand-in that records its calls, as
in test_binding.py."""

from __future__ import annotations

from typing import Any

from workersai import WorkersAI


class RecordingAI:
    def __init__(self) -> None:
        self.calls: list[tuple[Any, ...]] = []

    async def run(self, model: str, inputs: Any, *options: Any) -> Any:
        self.calls.append((model, inputs, *options))
        return {"response": "ok"}


async def test_reject_if_busy_is_the_third_argument() -> None:
    ai = RecordingAI()
    client = WorkersAI(binding=ai)
    await client.with_options(reject_if_busy=True).achat("hi", model="@cf/meta/llama-3.1-8b-instruct")
    _, inputs, options = ai.calls[0]
    assert "options" not in inputs
    assert options == {"rejectIfBusy": True}


async def test_without_it_run_takes_two_arguments() -> None:
    ai = RecordingAI()
    await WorkersAI(binding=ai).achat("hi", model="@cf/meta/llama-3.1-8b-instruct")
    assert len(ai.calls[0]) == 2
