"""``WorkersAIDecisionModel`` and ``WorkersAIExtractionModel`` (issue #32) over HTTP against the emulator
(its extractive fallback: shapes and round trips, not judgement): Runnables sync, async and batched with
usage metadata, native structured output from a pydantic class, and ``create_agent(response_format=)``."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Literal

import pytest
from langchain.agents import create_agent
from langchain.agents.structured_output import ProviderStrategy, ToolStrategy
from langchain_core.tools import tool
from pydantic import BaseModel, Field

from langchain_workersai import WorkersAIDecisionModel, WorkersAIExtractionModel
from workersai import UnsupportedInput, WorkersAI

INVOICE = "Invoice INV-2291 from Northwind Supply, issued 2026-09-02. Total $1080.00. Contact: Dana Ruiz."


class Team(str, enum.Enum):
    billing = "billing"
    technical = "technical"


class Invoice(BaseModel):
    number: str = Field(description="The invoice number")
    issued: dt.date
    total: float
    contacts: list[str]


class Review(BaseModel):
    invoice: Invoice
    paid: bool = Field(description="Does the text say it is paid?")
    team: Team
    queue: Literal["fast", "slow"]


def check(review: Review) -> None:
    assert review.invoice.number == "INV-2291" and review.invoice.issued == dt.date(2026, 9, 2)
    assert review.invoice.total == 1080 and "Dana Ruiz" in review.invoice.contacts
    assert isinstance(review.paid, bool) and review.team in Team and review.queue in ("fast", "slow")


@pytest.fixture
def extraction(client: WorkersAI) -> WorkersAIExtractionModel:
    return WorkersAIExtractionModel(client=client, fields={"total": {"type": "number"}})


@pytest.fixture
def decision(client: WorkersAI) -> WorkersAIDecisionModel:
    return WorkersAIDecisionModel(
        client=client, questions={"urgent": {"type": "noul", "instructions": "Urgent?"}}
    )


def test_invoke_answers_the_configured_fields(extraction: WorkersAIExtractionModel) -> None:
    message = extraction.invoke(INVOICE)
    assert message.content == '{"total": 1080}'
    assert message.usage_metadata is not None and message.usage_metadata["input_tokens"] > 0
    assert message.response_metadata["native"]["model"] == "clairic"


async def test_ainvoke_and_batch(decision: WorkersAIDecisionModel) -> None:
    message = await decision.ainvoke("Checkout is down for everyone.")
    assert message.content in ('{"urgent": true}', '{"urgent": false}')
    assert message.usage_metadata is not None and message.response_metadata["neurons"] > 0
    assert len(decision.batch(["a", "b"])) == 2
    assert len(await decision.abatch(["a", "b"])) == 2


def test_typed_calls(extraction: WorkersAIExtractionModel, decision: WorkersAIDecisionModel) -> None:
    assert extraction.extract(INVOICE).values == {"total": 1080}
    assert set(decision.decide("Checkout is down.").answers) == {"urgent"}


async def test_typed_calls_async(
    extraction: WorkersAIExtractionModel, decision: WorkersAIDecisionModel
) -> None:
    assert (await extraction.aextract(INVOICE, {"n": {"type": "text"}})).values == {"n": "INV-2291"}
    assert (await decision.adecide("Checkout is down.")).input_tokens > 0


def test_with_structured_output(extraction: WorkersAIExtractionModel) -> None:
    check(extraction.with_structured_output(Review).invoke(INVOICE))


async def test_with_structured_output_async_and_raw(decision: WorkersAIDecisionModel) -> None:
    answer = await decision.with_structured_output(Review, include_raw=True).ainvoke(INVOICE)
    check(answer["parsed"])
    assert set(answer["raw"].response_metadata["native"]) == {"extraction", "decision"}
    assert answer["raw"].usage_metadata["input_tokens"] > 0


@pytest.mark.parametrize("strategy", ["auto", "provider", "tool"])
def test_create_agent_response_format(extraction: WorkersAIExtractionModel, strategy: str) -> None:
    response_format = {"auto": Review, "provider": ProviderStrategy(Review), "tool": ToolStrategy(Review)}
    agent = create_agent(model=extraction, tools=[], response_format=response_format[strategy])
    result = agent.invoke({"messages": [{"role": "user", "content": INVOICE}]})
    check(result["structured_response"])


async def test_create_agent_async(decision: WorkersAIDecisionModel) -> None:
    agent = create_agent(model=decision, tools=[], response_format=Review)
    result = await agent.ainvoke({"messages": [{"role": "user", "content": INVOICE}]})
    check(result["structured_response"])


def test_executable_tools_are_refused(decision: WorkersAIDecisionModel) -> None:
    @tool
    def lookup(order: str) -> str:
        """Look an order up."""
        return order

    with pytest.raises(UnsupportedInput, match="do not call tools"):
        decision.bind_tools([lookup])


def test_an_unsupported_schema_is_refused_before_any_request(extraction: WorkersAIExtractionModel) -> None:
    class Open(BaseModel):
        extra: dict[str, str]

    with pytest.raises(UnsupportedInput, match="extra"):
        extraction.with_structured_output(Open)


def test_structured_output_uses_the_models_own_model(client: WorkersAI) -> None:
    """A model's own ``model`` answers its half of a structured answer; the companion the other half."""
    decision = WorkersAIDecisionModel(client=client, model="@cf/cloudflare/clef")
    extraction = WorkersAIExtractionModel(client=client, decision_model="@cf/cloudflare/clef")
    schema = Review.model_json_schema()
    for plan in (decision._plan(schema), extraction._plan(schema)):
        assert (plan.extraction_model, plan.decision_model) == (
            "@cf/cloudflare/clairic",
            "@cf/cloudflare/clef",
        )
