"""The live catalog through the client, over HTTP against the emulator: every page of
``/ai/models/search`` followed, filters, the per-client cache, and ``/ai/models/schema``."""

from __future__ import annotations

import math

import httpx
import jsonschema
import pytest

from tests.conftest import RequestLog
from workersai import BadInput, ModelNotFound, ModelSchema, ModelSummary, RetryPolicy, WorkersAI
from workersai.catalog import EMBEDDING_TASK, GENERATION_TASK, models
from workersai.local import LocalEmulator

SEARCHES = "/ai/models/search"


def searches(log: RequestLog) -> list[httpx.Request]:
    return [r for r in log.requests if r.url.path.endswith(SEARCHES)]


def test_models_follows_every_page_and_reads_each_filter_set_once(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    listed = logged_client.models(per_page=7)
    served = list(models())
    assert [m.name for m in listed] == served
    pages = searches(request_log)
    # result_info tells the last (short) page: no extra request for an empty one.
    assert len(pages) == math.ceil(len(served) / 7) >= 3
    assert [r.url.params["page"] for r in pages] == [str(i) for i in range(1, len(pages) + 1)]
    assert {r.url.params["per_page"] for r in pages} == {"7"}
    assert all(isinstance(m, ModelSummary) and m.task and m.id for m in listed)

    again = logged_client.models(per_page=3)  # same filters: served from the cache, per_page aside
    assert [m.name for m in again] == served and len(searches(request_log)) == len(pages)
    logged_client.models(per_page=50, refresh=True)
    assert len(searches(request_log)) == len(pages) + 1


def test_models_filters_as_the_service_takes_them(logged_client: WorkersAI, request_log: RequestLog) -> None:
    embeddings = logged_client.models(task=EMBEDDING_TASK, per_page=2)
    expected = [n for n, i in models().items() if i.task == EMBEDDING_TASK]
    assert [m.name for m in embeddings] == expected
    assert all(r.url.params["task"] == EMBEDDING_TASK for r in searches(request_log))
    by_meta = logged_client.models(author="meta", task=GENERATION_TASK)
    assert by_meta and all(m.name.startswith("@cf/meta/") and m.author == "meta" for m in by_meta)
    vision = logged_client.models(search="vision")  # matches descriptions too, not only names
    assert {m.name for m in vision} == {n for n, i in models().items() if i.vision}
    tools = [m for m in logged_client.models(task=GENERATION_TASK) if m.function_calling]
    assert {m.name for m in tools} == {n for n, i in models().items() if i.function_calling}
    scout = next(m for m in by_meta if m.name == "@cf/meta/llama-4-scout-17b-16e-instruct")
    assert scout.context_window == models()[scout.name].context_window
    assert logged_client.models(search="no-such-model-anywhere") == []


async def test_amodels_pages_and_shares_the_cache(logged_client: WorkersAI, request_log: RequestLog) -> None:
    listed = await logged_client.amodels(task=GENERATION_TASK, per_page=10)
    count = len(searches(request_log))
    generation = [n for n, i in models().items() if i.task == GENERATION_TASK]
    assert [m.name for m in listed] == generation and count == math.ceil(len(generation) / 10)
    assert logged_client.models(task=GENERATION_TASK) == listed
    assert await logged_client.amodels(task=GENERATION_TASK) == listed
    assert len(searches(request_log)) == count


@pytest.mark.parametrize(
    ("model", "good_input"),
    [
        ("@cf/baai/bge-m3", {"text": ["a", "b"]}),
        ("@cf/meta/llama-3.1-8b-instruct-fast", {"prompt": "Hi"}),  # not in workers-types: the emulator's own
        ("@cf/zai-org/glm-4.7-flash", {"messages": [{"role": "user", "content": "Hi"}]}),
        ("@cf/openai/gpt-oss-20b", {"input": "Hi", "reasoning": {"effort": "low"}}),
    ],
)
def test_model_schema_per_family(
    logged_client: WorkersAI, request_log: RequestLog, model: str, good_input: dict[str, object]
) -> None:
    schema = logged_client.model_schema(model)
    assert isinstance(schema, ModelSchema) and schema.model == model
    jsonschema.validate(good_input, schema.input)  # JSON Schema documents, their definitions included
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"not": "an input"}, schema.input)
    jsonschema.Draft7Validator.check_schema(schema.output)
    assert logged_client.model_schema(model) == schema
    assert len([r for r in request_log.requests if r.url.path.endswith("/ai/models/schema")]) == 1


async def test_model_schema_errors(emulator: LocalEmulator, request_log: RequestLog) -> None:
    http = httpx.AsyncClient(event_hooks={"request": [request_log.ahook]})
    with emulator.client(async_http_client=http, retry_policy=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(ModelNotFound, match="not a Workers AI model id"):
            await client.amodel_schema("not a model id")
        assert request_log.requests == []  # refused before any request
        with pytest.raises(ModelNotFound) as unknown:  # well-formed: the service decides (400/5007)
            await client.amodel_schema("@cf/someone/not-in-the-catalog")
        assert (unknown.value.status, unknown.value.code) == (400, 5007) and len(request_log.requests) == 1
        with pytest.raises(BadInput):
            await client.amodels(per_page=0)
        schema = await client.amodel_schema("@cf/baai/bge-small-en-v1.5")
        assert schema.input["$comment"].startswith("generated from @cloudflare/workers-types")
        await http.aclose()
