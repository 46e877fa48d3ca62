"""The official ``cloudflare`` SDK against the emulator: ``ai.models.list`` (auto-paging with the
parameters it sends) and ``ai.models.schema.get``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from workersai.catalog import GENERATION_TASK, models
from workersai.local import LocalEmulator

cloudflare = pytest.importorskip("cloudflare", reason="the official SDK is a dev dependency")


@pytest.fixture
def cf(emulator: LocalEmulator) -> Iterator[cloudflare.Cloudflare]:
    with cloudflare.Cloudflare(api_token=emulator.token, base_url=emulator.base_url, max_retries=0) as client:
        yield client


def test_models_list_pages_through_the_filtered_catalog(
    cf: cloudflare.Cloudflare, emulator: LocalEmulator
) -> None:
    first = cf.ai.models.list(account_id=emulator.account_id, task=GENERATION_TASK, per_page=5)
    assert len(first.result) == 5 and first.has_next_page()
    listed = [m["name"] for m in first]  # iterating the page fetches the next ones until one is empty
    assert listed == [n for n, i in models().items() if i.task == GENERATION_TASK]
    entry = first.result[0]
    assert {"id", "name", "description", "task", "properties"} <= set(entry)
    assert entry["task"]["name"] == GENERATION_TASK
    by_author = cf.ai.models.list(account_id=emulator.account_id, author="openai", search="gpt-oss")
    assert sorted(m["name"] for m in by_author) == ["@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"]


def test_models_schema_get(cf: cloudflare.Cloudflare, emulator: LocalEmulator) -> None:
    schema = cf.ai.models.schema.get(account_id=emulator.account_id, model="@cf/baai/bge-base-en-v1.5")
    # SDK 5.x types the answer (input/output models keeping every JSON-schema key); 4.x returns a dict.
    data = schema if isinstance(schema, dict) else schema.model_dump(by_alias=True)
    # Generated from @cloudflare/workers-types: {text, pooling} or a Batch API {requests}.
    assert (
        data["input"]["anyOf"][0]["required"] == ["text"]
        and "data" in data["output"]["anyOf"][0]["properties"]
    )
    assert "@cloudflare/workers-types" in data["input"]["$comment"]
    with pytest.raises(cloudflare.BadRequestError) as info:
        cf.ai.models.schema.get(account_id=emulator.account_id, model="@cf/someone/unknown")
    assert info.value.status_code == 400 and "5007" in str(info.value.body)
