"""The emulator's response families over raw HTTP (no client code in the request path): the shape
``/ai/run`` answers in follows the model's catalog family, streams end the family's way, and the
Responses input and ``reasoning_effort`` are checked in the service's terms."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator

MESSAGES = [
    {"role": "system", "content": "The capital of France is Paris."},
    {"role": "user", "content": "What is the capital of France?"},
]


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


def frames(response: httpx.Response) -> list[tuple[str | None, str]]:
    """``(event name, data)`` of every server-sent event."""
    out = []
    for block in response.text.split("\n\n"):
        if not block.strip():
            continue
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        out.append((lines.get("event"), lines["data"]))
    return out


@pytest.mark.parametrize(
    ("model", "keys"),
    [
        ("@cf/meta/llama-3.1-8b-instruct-fast", {"response", "usage"}),
        ("@cf/qwen/qwen3-30b-a3b-fp8", {"id", "object", "created", "model", "choices", "usage"}),
        # gpt-oss: chat messages in, a chat completion out (workers-types: XOR<ResponsesOutput,
        # ChatCompletionsOutput>); its Responses input is test_run_responses_input_answers_a_response
        ("@cf/openai/gpt-oss-20b", {"id", "object", "created", "model", "choices", "usage"}),
        ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", {"response", "usage"}),
    ],
)
def test_run_answers_in_the_catalog_family_shape(http: httpx.Client, model: str, keys: set[str]) -> None:
    answer = http.post(f"/ai/run/{model}", json={"messages": MESSAGES})
    assert answer.status_code == 200, answer.text
    result = answer.json()["result"]
    assert keys <= set(result)
    if "choices" in result:
        assert result["object"] == "chat.completion"
        assert "What is the capital" in result["choices"][0]["message"]["reasoning_content"]
    if model.startswith("@cf/deepseek"):
        assert result["response"].startswith("<think>\n") and "</think>\n\nThe capital" in result["response"]
    if model.startswith("@cf/meta"):
        assert "<think>" not in result["response"]


def test_a_responses_stream_is_typed_events_without_done(http: httpx.Client) -> None:
    answer = http.post("/ai/run/@cf/openai/gpt-oss-20b", json={"input": "What is Paris?", "stream": True})
    events = frames(answer)
    assert all(name == json.loads(data)["type"] for name, data in events)
    names = [name for name, _ in events]
    assert names[:3] == ["response.created", "response.in_progress", "response.output_item.added"]
    assert names[-1] == "response.completed" and "[DONE]" not in answer.text
    assert "response.reasoning_text.delta" in names and "response.output_text.delta" in names


def test_legacy_and_openai_streams_end_with_done(http: httpx.Client) -> None:
    for model in ("@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "@cf/qwen/qwen3-30b-a3b-fp8"):
        events = frames(http.post(f"/ai/run/{model}", json={"messages": MESSAGES, "stream": True}))
        assert events[-1] == (None, "[DONE]")
        payloads: list[dict[str, Any]] = [json.loads(d) for _, d in events[:-1]]
        if model.startswith("@cf/deepseek"):
            assert "<think>" in [p["response"] for p in payloads]
        else:
            assert any(p["choices"][0]["delta"].get("reasoning_content") for p in payloads)


@pytest.mark.parametrize(
    "body",
    [
        {"input": 5},
        {"input": []},
        {"input": [{"role": "robot", "content": "hi"}]},
        {"input": [{"type": "web_search_call"}]},
        {"input": "hi", "reasoning": {"effort": "extreme"}},
        {"input": "hi", "instructions": ["not", "text"]},
    ],
)
def test_bad_responses_input_is_5006(http: httpx.Client, body: dict[str, Any]) -> None:
    for answer in (
        http.post("/ai/run/@cf/openai/gpt-oss-20b", json=body),
        http.post("/ai/v1/responses", json={"model": "@cf/openai/gpt-oss-20b", **body}),
    ):
        assert answer.status_code == 400
        assert answer.json()["errors"][0]["code"] == 5006


def test_a_bad_reasoning_effort_is_5006(http: httpx.Client) -> None:
    answer = http.post(
        "/ai/run/@cf/qwen/qwen3-30b-a3b-fp8", json={"messages": MESSAGES, "reasoning_effort": "maximum"}
    )
    assert answer.status_code == 400 and answer.json()["errors"][0]["code"] == 5006
    ok = http.post(
        "/ai/run/@cf/qwen/qwen3-30b-a3b-fp8", json={"messages": MESSAGES, "reasoning_effort": "low"}
    )
    assert ok.status_code == 200


def test_reasoning_effort_levels_are_the_models_own(http: httpx.Client) -> None:
    """qwen3.8-27b takes low, medium, xhigh (@cloudflare/workers-types 5.20261117.1): "high" is refused,
    "xhigh" taken."""
    url = "/ai/run/@cf/qwen/qwen3.8-27b"
    high = http.post(url, json={"messages": MESSAGES, "reasoning_effort": "high", "max_tokens": 16})
    assert high.status_code == 400 and high.json()["errors"][0]["code"] == 5006
    assert "low, medium, xhigh" in high.json()["errors"][0]["message"]
    xhigh = http.post(url, json={"messages": MESSAGES, "reasoning_effort": "xhigh", "max_tokens": 16})
    assert xhigh.status_code == 200, xhigh.text


def test_json_schema_mode_with_stream_is_5023(http: httpx.Client) -> None:
    """As the service answers it (cloudflare/agents#1685: "5023: JSON Schema mode is not supported with
    stream mode.")."""
    schema = {"type": "object", "properties": {"city": {"type": "string"}}}
    answer = http.post(
        "/ai/run/@cf/meta/llama-3.3-70b-instruct-fp8-fast",
        json={
            "messages": MESSAGES,
            "stream": True,
            "response_format": {"type": "json_schema", "json_schema": schema},
        },
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0] == {
        "code": 5023,
        "message": "AiError: 5023: JSON Schema mode is not supported with stream mode.",
    }
