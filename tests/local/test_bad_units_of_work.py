"""One bad unit of work never takes a background task down with it (#25 item 5).

The bodies that used to answer 500 (or kill the Batch API worker, leaving the batch ``running``
forever) are refused 400 in the envelope on direct calls, and answered with their own error entry in a
batch whose other requests are answered. A request that breaks the generator in a way no check foresaw
still fails alone: the worker goes on to the next request and the next batch.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator
from workersai.local import batch_queue as batch_module

MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
GOOD = {"prompt": "Say hello."}
BAD_BODIES = [
    {"prompt": "Say hello.", "stop": [1, 2]},
    {"prompt": "Say hello.", "stop": {"a": 1}},
    {"prompt": "Use the tool.", "tools": [{"name": "f", "description": "d", "parameters": "not a schema"}]},
    {
        "prompt": "Use the tool.",
        "tools": [{"type": "function", "function": {"name": "f", "parameters": [1]}}],
    },
    {"prompt": "Use the tool.", "tools": [{"type": "function", "function": "f"}]},
    {"prompt": "Use the tool.", "tools": ["f"]},
]


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.token}"}
    with httpx.Client(base_url=emulator.url, headers=headers, timeout=60) as client:
        yield client


def run_url(emulator: LocalEmulator, model: str = MODEL) -> str:
    return f"/client/v4/accounts/{emulator.account_id}/ai/run/{model}"


def bad_input(response: httpx.Response) -> None:
    body = response.json()
    assert response.status_code == 400 and body["success"] is False, body
    assert body["errors"][0]["code"] == 5006, body


def until_done(http: httpx.Client, url: str, request_id: str) -> dict[str, Any]:
    """Poll until the batch is done; a batch still unfinished after 400 polls is a dead worker."""
    for _ in range(400):
        result: dict[str, Any] = http.post(
            url, params={"queueRequest": "true"}, json={"request_id": request_id}
        ).json()["result"]
        if "responses" in result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"batch {request_id} never finished: {result}")


@pytest.mark.parametrize("body", BAD_BODIES, ids=[json.dumps(b)[:60] for b in BAD_BODIES])
def test_direct_calls_refuse_them_as_bad_input(
    http: httpx.Client, emulator: LocalEmulator, body: Any
) -> None:
    bad_input(http.post(run_url(emulator), json=body))
    chat = {"model": MODEL, "messages": [{"role": "user", "content": "hi"}], **body}
    chat.pop("prompt")
    bad_input(http.post(f"/client/v4/accounts/{emulator.account_id}/ai/v1/chat/completions", json=chat))


def test_a_batch_answers_every_request_and_each_bad_one_alone(
    http: httpx.Client, emulator: LocalEmulator
) -> None:
    url = run_url(emulator)
    requests = [GOOD, *BAD_BODIES, GOOD]
    queued = http.post(url, params={"queueRequest": "true"}, json={"requests": requests})
    done = until_done(http, url, queued.json()["result"]["request_id"])
    responses = sorted(done["responses"], key=lambda r: r["id"])
    assert [r["success"] for r in responses] == [True, *[False] * len(BAD_BODIES), True]
    for r in responses[1:-1]:
        assert r["result"]["errors"][0]["code"] == 5006, r
    assert responses[0]["result"]["response"] and responses[-1]["result"]["response"]
    # The worker is alive: the next batch is answered too.
    queued = http.post(url, params={"queueRequest": "true"}, json={"requests": [GOOD]})
    assert until_done(http, url, queued.json()["result"]["request_id"])["responses"][0]["success"] is True


def test_an_unforeseen_failure_fails_only_its_request(
    http: httpx.Client, emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A request whose processing raises what no rule refuses (here: run_request broken for one marked
    body, the emulator runs in this process) is answered with an error entry; the rest are answered."""
    real = batch_module.run_request

    async def breaks_on_marker(emu: Any, info: Any, body: dict[str, Any]) -> Any:
        if body.get("prompt") == "break":
            raise RuntimeError("an emulator bug")
        return await real(emu, info, body)

    monkeypatch.setattr(batch_module, "run_request", breaks_on_marker)
    url = run_url(emulator)
    requests = [GOOD, {"prompt": "break"}, GOOD]
    queued = http.post(url, params={"queueRequest": "true"}, json={"requests": requests})
    responses = sorted(
        until_done(http, url, queued.json()["result"]["request_id"])["responses"], key=lambda r: r["id"]
    )
    assert [r["success"] for r in responses] == [True, False, True]
    assert responses[1]["result"]["errors"][0]["message"] == "Internal server error"
    queued = http.post(url, params={"queueRequest": "true"}, json={"requests": [GOOD]})
    assert until_done(http, url, queued.json()["result"]["request_id"])["responses"][0]["success"] is True


@pytest.mark.parametrize(
    "header",
    [
        '{"latency_ms": "500"}',
        '{"error_rate": null}',
        '{"error": []}',
        '{"retry_after": {"a": 1}, "fail_next": 1}',
        '{"fail_next": 1.5}',
        '{"cut_stream_after": "3"}',
        '{"token_interval_ms": -1}',
        '{"scope": 7}',
        '{"seed": "x"}',
        "[1, 2]",
        "not json",
    ],
)
def test_badly_typed_fault_headers_are_bad_input(
    http: httpx.Client, emulator: LocalEmulator, header: str
) -> None:
    url = run_url(emulator, "@cf/baai/bge-small-en-v1.5")
    bad_input(http.post(url, json={"text": "hi"}, headers={"x-workersai-local-faults": header}))
    refused = http.post("/__local__/faults", content=header.encode())
    assert refused.status_code == 400 and refused.json()["errors"][0]["code"] == 5006


@pytest.mark.parametrize("ttl", ["abc", "1.5", "-1", "1e3", "0x10", "+5"])
def test_a_cache_ttl_that_is_not_whole_seconds_is_bad_input(
    http: httpx.Client, emulator: LocalEmulator, ttl: str
) -> None:
    url = f"/v1/{emulator.account_id}/gw/workers-ai/@cf/baai/bge-small-en-v1.5"
    bad_input(http.post(url, json={"text": "hi"}, headers={"cf-aig-cache-ttl": ttl}))
    assert http.post(url, json={"text": "hi"}, headers={"cf-aig-cache-ttl": "60"}).status_code == 200
