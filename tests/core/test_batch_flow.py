"""The Batch API's pure parts without a server: the polling flow fed by hand, the answers' parsing,
the submission checks and the packing under the 10 MB limit."""

from __future__ import annotations

import json
from typing import Any

import pytest

from workersai.batch import (
    MAX_BATCH_PAYLOAD_BYTES,
    BatchItemFailed,
    BatchResponse,
    BatchStatus,
    BatchTimeout,
    Poll,
    Sleep,
    pack,
    read_queued,
    read_status,
    results,
    submission_body,
    wait_flow,
)
from workersai.errors import BadInput, RequestTooLarge, ResponseFormatError
from workersai.flows import drive

from ..timing import FakeTime

DONE = {
    "responses": [
        {"id": 1, "result": {"data": [[2.0]]}, "success": True, "external_reference": "b"},
        {"id": 0, "result": {"data": [[1.0]]}, "success": True, "external_reference": None},
    ],
    "usage": {"prompt_tokens": 3, "completion_tokens": 0, "total_tokens": 3},
}


def test_the_flow_polls_sleeps_between_and_returns_responses_in_request_order() -> None:
    clock = FakeTime(0.0)
    flow = wait_flow("r1", timeout=10, poll_interval=2, clock=clock)
    assert isinstance(next(flow), Poll)
    assert flow.send(read_status({"status": "queued", "request_id": "r1"})) == Sleep(2)
    clock.now = 2
    assert isinstance(flow.send(None), Poll)
    assert flow.send(read_status({"status": "running"})) == Sleep(2)
    assert isinstance(flow.send(None), Poll)
    with pytest.raises(StopIteration) as stop:
        flow.send(read_status(DONE))
    done: list[BatchResponse] = stop.value.value
    assert [(r.id, r.external_reference) for r in done] == [(0, None), (1, "b")]


def test_the_flow_gives_up_at_its_deadline_and_never_sleeps_past_it() -> None:
    clock = FakeTime(0.0)
    flow = wait_flow("r2", timeout=3, poll_interval=2, clock=clock)
    next(flow)
    assert flow.send(BatchStatus("queued")) == Sleep(2)
    clock.now = 2
    next(flow)
    assert flow.send(BatchStatus("running")) == Sleep(1)  # only what is left
    clock.now = 3
    next(flow)
    with pytest.raises(BatchTimeout, match="r2 still running after 3 s"):
        flow.send(BatchStatus("running"))


def test_the_sync_runner_drives_the_flow() -> None:
    answers = iter([BatchStatus("queued"), read_status(DONE)])
    slept: list[float] = []
    done = drive(
        wait_flow("r", 60, 0.5),
        lambda need: next(answers) if isinstance(need, Poll) else slept.append(need.seconds),
    )
    assert slept == [0.5] and [r.id for r in done] == [0, 1]


@pytest.mark.parametrize(
    "answer",
    [[], {"status": "done"}, {"responses": {}}, {"responses": [{"id": "0"}]}, {"responses": [{"id": True}]}],
)
def test_a_malformed_poll_answer_is_a_response_format_error(answer: Any) -> None:
    with pytest.raises(ResponseFormatError):
        read_status(answer)


def test_a_queued_answer_needs_its_request_id() -> None:
    assert read_queued({"status": "queued", "request_id": "x", "model": "@cf/m/n"}) == ("x", "@cf/m/n")
    with pytest.raises(ResponseFormatError):
        read_queued({"status": "queued"})


def test_results_name_the_first_failed_request() -> None:
    ok = BatchResponse(0, True, {"r": 1}, "a")
    bad = BatchResponse(1, False, {"errors": [{"code": 5006}]}, "b")
    assert results([ok]) == [{"r": 1}]
    with pytest.raises(BatchItemFailed, match="request 1 \\(reference 'b'\\)"):
        results([ok, bad])


@pytest.mark.parametrize(
    ("requests", "error"),
    [
        ([], "at least one request"),
        ("text", "must be a list"),
        ({"text": "x"}, "must be a list"),
        ([["x"]], "request 0 must be an object"),
        ([{"text": "x", "external_reference": 7}], "external_reference must be a string"),
    ],
)
def test_bad_submissions_are_refused(requests: Any, error: str) -> None:
    with pytest.raises(BadInput, match=error):
        submission_body(requests)


def test_the_10_mb_limit_is_measured_on_the_bytes_as_sent() -> None:
    # Non-ASCII text is escaped by JSON: 6 bytes a character as sent, which is what counts.
    fits = [{"text": "a" * (MAX_BATCH_PAYLOAD_BYTES - 100)}]
    assert len(submission_body(fits)) <= MAX_BATCH_PAYLOAD_BYTES
    with pytest.raises(RequestTooLarge, match="as sent"):
        submission_body([{"text": "é" * (MAX_BATCH_PAYLOAD_BYTES // 5)}])


def test_pack_keeps_order_and_every_batch_under_the_limit() -> None:
    requests = [{"text": f"{i:04d}" * 50, "external_reference": str(i)} for i in range(40)]
    batches = pack(requests, limit=2_000)
    assert len(batches) > 1
    assert [r for b in batches for r in b] == requests
    for b in batches:
        assert len(json.dumps({"requests": b}, separators=(",", ":"))) <= 2_000
