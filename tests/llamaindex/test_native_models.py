"""Clef and Clairic through LlamaIndex (issue #32), over HTTP against the emulator (its extractive
fallback): ``structured_predict`` and a program over a pydantic class, sync and async, and the Clef node
postprocessor that labels or filters retrieved nodes."""

from __future__ import annotations

import datetime as dt
from typing import Literal

import pytest
from llama_index.core.prompts import PromptTemplate
from llama_index.core.schema import NodeWithScore, QueryBundle, TextNode
from pydantic import BaseModel

from llamaindex_workersai import WorkersAIDecisionFilter, WorkersAINative, WorkersAINativeProgram
from workersai import WorkersAI

INVOICE = "Invoice INV-2291 from Northwind Supply, issued 2026-09-02. Total $1080.00."


class Facts(BaseModel):
    number: str
    issued: dt.date
    total: float
    paid: bool
    queue: Literal["fast", "slow"]


def check(facts: Facts) -> None:
    assert (facts.number, facts.issued, facts.total) == ("INV-2291", dt.date(2026, 9, 2), 1080)
    assert isinstance(facts.paid, bool) and facts.queue in ("fast", "slow")


def test_structured_predict(client: WorkersAI) -> None:
    llm = WorkersAINative(client=client)
    check(llm.structured_predict(Facts, PromptTemplate("Read this: {text}"), text=INVOICE))


async def test_astructured_predict(client: WorkersAI) -> None:
    llm = WorkersAINative(client=client)
    check(await llm.astructured_predict(Facts, PromptTemplate("{text}"), text=INVOICE))


async def test_program(client: WorkersAI) -> None:
    program = WorkersAINativeProgram(Facts, client)
    assert program.output_cls is Facts
    check(program(state=INVOICE))
    check(await program.acall(state=INVOICE))


def test_complete_says_these_models_generate_no_text(client: WorkersAI) -> None:
    with pytest.raises(NotImplementedError, match="structured_predict"):
        WorkersAINative(client=client).complete("hi")


def nodes() -> list[NodeWithScore]:
    texts = ["Checkout fails for every customer.", "The office plants were watered."]
    return [NodeWithScore(node=TextNode(text=t), score=0.5) for t in texts]


def test_decision_filter_labels_nodes(client: WorkersAI) -> None:
    severity = {"type": "choice", "instructions": "Severity?", "criteria": {"low": "Low", "high": "High"}}
    labeller = WorkersAIDecisionFilter(client=client, mode="label", questions={"severity": severity})
    out = labeller.postprocess_nodes(nodes(), QueryBundle("Is checkout broken?"))
    assert len(out) == 2
    for node in out:
        assert set(node.node.metadata["clef"]) == {"relevant", "severity"}


async def test_decision_filter_filters_nodes(client: WorkersAI) -> None:
    everything = WorkersAIDecisionFilter(client=client, threshold=0.0)
    kept = await everything.apostprocess_nodes(nodes(), QueryBundle("Is checkout broken?"))
    assert len(kept) == 2 and all(0 <= (n.score or 0) <= 1 for n in kept)
    assert (
        await WorkersAIDecisionFilter(client=client, threshold=1.0).apostprocess_nodes(
            nodes(), QueryBundle("Is checkout broken?")
        )
        == []
    )
