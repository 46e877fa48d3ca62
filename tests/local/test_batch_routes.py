"""The emulator's Batch API over raw HTTP (no client code in the request path): submission, the
queued -> running -> done statuses, responses in request order with their references, the rules'
refusals, and faults on polls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator

MODEL = "@cf/baai/bge-small-en-v1.5"
QUEUE = {"queueRequest": "true"}


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run"
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        yield client
    emulator.hold_batches(None)


def ok(response: httpx.Response) -> Any:
    body = response.json()
    assert response.status_code == 200 and body["success"] is True, body
    return body["result"]


def refused(response: httpx.Response, status: int, code: int) -> str:
    body = response.json()
    assert response.status_code == status and body["success"] is False, body
    assert body["errors"][0]["code"] == code, body
    return str(body["errors"][0]["message"])


def until_done(http: httpx.Client, request_id: str, model: str = MODEL) -> Any:
    for _ in range(6000):  # a guard against a batch that never ends, not a timing assertion
        result = ok(http.post(f"/{model}", params=QUEUE, json={"request_id": request_id}))
        if "responses" in result:
            return result
        time.sleep(0.01)
    raise AssertionError(f"batch {request_id} never finished")


def test_a_batch_is_queued_then_running_then_done_in_request_order(
    http: httpx.Client, emulator: LocalEmulator
) -> None:
    emulator.hold_batches("queued")
    requests = [
        {"text": ["an orange cloud", "a llama"], "external_reference": "story-1"},
        {"text": "a hugging emoji"},
        {"text": ["one", "two", "three"], "external_reference": "story-3"},
    ]
    queued = ok(http.post(f"/{MODEL}", params=QUEUE, json={"requests": requests}))
    assert queued["status"] == "queued" and queued["model"] == MODEL and queued["request_id"]
    poll = {"request_id": queued["request_id"]}
    assert ok(http.post(f"/{MODEL}", params=QUEUE, json=poll))["status"] == "queued"
    emulator.hold_batches("running")
    for _ in range(6000):
        status = ok(http.post(f"/{MODEL}", params=QUEUE, json=poll)).get("status")
        if status == "running":
            break
        assert status == "queued"
        time.sleep(0.01)
    assert status == "running"
    emulator.hold_batches(None)
    done = until_done(http, queued["request_id"])
    responses = done["responses"]
    assert [(r["id"], r["success"], r["external_reference"]) for r in responses] == [
        (0, True, "story-1"),
        (1, True, None),
        (2, True, "story-3"),
    ]
    # Each result is what a direct run of the same request answers.
    for request, response in zip(requests, responses, strict=True):
        body = {"text": request["text"]}
        assert response["result"] == ok(http.post(f"/{MODEL}", json=body))
    assert done["usage"]["prompt_tokens"] > 0
    assert done["usage"]["total_tokens"] == done["usage"]["prompt_tokens"]
    # The results are kept: a second poll answers the same.
    assert until_done(http, queued["request_id"]) == done


def test_a_failing_request_fails_alone(http: httpx.Client) -> None:
    model = "@cf/meta/llama-3.1-8b-instruct-fast"
    requests = [{"prompt": 5, "external_reference": "bad"}, {"prompt": "Say hello", "max_tokens": 16}]
    queued = ok(http.post(f"/{model}", params=QUEUE, json={"requests": requests}))
    bad, good = until_done(http, queued["request_id"], model)["responses"]
    assert bad["success"] is False and bad["external_reference"] == "bad"
    assert bad["result"]["errors"][0]["code"] == 5006
    assert good["success"] is True and isinstance(good["result"]["response"], str)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"requests": []}, "at least one request"),
        ({}, "'requests'"),
        ({"requests": "text"}, "'requests'"),
        ({"requests": ["text"]}, "requests[0] must be an object"),
        ({"requests": [{"text": "x", "external_reference": 1}]}, "external_reference must be a string"),
        ({"request_id": 12}, "'request_id' must be a non-empty string"),
    ],
)
def test_malformed_batches_are_bad_input(http: httpx.Client, body: Any, message: str) -> None:
    assert message in refused(http.post(f"/{MODEL}", params=QUEUE, json=body), 400, 5006)


def test_an_unknown_request_id_is_bad_input(http: httpx.Client) -> None:
    message = refused(http.post(f"/{MODEL}", params=QUEUE, json={"request_id": "no-such-id"}), 400, 5006)
    assert "no-such-id" in message
    queued = ok(http.post(f"/{MODEL}", params=QUEUE, json={"requests": [{"text": "x"}]}))
    other = "@cf/baai/bge-base-en-v1.5"  # a request id is known only for the model it was queued on
    refused(http.post(f"/{other}", params=QUEUE, json={"request_id": queued["request_id"]}), 400, 5006)


def test_a_batch_over_10_mb_is_refused_as_too_large(http: httpx.Client) -> None:
    body = b'{"requests":[{"text":"' + b"a" * 10_000_000 + b'"}]}'
    headers = {"Content-Type": "application/json"}
    refused(http.post(f"/{MODEL}", params=QUEUE, content=body, headers=headers), 413, 3006)


def test_faults_apply_to_polls(http: httpx.Client, emulator: LocalEmulator) -> None:
    queued = ok(http.post(f"/{MODEL}", params=QUEUE, json={"requests": [{"text": "x"}]}))
    emulator.set_faults(error="3040", fail_next=2, retry_after=0)
    for _ in range(2):
        refused(http.post(f"/{MODEL}", params=QUEUE, json={"request_id": queued["request_id"]}), 429, 3040)
    emulator.clear_faults()
    assert until_done(http, queued["request_id"])["responses"][0]["success"] is True
