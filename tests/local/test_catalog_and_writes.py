"""The emulator over raw HTTP (no client code in the request path): ``/ai/models/search`` filters and
pages as the official SDK sends them, ``/ai/models/schema``, Vectorize's ``unparsable-behavior`` and the
1536-dimension cap."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from workersai.catalog import EMBEDDING_TASK, GENERATION_TASK, models
from workersai.local import LocalEmulator


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with LocalEmulator(mutation_delay_ms=0) as emu:
        base = f"{emu.base_url}/accounts/{emu.account_id}"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emu.token}"}) as client:
            yield client


def search(http: httpx.Client, **params: Any) -> dict[str, Any]:
    answer = http.get("/ai/models/search", params=params)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def error(answer: httpx.Response) -> tuple[int, int]:
    body = answer.json()
    assert body["success"] is False
    return answer.status_code, body["errors"][0]["code"]


def test_search_pages_with_result_info(http: httpx.Client) -> None:
    total = len(models())
    first, last = search(http, per_page=8), search(http, per_page=8, page=(total + 7) // 8)
    pages = (total + 7) // 8
    assert first["result_info"] == {
        "page": 1,
        "per_page": 8,
        "count": 8,
        "total_count": total,
        "total_pages": pages,
    }
    assert last["result_info"]["count"] == total - 8 * ((total + 7) // 8 - 1)
    assert search(http, per_page=8, page=99)["result"] == []  # past the end: empty, as the SDK expects
    entry = first["result"][0]
    assert set(entry) == {"id", "source", "name", "description", "task", "tags", "properties"}
    assert set(entry["task"]) == {"id", "name", "description"}
    assert all(set(p) == {"property_id", "value"} for p in entry["properties"])
    for bad in ({"per_page": 0}, {"page": "x"}, {"hide_experimental": "maybe"}):
        assert error(http.get("/ai/models/search", params=bad)) == (400, 5006)


def test_search_filters(http: httpx.Client) -> None:
    embedding = [n for n, i in models().items() if i.task == EMBEDDING_TASK]
    by_name = search(http, task="text embeddings", per_page=100)["result"]  # the task's name, any case
    assert [e["name"] for e in by_name] == embedding
    by_id = search(http, task=by_name[0]["task"]["id"], per_page=100)["result"]
    assert [e["name"] for e in by_id] == embedding
    openai = search(http, author="openai", task=GENERATION_TASK)["result"]
    assert sorted(e["name"] for e in openai) == ["@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"]
    reasoning = search(http, search="Reasoning", per_page=100)["result"]  # in descriptions
    assert {e["name"] for e in reasoning} == {n for n, i in models().items() if i.reasoning}
    both = search(http, search="llama", author="meta", hide_experimental="true", source=1)["result"]
    assert both and all(e["name"].startswith("@cf/meta/llama") for e in both)
    assert search(http, source=2)["result"] == []


def test_search_entry_properties_come_from_the_catalog(http: httpx.Client) -> None:
    entries = {e["name"]: e for e in search(http, per_page=1000)["result"]}
    glm = {p["property_id"]: p["value"] for p in entries["@cf/zai-org/glm-4.7-flash"]["properties"]}
    assert glm["context_window"] == "131072" and glm["function_calling"] == "true"
    input_price, output_price = glm["price"]
    assert input_price == {"unit": "per M input tokens", "price": pytest.approx(0.0605), "currency": "USD"}
    assert output_price["unit"] == "per M output tokens"
    unpriced = {p["property_id"] for p in entries["@cf/meta/llama-3.1-8b-instruct-fast"]["properties"]}
    assert "price" not in unpriced  # no published price: none invented
    small = {p["property_id"]: p["value"] for p in entries["@cf/baai/bge-small-en-v1.5"]["properties"]}
    assert small["output_dimensions"] == "384"


@pytest.mark.parametrize("name", list(models()))
def test_schema_for_every_catalog_model(http: httpx.Client, name: str) -> None:
    answer = http.get("/ai/models/schema", params={"model": name})
    assert answer.status_code == 200, answer.text
    schema = answer.json()["result"]
    assert set(schema) == {"input", "output"}
    if "workers-types" in schema["input"].get("$comment", ""):  # generated: tests/contract checks them
        return
    assert schema["input"]["type"] == schema["output"]["type"] == "object"
    info = models()[name]
    if info.is_generation:
        titles = {v["title"] for v in schema["input"]["oneOf"]}
        assert {"Prompt", "Messages"} <= titles
        assert ("Responses" in titles) == (info.family == "responses")
    else:
        required = (["text"], ["query", "contexts"], ["model", "state", "questions"], ["model", "fields"])
        assert schema["input"]["required"] in required
    json.dumps(schema)  # plain JSON all the way down


def test_schema_errors(http: httpx.Client) -> None:
    assert error(http.get("/ai/models/schema", params={"model": "@cf/someone/unknown"})) == (400, 5007)
    assert error(http.get("/ai/models/schema", params={"model": "nonsense"})) == (404, 3042)
    assert error(http.get("/ai/models/schema")) == (400, 5006)


# -- Vectorize --------------------------------------------------------------------------------------
def make_index(http: httpx.Client, name: str, dims: int) -> httpx.Response:
    return http.post(
        "/vectorize/v2/indexes", json={"name": name, "config": {"dimensions": dims, "metric": "cosine"}}
    )


def test_dimension_cap_is_1536(http: httpx.Client) -> None:
    assert make_index(http, "dims-max", 1536).status_code == 200
    assert error(make_index(http, "dims-over", 1537)) == (400, 40026)
    assert http.get("/vectorize/v2/indexes/dims-over").status_code == 404


def test_unparsable_behavior(http: httpx.Client) -> None:
    assert make_index(http, "ndjson", 3).status_code == 200
    body = (
        b'{"id": "a", "values": [1, 0, 0]}\n{"id": "b", "values": [0, 1\n{"id": "c", "values": [0, 0, 1]}\n'
    )
    headers = {"Content-Type": "application/x-ndjson"}

    def write(kind: str, params: dict[str, str], content: bytes = body) -> httpx.Response:
        return http.post(
            f"/vectorize/v2/indexes/ndjson/{kind}", content=content, headers=headers, params=params
        )

    assert error(write("insert", {})) == (400, 40023)
    assert error(write("insert", {"unparsable-behavior": "error"})) == (400, 40023)
    assert error(write("insert", {"unparsable-behavior": "skip"})) == (400, 40026)
    for kind in ("insert", "upsert"):
        answer = write(kind, {"unparsable-behavior": "discard"})
        assert answer.status_code == 200
        mutation = answer.json()["result"]["mutationId"]
    for _ in range(1000):  # writes are applied asynchronously: wait for the last one
        info = http.get("/vectorize/v2/indexes/ndjson/info").json()["result"]
        if info["processedUpToMutation"] == mutation:
            break
        time.sleep(0.01)
    got = http.post("/vectorize/v2/indexes/ndjson/get_by_ids", json={"ids": ["a", "b", "c"]}).json()["result"]
    assert sorted(v["id"] for v in got) == ["a", "c"]  # the broken line skipped, the others written
    # discard covers parse failures only: a line that parses but breaks a rule is still refused
    broken_rule = b'{"id": "d", "values": []}\n'
    assert error(write("upsert", {"unparsable-behavior": "discard"}, broken_rule)) == (400, 40026)
