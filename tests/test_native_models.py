"""Clef decisions and Clairic extraction (issue #32): ``decide`` / ``extract`` over HTTP against the
emulator, sync and async; every limit checked before any request, and refused by the emulator too."""

from __future__ import annotations

import base64

import httpx
import pytest

from tests.conftest import RequestLog
from tests.pyodide.scenarios import FIELDS, INVOICE, QUESTIONS, TICKET
from workersai import (
    BadInput,
    Decision,
    Extraction,
    LimitExceeded,
    UnsupportedInput,
    WorkersAI,
    track_usage,
)
from workersai.catalog import DECISION, EXTRACTION, get_model
from workersai.decisions import DecisionRequest
from workersai.errors import ResponseFormatError
from workersai.extraction import ExtractionRequest
from workersai.local import LocalEmulator

WAV = "data:audio/wav;base64,UklG"
GIF = "data:image/gif;base64,R0lG"
REMOTE = "https://example.com/a.png"
PNG = "data:image/png;base64," + base64.b64encode(b"\x89PNG\r\n\x1a\n").decode()
# The same ticket, questions and invoice as the Pyodide scenarios (scenarios.py imports nothing of ours,
# so it holds them).
STATE = TICKET["ticket"]


def check_decision(decision: Decision) -> None:
    assert decision.model == "clef-flash"
    assert set(decision.answers) == set(QUESTIONS)
    assert 0 <= decision["urgent"].noul <= 1  # type: ignore[operator]
    assert isinstance(decision["urgent"].value, bool)
    team = decision["team"]
    assert set(team.probabilities) == {"billing", "technical"}
    assert sum(team.probabilities.values()) == pytest.approx(1, abs=5e-4)
    assert team.choice == max(team.probabilities, key=team.probabilities.__getitem__)
    severity = decision["severity"]
    assert severity.legend == {"0": "minor", "1": "major", "2": "critical"}
    expected = sum(int(level) * p for level, p in severity.probabilities.items())
    assert severity.score == pytest.approx(expected, abs=2e-3)
    assert decision.input_tokens > 0 and decision.output_tokens == 0
    assert decision.neurons == pytest.approx(decision.input_tokens * 8182 / 1e6)


def check_extraction(extraction: Extraction) -> None:
    assert extraction.model == "clairic" and extraction.truncated is False
    assert set(extraction.answers) == set(FIELDS)
    number = extraction["invoice_number"]
    assert number.value == "INV-2291" and number.span is not None
    assert INVOICE[slice(*number.span)] == number.value
    assert extraction.values["issued"] == "2026-09-02"
    assert extraction.values["total"] == 1080
    assert "Dana Ruiz" in extraction.values["contacts"]
    assert all(INVOICE[a:b] in extraction.values["contacts"] for a, b in extraction["contacts"].spans)
    assert extraction.input_tokens > 0 and extraction.output_tokens == 0
    assert extraction.neurons is None  # no price found for Clairic: unknown, never free


def test_the_catalog_knows_the_four_models() -> None:
    for name in ("@cf/cloudflare/clef", "@cf/cloudflare/clef-flash", "@cf/cloudflare/clef-omni"):
        info = get_model(name)
        assert info is not None and info.family == DECISION and info.context_window
    clairic = get_model("@cf/cloudflare/clairic")
    assert clairic is not None and clairic.family == EXTRACTION


def test_decide(client: WorkersAI) -> None:
    with track_usage() as usage:
        decision = client.decide(STATE, QUESTIONS)
    check_decision(decision)
    assert usage.total_neurons == pytest.approx(decision.neurons)


async def test_adecide(client: WorkersAI) -> None:
    check_decision(await client.adecide({"ticket": STATE, "customer": "ACME"}, QUESTIONS))


def test_extract(client: WorkersAI) -> None:
    check_extraction(client.extract(INVOICE, FIELDS, options={"return_state_text": True}))


async def test_aextract(client: WorkersAI) -> None:
    extraction = await client.aextract(INVOICE, FIELDS, reference_date="2026-12-01")
    check_extraction(extraction)
    assert extraction.state_text is None


def test_a_value_the_state_lacks_is_none(client: WorkersAI) -> None:
    answer = client.extract("No dates here.", {"due": {"type": "date"}})["due"]
    assert answer.value is None and answer.p_null is not None and answer.p_null > 0.5


def test_the_fallback_is_labelled(emulator: LocalEmulator) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/@cf/cloudflare/clef-flash"
    body = {"model": "clef-flash", "state": STATE, "questions": {"urgent": QUESTIONS["urgent"]}}
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=30)
    assert response.status_code == 200
    assert response.headers["x-local-answer"] == "extractive-fallback"


def many(n: int) -> dict[str, dict[str, object]]:
    return {f"q{i}": {"type": "noul", "instructions": "?"} for i in range(n)}


def choice(n: int) -> dict[str, dict[str, object]]:
    return {"c": {"type": "choice", "instructions": "?", "criteria": {f"o{i}": str(i) for i in range(n)}}}


def score(n: int) -> dict[str, dict[str, object]]:
    return {"s": {"type": "score", "instructions": "?", "criteria": [str(i) for i in range(n)]}}


BAD_DECISIONS = [
    pytest.param(many(65), {}, LimitExceeded, "64", id="65-questions"),
    pytest.param({}, {}, LimitExceeded, "1 to 64", id="no-question"),
    pytest.param(choice(256), {}, LimitExceeded, "255", id="256-options"),
    pytest.param(choice(1), {}, LimitExceeded, "2 to 255", id="1-option"),
    pytest.param(score(11), {}, LimitExceeded, "2 to 10", id="11-levels"),
    pytest.param({"q": {"type": "rank"}}, {}, UnsupportedInput, "rank", id="unknown-type"),
    pytest.param(many(1), {"images": [REMOTE]}, UnsupportedInput, "remote", id="remote-url"),
    pytest.param(many(1), {"images": [GIF]}, UnsupportedInput, "image/gif", id="gif"),
    pytest.param(many(1), {"audio": [WAV]}, UnsupportedInput, "clef-omni", id="audio"),
]


@pytest.mark.parametrize(("questions", "media", "error", "names"), BAD_DECISIONS)
def test_bad_decisions_raise_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, questions: dict, media: dict, error: type, names: str
) -> None:
    with pytest.raises(error, match=names):
        logged_client.decide(STATE, questions, **media)
    assert request_log.requests == []


async def test_bad_decisions_raise_before_any_request_async(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    with pytest.raises(LimitExceeded) as caught:
        await logged_client.adecide(STATE, many(65))
    assert (caught.value.limit, caught.value.given) == (64, 65)
    assert request_log.requests == []


BAD_EXTRACTIONS = [
    pytest.param({"f": {"type": "money"}}, {}, UnsupportedInput, "money", id="unknown-field-type"),
    pytest.param({"f": {"type": "list", "items": "object"}}, {}, UnsupportedInput, "items", id="list-items"),
    pytest.param(FIELDS, {"images": [PNG] * 5}, LimitExceeded, "at most 4", id="fifth-image"),
    pytest.param(FIELDS, {"images": [REMOTE]}, UnsupportedInput, "remote", id="remote-url"),
    pytest.param(FIELDS, {"reference_date": "tomorrow"}, BadInput, "YYYY-MM-DD", id="reference-date"),
    pytest.param(
        {"f": {"null_threshold": 2, "type": "text"}}, {}, BadInput, "null_threshold", id="threshold"
    ),
]


@pytest.mark.parametrize(("fields", "extra", "error", "names"), BAD_EXTRACTIONS)
async def test_bad_extractions_raise_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, fields: dict, extra: dict, error: type, names: str
) -> None:
    with pytest.raises(error, match=names):
        logged_client.extract(INVOICE, fields, **extra)
    with pytest.raises(error, match=names):
        await logged_client.aextract(INVOICE, fields, **extra)
    assert request_log.requests == []


def test_four_images_are_taken(client: WorkersAI) -> None:
    extraction = client.extract(INVOICE, {"n": {"type": "text"}}, images=[PNG] * 4)
    assert extraction.raw["usage"]["image_tokens"] > 0


@pytest.mark.parametrize(
    ("model", "body", "message"),
    [
        ("clef-flash", {"model": "clef-flash", "state": "s", "questions": many(65)}, "64"),
        ("clef-flash", {"model": "clef-flash", "state": "s", "questions": score(11)}, "2 to 10"),
        ("clairic", {"model": "clairic", "state": "s", "fields": {"f": {"type": "money"}}}, "money"),
        ("clairic", {"model": "clairic", "state": "s", "fields": FIELDS, "images": [PNG] * 5}, "at most 4"),
        ("clairic", {"state": "s", "fields": FIELDS}, "'/model'"),
    ],
)
def test_the_emulator_refuses_what_the_service_refuses(
    emulator: LocalEmulator, model: str, body: dict, message: str
) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/@cf/cloudflare/{model}"
    response = httpx.post(url, json=body, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=30)
    assert response.status_code == 400
    error = response.json()["errors"][0]
    assert error["code"] == 5006 and message in error["message"]


@pytest.mark.parametrize(
    ("build", "result", "message"),
    [
        ("decide", [], "Clef answer has no 'answers' object: list"),
        ("decide", {"answers": {}}, "Clef answer has no answer for question 'urgent'"),
        ("extract", None, "Clairic answer has no 'answers' object: NoneType"),
        ("extract", {"answers": {"other": {}}}, "Clairic answer has no answer for field 'city'"),
    ],
)
def test_an_answer_missing_a_key_is_a_format_error(build: str, result: object, message: str) -> None:
    """The answer reading Clef and Clairic share (``NativeRequest``), on answers built by hand."""
    if build == "decide":
        request = DecisionRequest.build(STATE, {"urgent": QUESTIONS["urgent"]}, use_catalog=False)
    else:
        request = ExtractionRequest.build(STATE, {"city": {"type": "text"}}, use_catalog=False)
    with pytest.raises(ResponseFormatError, match=message):
        request.parse(result)
