"""The client's Batch API checks against the emulator's answers: for submissions around the rules
(empty, items of the wrong type, references of the wrong type, near the 10 MB limit), the client
refuses before sending exactly what the emulator (its own statement of the rules) refuses."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai import BadInput
from workersai.batch import MAX_BATCH_PAYLOAD_BYTES, submission_body
from workersai.local import LocalEmulator

MODEL = "@cf/baai/bge-small-en-v1.5"
# A long reference rather than a long text: the emulator does not embed it.
NEAR = MAX_BATCH_PAYLOAD_BYTES - len(b'{"requests":[{"text":"x","external_reference":""}]}')

CASES: list[Any] = [
    [],
    [{"text": "x"}],
    ["x"],
    [None],
    [{"text": "x", "external_reference": "ref"}],
    [{"text": "x", "external_reference": 1}],
    [{"text": "x", "external_reference": None}],
    [{"text": "x", "external_reference": "a" * NEAR}],
    [{"text": "x", "external_reference": "a" * (NEAR + 1)}],
]


@pytest.fixture(scope="module")
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as client:
        yield client


@pytest.mark.parametrize("requests", CASES, ids=range(len(CASES)))
def test_client_and_emulator_agree(http: httpx.Client, emulator: LocalEmulator, requests: Any) -> None:
    try:
        body = submission_body(requests)
        client_accepts = True
    except BadInput:
        client_accepts = False
        body = httpx.Request("POST", "/", json={"requests": requests}).content
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/{MODEL}"
    headers = {"Content-Type": "application/json"}
    response = http.post(url, params={"queueRequest": "true"}, content=body, headers=headers)
    assert response.status_code in (200, 400, 413), response.text
    assert (response.status_code == 200) == client_accepts, response.text[:300]
