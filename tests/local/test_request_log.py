"""The request log (workersai/local/request_log.py): what the emulator keeps of each request it served,
over HTTP (/__local__/requests) and from Python (EmulatorControl.requests)."""

from __future__ import annotations

import httpx
import pytest

from workersai import StreamInterrupted, WorkersAI
from workersai.local import LocalEmulator
from workersai.local.request_log import LoggedRequest, RequestLog

EMBED = "@cf/baai/bge-small-en-v1.5"
CHAT = "@cf/meta/llama-3.1-8b-instruct-fast"


def test_embedding_requests_are_kept_with_model_body_and_no_token(
    emulator: LocalEmulator, client: WorkersAI
) -> None:
    emulator.clear_requests()
    client.embed(["one", "two"], model=EMBED)
    [entry] = emulator.requests(model=EMBED)
    assert entry["method"] == "POST"
    assert entry["path"].endswith(f"/ai/run/{EMBED}")
    assert entry["status"] == 200
    assert entry["body"] == {"text": ["one", "two"]}
    assert entry["latency_ms"] > 0
    assert "authorization" not in entry["headers"]
    assert emulator.token not in str(entry)
    assert entry["headers"]["content-type"].startswith("application/json")


def test_generation_tokens_and_body_model_of_openai_routes(emulator: LocalEmulator) -> None:
    emulator.clear_requests()
    response = httpx.post(
        f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1/chat/completions",
        headers={"Authorization": f"Bearer {emulator.token}"},
        json={"model": CHAT, "messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 8},
    )
    usage = response.json()["usage"]
    [entry] = emulator.requests(path="/ai/v1/chat/completions")
    assert entry["model"] == CHAT  # named in the body, not the path
    assert (entry["prompt_tokens"], entry["completion_tokens"]) == (
        usage["prompt_tokens"],
        usage["completion_tokens"],
    )


def test_filters_limit_errors_and_control_paths_left_out(emulator: LocalEmulator, client: WorkersAI) -> None:
    emulator.clear_requests()
    client.embed(["a"], model=EMBED)
    emulator.set_faults(fail_next=1, error="3040", scope="ai")
    with pytest.raises(Exception, match=r"3040|apacity"):
        WorkersAI(
            account_id=emulator.account_id,
            api_token=emulator.token,
            base_url=emulator.base_url,
            max_retries=0,
        ).embed(["b"], model=EMBED)
    emulator.stats()  # a control path: not recorded
    entries = emulator.requests()
    assert [e["status"] for e in entries] == [200, 429]
    # Refused by the fault before its body was read: the body is not known.
    assert [(e["model"], e["body"]) for e in emulator.requests(limit=1)] == [(EMBED, None)]
    assert emulator.requests(path="*/ai/run/@cf/baai/*", method="post") == entries
    assert emulator.requests(model="@cf/other/model") == []


def test_bad_query_is_a_400_naming_the_field(emulator: LocalEmulator) -> None:
    response = httpx.get(
        f"{emulator.url}/__local__/requests?limit=-1", headers={"Authorization": f"Bearer {emulator.token}"}
    )
    assert response.status_code == 400
    assert "limit" in response.text


def test_log_is_bounded_by_entries_and_body_bytes() -> None:
    log = RequestLog(max_entries=3, max_body_bytes=10, max_total_body_bytes=25)

    def entry(body: bytes) -> LoggedRequest:
        return LoggedRequest(log.next_id(), 0.0, "POST", "/p", "", None, 200, 1.0, raw_body=body)

    for _ in range(5):
        log.add(entry(b"12345"))
    assert [e.id for e in log.recent(10)] == [5, 4, 3]
    for _ in range(3):
        log.add(entry(b"1234567890"))
    assert len(log) == 2  # 30 bytes would be over 25
    assert log.recent(1)[0].body == 1234567890


def test_a_stream_is_kept_with_its_tokens_and_a_cut_with_its_error(
    emulator: LocalEmulator, client: WorkersAI
) -> None:
    emulator.clear_requests()
    chunks = list(client.stream_chat("Say hi", model=CHAT, max_tokens=8))
    usage = chunks[-1].usage
    assert usage is not None
    emulator.set_faults(cut_stream_after=1, scope="ai")
    with pytest.raises(StreamInterrupted):
        list(client.with_options(max_retries=0).stream_chat("Say hi", model=CHAT, max_tokens=8))
    whole, cut = emulator.requests(model=CHAT)
    assert (whole["prompt_tokens"], whole["completion_tokens"]) == (
        usage.prompt_tokens,
        usage.completion_tokens,
    )
    assert whole["error"] is None and whole["body"]["stream"] is True
    assert cut["status"] == 200 and "stream cut" in cut["error"]
