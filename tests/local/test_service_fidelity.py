"""The emulator answers as the service does where real clients (langchain-cloudflare, the openai and
cloudflare SDKs) met a difference (issue #26), over raw HTTP: gpt-oss's two input forms, the OpenAI
endpoint's ``developer`` role and reasoning, token caps that hold for reasoning and answer together,
structured output from a schema given only in the prompt, stored Responses turns, embedding options,
list routes that page, and the tasks / authors lists."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.local import LocalEmulator

CONTEXT = "The capital of France is Paris. Bananas are yellow. The Loire is a long river."
QUESTION = "What is the capital of France?"
MESSAGES = [{"role": "system", "content": CONTEXT}, {"role": "user", "content": QUESTION}]
GPT_OSS = "@cf/openai/gpt-oss-20b"
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"
PERSON = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
}


@pytest.fixture
def http(emulator: LocalEmulator) -> Iterator[httpx.Client]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


def sse_data(response: httpx.Response) -> list[Any]:
    return [
        json.loads(line[6:])
        for line in response.text.splitlines()
        if line.startswith("data: ") and line != "data: [DONE]"
    ]


# -- gpt-oss on /ai/run -------------------------------------------------------------------------------
def test_gpt_oss_answers_chat_messages_with_a_chat_completion(http: httpx.Client) -> None:
    result = http.post(f"/ai/run/{GPT_OSS}", json={"messages": MESSAGES}).json()["result"]
    assert result["object"] == "chat.completion"
    message = result["choices"][0]["message"]
    assert "Paris" in message["content"] and message["reasoning_content"]
    chunks = sse_data(http.post(f"/ai/run/{GPT_OSS}", json={"messages": MESSAGES, "stream": True}))
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert "Paris" in "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks)


def test_gpt_oss_answers_responses_input_with_a_response(http: httpx.Client) -> None:
    result = http.post(f"/ai/run/{GPT_OSS}", json={"instructions": CONTEXT, "input": QUESTION}).json()
    assert result["result"]["object"] == "response"
    assert [i["type"] for i in result["result"]["output"]] == ["reasoning", "message"]


def test_gpt_oss_tool_call_from_chat_messages_is_a_chat_tool_call(http: httpx.Client) -> None:
    tool = {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "The weather in a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
    body = {"messages": [{"role": "user", "content": "Use the tool for 'Lyon'"}], "tools": [tool]}
    result = http.post(f"/ai/run/{GPT_OSS}", json=body).json()["result"]
    call = result["choices"][0]["message"]["tool_calls"][0]
    assert call["function"]["name"] == "get_weather" and json.loads(call["function"]["arguments"])


# -- /ai/v1/chat/completions ----------------------------------------------------------------------------
def test_openai_endpoint_takes_the_developer_role(http: httpx.Client) -> None:
    body = {
        "model": "@cf/meta/llama-3.1-8b-instruct-fast",
        "messages": [{"role": "developer", "content": CONTEXT}, {"role": "user", "content": QUESTION}],
    }
    answer = http.post("/ai/v1/chat/completions", json=body)
    assert answer.status_code == 200, answer.text
    assert "Paris" in answer.json()["choices"][0]["message"]["content"]


def test_deepseek_r1_on_the_openai_endpoint_answers_reasoning_apart(http: httpx.Client) -> None:
    completion = http.post("/ai/v1/chat/completions", json={"model": R1, "messages": MESSAGES}).json()
    message = completion["choices"][0]["message"]
    assert "<think>" not in message["content"] and "</think>" not in message["content"]
    assert "Paris" in message["content"] and QUESTION in message["reasoning_content"]
    body = {"model": R1, "messages": MESSAGES, "stream": True}
    deltas = [c["choices"][0]["delta"] for c in sse_data(http.post("/ai/v1/chat/completions", json=body))]
    content = "".join(d.get("content") or "" for d in deltas)
    assert "<think>" not in content and "Paris" in content
    assert QUESTION in "".join(d.get("reasoning_content") or "" for d in deltas)


def test_the_extractive_generators_reasoning_is_labelled_a_template(http: httpx.Client) -> None:
    completion = http.post("/ai/v1/chat/completions", json={"model": R1, "messages": MESSAGES}).json()
    assert completion["choices"][0]["message"]["reasoning_content"].startswith(
        "[extractive emulator: template, not model reasoning]"
    )


# -- max_tokens -----------------------------------------------------------------------------------------
@pytest.mark.parametrize("cap", [3, 12, 40])
@pytest.mark.parametrize("model", [R1, GPT_OSS, "@cf/qwen/qwen3-30b-a3b-fp8"])
def test_max_tokens_bounds_reasoning_and_answer_together(http: httpx.Client, model: str, cap: int) -> None:
    run = http.post(f"/ai/run/{model}", json={"messages": MESSAGES, "max_tokens": cap}).json()["result"]
    assert run["usage"]["completion_tokens"] <= cap
    chat = http.post(
        "/ai/v1/chat/completions", json={"model": model, "messages": MESSAGES, "max_tokens": cap}
    ).json()
    assert chat["usage"]["completion_tokens"] <= cap
    if model == GPT_OSS:
        body = {"model": model, "input": QUESTION, "instructions": CONTEXT, "max_output_tokens": cap}
        response = http.post("/ai/v1/responses", json=body).json()
        assert response["usage"]["output_tokens"] <= cap


def test_a_json_answer_over_max_tokens_is_cut_like_a_models(http: httpx.Client) -> None:
    fmt = {"type": "json_schema", "json_schema": {"name": "person", "schema": PERSON}}
    body = {"model": "@cf/meta/llama-3.1-8b-instruct-fast", "messages": MESSAGES, "response_format": fmt}
    whole = http.post("/ai/v1/chat/completions", json={**body, "max_tokens": 200}).json()
    assert set(json.loads(whole["choices"][0]["message"]["content"])) == {"name", "age"}
    cut = http.post("/ai/v1/chat/completions", json={**body, "max_tokens": 2}).json()
    assert cut["usage"]["completion_tokens"] <= 2 and cut["choices"][0]["finish_reason"] == "length"


# -- structured output ----------------------------------------------------------------------------------
def test_json_object_follows_a_schema_given_only_in_the_prompt(http: httpx.Client) -> None:
    # langchain-cloudflare's with_structured_output puts the schema in a system message this way.
    system = (
        "You must respond with valid JSON that matches this schema. Return only the JSON object.\n"
        + json.dumps(PERSON, indent=2)
    )
    body = {
        "messages": [{"role": "system", "content": system}, {"role": "user", "content": "Anna is 31."}],
        "response_format": {"type": "json_object"},
    }
    result = http.post("/ai/run/@cf/meta/llama-3.1-8b-instruct-fast", json=body).json()["result"]
    person = result["response"]
    assert set(person) == {"name", "age"} and person["age"] == 31 and isinstance(person["name"], str)


# -- Responses: stored turns ----------------------------------------------------------------------------
def test_previous_response_id_carries_the_earlier_turn(http: httpx.Client) -> None:
    first = http.post(
        "/ai/v1/responses", json={"model": GPT_OSS, "input": f"Remember this: {CONTEXT}"}
    ).json()
    assert first["store"] is True and first["previous_response_id"] is None
    second = http.post(
        "/ai/v1/responses",
        json={"model": GPT_OSS, "input": QUESTION, "previous_response_id": first["id"]},
    ).json()
    assert second["previous_response_id"] == first["id"]
    assert "Paris" in second["output"][-1]["content"][0]["text"]
    alone = http.post("/ai/v1/responses", json={"model": GPT_OSS, "input": QUESTION}).json()
    assert "Paris" not in alone["output"][-1]["content"][0]["text"]


def test_an_unstored_response_cannot_be_continued(http: httpx.Client) -> None:
    first = http.post("/ai/v1/responses", json={"model": GPT_OSS, "input": CONTEXT, "store": False}).json()
    assert first["store"] is False
    again = http.post(
        "/ai/v1/responses",
        json={"model": GPT_OSS, "input": QUESTION, "previous_response_id": first["id"]},
    )
    assert again.status_code == 400 and "not found" in again.text


# -- embeddings -----------------------------------------------------------------------------------------
def test_embedding_options_answer_floats_of_the_models_size(http: httpx.Client) -> None:
    body = {"model": "@cf/baai/bge-small-en-v1.5", "input": ["one", "two"]}
    for extra in ({}, {"encoding_format": "base64"}, {"dimensions": 64}, {"encoding_format": "float"}):
        data = http.post("/ai/v1/embeddings", json={**body, **extra}).json()["data"]
        assert [len(d["embedding"]) for d in data] == [384, 384]
        assert all(isinstance(x, float) for x in data[0]["embedding"])


# -- lists ----------------------------------------------------------------------------------------------
def test_ai_search_lists_page(http: httpx.Client) -> None:
    names = [f"page-{i}" for i in range(3)]
    for name in names:
        assert http.post("/ai-search/instances", json={"id": name}).status_code == 200
    try:
        seen: list[str] = []
        for page in (1, 2, 3):
            answer = http.get("/ai-search/instances", params={"page": page, "per_page": 2}).json()
            seen += [i["id"] for i in answer["result"]]
            assert answer["result_info"]["page"] == page and answer["result_info"]["per_page"] == 2
        assert [s for s in seen if s.startswith("page-")] == names
        assert http.get("/ai-search/instances", params={"page": 99}).json()["result"] == []
        assert (
            http.get("/ai-search/instances", params={"search": "PAGE-1"}).json()["result"][0]["id"]
            == "page-1"
        )
        assert http.get("/ai-search/instances", params={"per_page": 101}).status_code == 400
        ordered = http.get(
            "/ai-search/instances", params={"order_by": "created_at", "order_by_direction": "desc"}
        ).json()["result"]
        stamps = [i["created_at"] for i in ordered]
        assert stamps == sorted(stamps, reverse=True) and set(names) <= {i["id"] for i in ordered}
        items = http.get("/ai-search/namespaces/default/instances/page-0/items", params={"page": 2}).json()
        assert items["result"] == [] and items["result_info"]["total_count"] == 0
    finally:
        for name in names:
            http.delete(f"/ai-search/instances/{name}")


def test_tasks_and_authors_are_listed(http: httpx.Client) -> None:
    tasks = http.get("/ai/tasks/search").json()["result"]
    assert {"Text Embeddings", "Text Generation"} <= {t["name"] for t in tasks}
    assert all({"id", "name", "description"} <= set(t) for t in tasks)
    authors = http.get("/ai/authors/search").json()["result"]
    assert {"meta", "openai", "baai"} <= {a["name"] for a in authors}


def test_a_queued_gpt_oss_chat_request_answers_a_chat_completion(http: httpx.Client) -> None:
    url = f"/ai/run/{GPT_OSS}"
    queued = http.post(url, params={"queueRequest": "true"}, json={"requests": [{"messages": MESSAGES}]})
    request_id = queued.json()["result"]["request_id"]
    for _ in range(100):  # the Batch API: poll with the request id until the responses are there
        polled = http.post(url, params={"queueRequest": "true"}, json={"request_id": request_id}).json()
        if "responses" in polled["result"]:
            break
    answer = polled["result"]["responses"][0]
    result = answer.get("result", answer)
    assert result["object"] == "chat.completion" and "Paris" in result["choices"][0]["message"]["content"]


def test_ai_search_namespaces_are_listed_and_paged(http: httpx.Client) -> None:
    assert http.post("/ai-search/namespaces/team-x/instances", json={"id": "ns-list"}).status_code == 200
    try:
        first = http.get("/ai-search/namespaces", params={"per_page": 1}).json()
        names = [n["name"] for n in first["result"]]
        total = first["result_info"]["total_count"]
        for page in range(2, total + 2):
            names += [
                n["name"]
                for n in http.get("/ai-search/namespaces", params={"per_page": 1, "page": page}).json()[
                    "result"
                ]
            ]
        assert {"default", "team-x"} <= set(names) and len(names) == total
    finally:
        http.delete("/ai-search/namespaces/team-x/instances/ns-list")
