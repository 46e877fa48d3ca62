"""Vectorize over real HTTP against the emulator: every endpoint, semantics, limits and durability."""

from __future__ import annotations

import asyncio
import json
import math
import random
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from workersai import (
    BadInput,
    DimensionMismatch,
    IndexAlreadyExists,
    IndexNotFound,
    MutationTimeout,
    RetryPolicy,
    WorkersAI,
)
from workersai.local import LocalEmulator
from workersai.vectorize import Vector, Vectorize
from workersai.vectorize.filters import FilterNotIndexed

from .conftest import RequestLog


@pytest.fixture
def vz(client: WorkersAI) -> Vectorize:
    return client.vectorize


@pytest.fixture
def index(vz: Vectorize) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:12]}"
    vz.create_index(name, dimensions=4, metric="cosine")
    yield name
    vz.delete_index(name)


def vec(i: int, dims: int = 4, **extra: Any) -> dict[str, Any]:
    rng = random.Random(i)
    return {"id": f"v{i}", "values": [rng.uniform(-1, 1) for _ in range(dims)], **extra}


# -- index management --------------------------------------------------------------------------


def test_index_lifecycle(vz: Vectorize) -> None:
    name = f"life-{uuid.uuid4().hex[:8]}"
    created = vz.create_index(name, dimensions=32, metric="euclidean", description="for a test")
    assert (created.name, created.dimensions, created.metric, created.description) == (
        name,
        32,
        "euclidean",
        "for a test",
    )
    assert vz.get_index(name).dimensions == 32
    assert name in [i.name for i in vz.list_indexes()]
    info = vz.info(name)
    assert (info.dimensions, info.vector_count, info.processed_up_to_mutation) == (32, 0, None)
    with pytest.raises(IndexAlreadyExists) as dup:
        vz.create_index(name, dimensions=32)
    assert dup.value.code == 3002
    vz.delete_index(name)
    with pytest.raises(IndexNotFound) as missing:
        vz.get_index(name)
    assert (missing.value.status, missing.value.code) == (404, 3000)


def test_preset_index(vz: Vectorize) -> None:
    name = f"preset-{uuid.uuid4().hex[:8]}"
    created = vz.create_index(name, preset="@cf/baai/bge-base-en-v1.5")
    assert (created.dimensions, created.metric) == (768, "cosine")
    vz.delete_index(name)


@pytest.mark.parametrize("name", ["Upper", "1abc", "ends-", "a", "has space", "dots.no", "x" * 65, "../etc"])
def test_bad_index_names_fail_before_sending(
    logged_client: WorkersAI, request_log: RequestLog, name: str
) -> None:
    with pytest.raises(BadInput, match="invalid index name"):
        logged_client.vectorize.create_index(name, dimensions=3)
    with pytest.raises(BadInput):
        logged_client.vectorize.query(name, [1.0, 2.0])
    assert request_log.requests == []


# -- writes and read-your-writes ---------------------------------------------------------------


def test_insert_ignores_existing_ids_upsert_replaces_whole(vz: Vectorize, index: str) -> None:
    vz.insert(index, [{"id": "a", "values": [1, 0, 0, 0], "metadata": {"x": 1, "y": 2}}], wait=True)
    vz.insert(index, [{"id": "a", "values": [0, 1, 0, 0], "metadata": {"x": 9}}], wait=True)
    [a] = vz.get_by_ids(index, ["a"])
    assert (a.values, a.metadata) == ([1, 0, 0, 0], {"x": 1, "y": 2})
    vz.upsert(index, [{"id": "a", "values": [0, 1, 0, 0], "metadata": {"x": 9}}], wait=True)
    [a] = vz.get_by_ids(index, ["a"])
    assert (a.values, a.metadata) == ([0, 1, 0, 0], {"x": 9})  # replaced whole, not merged


def test_writes_are_asynchronous_until_applied(tmp_path: Path) -> None:
    with LocalEmulator(mutation_delay_ms=60_000) as emu, emu.client() as client:
        vz = client.vectorize
        vz.create_index("slow", dimensions=4)
        [mutation] = vz.upsert("slow", [vec(1)])
        info = vz.info("slow")
        assert info.vector_count == 0 and info.processed_up_to_mutation != mutation
        assert vz.get_by_ids("slow", ["v1"]) == []
        with pytest.raises(MutationTimeout):
            vz.wait_for_mutation("slow", mutation, timeout=0.2)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_deferred_writes_are_confirmed_together(use_async: bool) -> None:
    # Each write call returns once accepted; confirm_writes then waits for all nine requests at once.
    with LocalEmulator(mutation_delay_ms=300) as emu, emu.client() as client:
        vz = client.vectorize
        vz.create_index("later", dimensions=4)
        for call in range(3):
            rows = [vec(i) for i in range(call * 25, call * 25 + 25)]
            if use_async:
                await vz.aupsert("later", rows, wait="deferred", batch_size=10)
            else:
                vz.upsert("later", rows, wait="deferred", batch_size=10)
        assert vz.has_deferred_writes("later")
        if use_async:
            await vz.aconfirm_writes("later", timeout=30)
        else:
            vz.confirm_writes("later", timeout=30)
        assert not vz.has_deferred_writes("later")
        assert vz.info("later").vector_count == 75
        [last] = vz.get_by_ids("later", ["v74"])
        assert last.values == pytest.approx(vec(74)["values"], rel=1e-6)  # stored as float32
        vz.confirm_writes("later")  # nothing left: returns at once


def test_an_unknown_wait_is_refused_before_sending(logged_client: WorkersAI, request_log: RequestLog) -> None:
    request_log.requests.clear()
    with pytest.raises(BadInput, match="wait must be"):
        logged_client.vectorize.upsert("any-index", [vec(1)], wait="later")  # type: ignore[arg-type]
    assert request_log.requests == []


def test_deferred_writes_stay_on_record_when_the_wait_times_out() -> None:
    with LocalEmulator(mutation_delay_ms=60_000) as emu, emu.client() as client:
        vz = client.vectorize
        vz.create_index("stuck", dimensions=4)
        vz.upsert("stuck", [vec(1), vec(2)], wait="deferred")
        assert vz.get_by_ids("stuck", ["v1", "v2"]) == []  # accepted, not applied
        with pytest.raises(MutationTimeout):
            vz.confirm_writes("stuck", timeout=0.2)
        assert vz.has_deferred_writes("stuck")  # a later read still waits for them
        vz.delete_index("stuck")
        assert not vz.has_deferred_writes("stuck")


def test_read_your_writes(vz: Vectorize, index: str) -> None:
    mutations = vz.upsert(index, [vec(i) for i in range(30)], wait=True)
    assert len(mutations) == 1
    assert vz.info(index).vector_count == 30
    mutation = vz.delete_by_ids(index, ["v0", "v1"], wait=True)
    assert vz.info(index).processed_up_to_mutation == mutation
    assert vz.info(index).vector_count == 28


def test_delete_by_ids_is_split_into_requests_of_100_ids(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    """Vectorize refuses a delete of more than 100 ids whole (40007, wevm/vocs#577): 250 ids go as
    100 + 100 + 50, and all of them are deleted."""
    vz = logged_client.vectorize
    name = f"del-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    vz.upsert(name, [vec(i) for i in range(260)], wait=True)
    request_log.requests.clear()
    vz.delete_by_ids(name, [f"v{i}" for i in range(250)], wait=True)
    deletes = [r for r in request_log.requests if r.url.path.endswith("/delete_by_ids")]
    sizes = sorted(len(json.loads(r.content)["ids"]) for r in deletes)
    assert sizes == [50, 100, 100]
    assert vz.info(name).vector_count == 10


def test_the_emulator_refuses_a_delete_of_more_than_100_ids(emulator: LocalEmulator, index: str) -> None:
    """The service's answer past 100 ids, over raw HTTP (the client never sends one)."""
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/vectorize/v2/indexes/{index}/delete_by_ids"
    headers = {"Authorization": f"Bearer {emulator.token}"}
    too_many = httpx.post(url, json={"ids": [f"v{i}" for i in range(101)]}, headers=headers, timeout=60)
    assert too_many.status_code == 400
    error = too_many.json()["errors"][0]
    assert error["code"] == 40007
    assert error["message"] == "too many ids in payload; max id count is 100, got 101"
    ok = httpx.post(url, json={"ids": [f"v{i}" for i in range(100)]}, headers=headers, timeout=60)
    assert ok.status_code == 200 and ok.json()["result"]["mutationId"]


def test_large_writes_are_split_into_5000_vector_ndjson_requests(
    logged_client: WorkersAI, request_log: RequestLog
) -> None:
    vz = logged_client.vectorize
    name = f"big-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    request_log.requests.clear()
    mutations = vz.upsert(name, (vec(i) for i in range(12_001)), wait=True)
    writes = [r for r in request_log.requests if r.url.path.endswith("/upsert")]
    assert len(mutations) == 3 and len(writes) == 3
    assert all(r.headers["content-type"] == "application/x-ndjson" for r in writes)
    assert sorted(r.content.count(b"\n") for r in writes) == [2001, 5000, 5000]
    assert vz.info(name).vector_count == 12_001
    vz.delete_index(name)


def test_multipart_body_is_accepted(client: WorkersAI, vz: Vectorize, index: str) -> None:
    ndjson = b'{"id":"m1","values":[1,2,3,4]}\n{"id":"m2","values":[4,3,2,1],"metadata":{"k":"v"}}\n'
    response = httpx.post(
        client.account_url(f"vectorize/v2/indexes/{index}/insert"),
        files={"vectors": ("vectors.ndjson", ndjson, "application/x-ndjson")},
        headers={"Authorization": client.transport.headers["Authorization"]},
    )
    assert response.status_code == 200
    mutation = response.json()["result"]["mutationId"]
    vz.wait_for_mutation(index, mutation)
    assert {v.id for v in vz.get_by_ids(index, ["m1", "m2"])} == {"m1", "m2"}


def test_malformed_ndjson_is_40023(client: WorkersAI, index: str) -> None:
    with pytest.raises(BadInput) as info:
        client.transport.request(
            "POST",
            client.account_url(f"vectorize/v2/indexes/{index}/upsert"),
            content=b'{"id": "x", "values": [1,2,3,4]}\nnot json\n',
            headers={"Content-Type": "application/x-ndjson"},
        )
    assert (info.value.status, info.value.code) == (400, 40023)


def test_dimension_mismatch_from_the_service(emulator: LocalEmulator, index: str) -> None:
    with emulator.client(max_retries=0) as fresh:  # a client that has not learned the index's dimensions
        with pytest.raises(DimensionMismatch) as insert:
            fresh.vectorize.upsert(index, [vec(1, dims=3)])
        assert insert.value.code == 40012
        with pytest.raises(DimensionMismatch) as query:
            fresh.vectorize.query(index, [1.0, 2.0])
        assert query.value.code == 40006


# -- validation before the network -------------------------------------------------------------


@pytest.mark.parametrize(
    ("vector", "message"),
    [
        ({"id": "x" * 65, "values": [1, 2, 3, 4]}, "64"),
        ({"id": "é" * 33, "values": [1, 2, 3, 4]}, "64"),
        ({"id": "", "values": [1, 2, 3, 4]}, "non-empty"),
        ({"id": "a", "values": [1, 2, 3]}, "dimensions"),
        ({"id": "a", "values": [1, 2, 3, float("nan")]}, "finite"),
        ({"id": "a", "values": [1, 2, 3, float("inf")]}, "finite"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {"text": "x" * 10_300}}, "10 KiB"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {"a.b": 1}}, "may not contain"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {"$x": 1}}, "may not contain"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {'q"': 1}}, "may not contain"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {"": 1}}, "non-empty"),
        ({"id": "a", "values": [1, 2, 3, 4], "metadata": {"n": {"$deep": 1}}}, "may not contain"),
        ({"id": "a", "values": [1, 2, 3, 4], "namespace": "n" * 65}, "namespace"),
    ],
)
def test_bad_vectors_fail_before_sending_and_nothing_is_written(
    logged_client: WorkersAI, request_log: RequestLog, vector: dict[str, Any], message: str
) -> None:
    vz = logged_client.vectorize
    name = f"val-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    request_log.requests.clear()
    with pytest.raises(BadInput, match=message):
        vz.upsert(name, [vec(1), vector])
    assert request_log.requests == []
    assert vz.info(name).vector_count == 0
    vz.delete_index(name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_a_bad_vector_late_in_a_list_stops_every_batch_before_sending(
    logged_client: WorkersAI, request_log: RequestLog, use_async: bool
) -> None:
    # A list is checked whole before its first batch: the 26th vector is bad, batches hold 10.
    vz = logged_client.vectorize
    name = f"late-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    vectors = [vec(i) for i in range(25)] + [{"id": "bad", "values": [1.0, 2.0, 3.0]}]
    request_log.requests.clear()
    with pytest.raises(BadInput, match="'bad' has 3 dimensions"):
        if use_async:
            await vz.aupsert(name, vectors, batch_size=10)
        else:
            vz.upsert(name, vectors, batch_size=10)
    assert request_log.requests == []
    assert vz.info(name).vector_count == 0
    vz.delete_index(name)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"top_k": 101}, "between 1 and 100"),
        ({"top_k": 51, "return_values": True}, "between 1 and 50"),
        ({"top_k": 51, "return_metadata": "all"}, "between 1 and 50"),
        ({"top_k": 0}, "between 1"),
        ({"filter": {"k": {"$regex": "a"}}}, "unknown operator"),
        ({"filter": {"$and": [{"a": 1}]}}, "not a property name"),
        ({"filter": {"k": {"$in": "abc"}}}, "non-empty list"),
        ({"filter": {"k": {"$gt": True}}}, "string or a number"),
        ({"filter": {"k": {"$eq": {"nested": 1}}}}, "string, number, boolean"),
        ({"filter": {f"key{i}": "v" * 40 for i in range(50)}}, "2048"),
        ({"return_metadata": "some"}, "returnMetadata"),
    ],
)
def test_bad_queries_fail_before_sending(
    logged_client: WorkersAI, request_log: RequestLog, options: dict[str, Any], message: str
) -> None:
    with pytest.raises(BadInput, match=message):
        logged_client.vectorize.query("some-index", [0.1, 0.2, 0.3, 0.4], **options)
    assert request_log.requests == []


def test_top_k_ceiling_on_the_service(client: WorkersAI, index: str) -> None:
    with pytest.raises(BadInput) as info:
        client.transport.request(
            "POST",
            client.account_url(f"vectorize/v2/indexes/{index}/query"),
            json={"vector": [1, 2, 3, 4], "topK": 60, "returnValues": True},
        )
    assert info.value.code == 40025


# -- queries ------------------------------------------------------------------------------------


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot-product"])
def test_query_ranks_like_brute_force(vz: Vectorize, metric: str) -> None:
    name = f"m-{metric}-{uuid.uuid4().hex[:6]}"
    vz.create_index(name, dimensions=8, metric=metric)  # type: ignore[arg-type]
    rows = [vec(i, dims=8) for i in range(200)]
    vz.upsert(name, rows, wait=True)
    q = vec(999, dims=8)["values"]
    matrix = np.array([r["values"] for r in rows])
    qa = np.array(q)
    if metric == "cosine":
        scores = matrix @ qa / (np.linalg.norm(matrix, axis=1) * np.linalg.norm(qa))
        expected = np.argsort(-scores)[:10]
    elif metric == "dot-product":
        scores = matrix @ qa
        expected = np.argsort(-scores)[:10]
    else:
        scores = np.linalg.norm(matrix - qa, axis=1)
        expected = np.argsort(scores)[:10]
    result = vz.query(name, q, top_k=10, return_values=True)
    assert [m.id for m in result.matches] == [f"v{i}" for i in expected]
    assert [m.score for m in result.matches] == pytest.approx([float(scores[i]) for i in expected], rel=1e-4)
    assert result.matches[0].values == pytest.approx(rows[expected[0]]["values"], rel=1e-6)
    vz.delete_index(name)


def test_return_metadata_modes_and_namespaces(vz: Vectorize, index: str) -> None:
    vz.create_metadata_index(index, "kind", "string", wait=True)
    vz.upsert(
        index,
        [
            {
                "id": "a",
                "values": [1, 0, 0, 0],
                "metadata": {"kind": "doc", "body": "text"},
                "namespace": "left",
            },
            {
                "id": "b",
                "values": [1, 0.1, 0, 0],
                "metadata": {"kind": "doc", "body": "more"},
                "namespace": "right",
            },
        ],
        wait=True,
    )
    q = [1.0, 0.0, 0.0, 0.0]
    assert [m.metadata for m in vz.query(index, q, return_metadata="none").matches] == [None, None]
    assert vz.query(index, q, return_metadata="indexed").matches[0].metadata == {"kind": "doc"}
    assert vz.query(index, q, return_metadata="all").matches[0].metadata == {"kind": "doc", "body": "text"}
    right = vz.query(index, q, namespace="right").matches
    assert [(m.id, m.namespace) for m in right] == [("b", "right")]
    assert vz.query(index, q, namespace="nowhere").matches == []
    assert [m.id for m in vz.query(index, vector_id="b", top_k=1).matches] == ["b"]


def _reference(rows: list[dict[str, Any]], prop: str, op: str, value: Any) -> set[str]:
    out = set()
    for r in rows:
        have = r["metadata"].get(prop, None)
        present = prop in r["metadata"]
        if op == "$eq":
            ok = present and have == value
        elif op == "$ne":
            ok = not present or have != value
        elif op == "$in":
            ok = present and have in value
        elif op == "$nin":
            ok = not present or have not in value
        else:
            ok = (
                present
                and {"$lt": have < value, "$lte": have <= value, "$gt": have > value, "$gte": have >= value}[
                    op
                ]
            )
        if ok:
            out.add(r["id"])
    return out


@pytest.fixture(scope="module")
def filtered_index(emulator: LocalEmulator) -> Iterator[tuple[WorkersAI, str, list[dict[str, Any]]]]:
    client = emulator.client(retry_policy=RetryPolicy(max_retries=3))
    vz = client.vectorize
    name = f"f-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    vz.create_metadata_index(name, "n", "number")
    vz.create_metadata_index(name, "s", "string")
    vz.create_metadata_index(name, "b", "boolean", wait=True)
    rng = random.Random(5)
    rows = []
    for i in range(90):  # fewer than the top_k ceiling, so every match is returned
        meta: dict[str, Any] = {}
        if rng.random() < 0.85:
            meta["n"] = rng.randint(0, 20)
        if rng.random() < 0.85:
            meta["s"] = rng.choice(["apple", "banana", "cherry", "date"])
        if rng.random() < 0.85:
            meta["b"] = rng.random() < 0.5
        rows.append({"id": f"r{i:03d}", "values": vec(i)["values"], "metadata": meta})
    vz.upsert(name, rows, wait=True)
    yield client, name, rows
    vz.delete_index(name)
    client.close()


@pytest.mark.parametrize(
    ("prop", "op", "value"),
    [
        ("n", "$eq", 7),
        ("n", "$ne", 7),
        ("n", "$in", [1, 2, 3]),
        ("n", "$nin", [1, 2, 3]),
        ("n", "$lt", 5),
        ("n", "$lte", 5),
        ("n", "$gt", 15),
        ("n", "$gte", 15),
        ("s", "$eq", "banana"),
        ("s", "$ne", "banana"),
        ("s", "$in", ["apple", "date"]),
        ("s", "$nin", ["apple", "date"]),
        ("s", "$lt", "c"),
        ("s", "$gte", "c"),
        ("b", "$eq", True),
        ("b", "$ne", True),
    ],
)
def test_every_filter_operator_matches_brute_force(
    filtered_index: tuple[WorkersAI, str, list[dict[str, Any]]], prop: str, op: str, value: Any
) -> None:
    client, name, rows = filtered_index
    got = client.vectorize.query(name, [0.5, 0.5, 0.5, 0.5], top_k=100, filter={prop: {op: value}})
    assert {m.id for m in got.matches} == _reference(rows, prop, op, value)


def test_bare_values_and_and_of_keys(filtered_index: tuple[WorkersAI, str, list[dict[str, Any]]]) -> None:
    client, name, rows = filtered_index
    got = client.vectorize.query(
        name, [0.5, 0.5, 0.5, 0.5], top_k=100, filter={"s": "apple", "n": {"$gte": 10}}
    )
    expected = _reference(rows, "s", "$eq", "apple") & _reference(rows, "n", "$gte", 10)
    assert {m.id for m in got.matches} == expected


def test_only_indexed_properties_filter(vz: Vectorize, index: str) -> None:
    vz.upsert(index, [{"id": "early", "values": [1, 0, 0, 0], "metadata": {"tag": "x"}}], wait=True)
    q = [1.0, 0.0, 0.0, 0.0]
    # No metadata index on "tag": the service answers nothing, silently; the client says why first.
    raw = vz.client.transport.request(
        "POST",
        vz.client.account_url(f"vectorize/v2/indexes/{index}/query"),
        json={"vector": q, "filter": {"tag": "x"}},
    )
    assert raw.json()["result"]["matches"] == []
    with pytest.raises(FilterNotIndexed, match=r"create_metadata_index\('t-[0-9a-f]+', 'tag'"):
        vz.query(index, q, filter={"tag": "x"})
    vz.create_metadata_index(index, "tag", "string", wait=True)
    assert vz.list_metadata_indexes(index) == {"tag": "string"}
    vz.upsert(index, [{"id": "late", "values": [1, 0, 0, 0], "metadata": {"tag": "x"}}], wait=True)
    # Vectors written before the metadata index existed are not indexed under it.
    assert [m.id for m in vz.query(index, q, filter={"tag": "x"}).matches] == ["late"]
    vz.delete_metadata_index(index, "tag", wait=True)
    assert vz.list_metadata_indexes(index) == {}
    with pytest.raises(FilterNotIndexed):
        vz.query(index, q, filter={"tag": "x"})


def test_nested_keys_and_64_byte_string_prefix(vz: Vectorize, index: str) -> None:
    vz.create_metadata_index(index, "user.city", "string")
    vz.create_metadata_index(index, "title", "string", wait=True)
    long_a = "p" * 64 + "-alpha"
    long_b = "p" * 64 + "-beta"
    vz.upsert(
        index,
        [
            {"id": "a", "values": [1, 0, 0, 0], "metadata": {"user": {"city": "Paris"}, "title": long_a}},
            {"id": "b", "values": [0, 1, 0, 0], "metadata": {"user": {"city": "Oslo"}, "title": long_b}},
        ],
        wait=True,
    )
    q = [1.0, 1.0, 0.0, 0.0]
    assert [m.id for m in vz.query(index, q, filter={"user.city": "Oslo"}).matches] == ["b"]
    # Strings are indexed on their first 64 bytes, so both titles look alike to the filter.
    assert {m.id for m in vz.query(index, q, filter={"title": long_a}).matches} == {"a", "b"}


# -- reads --------------------------------------------------------------------------------------


def test_list_pages_and_get_by_ids_batches(logged_client: WorkersAI, request_log: RequestLog) -> None:
    vz = logged_client.vectorize
    name = f"list-{uuid.uuid4().hex[:8]}"
    vz.create_index(name, dimensions=4)
    vz.upsert(name, [vec(i) for i in range(53)], wait=True)
    request_log.requests.clear()
    ids = list(vz.list_ids(name, page_size=10))
    assert sorted(ids) == sorted(f"v{i}" for i in range(53)) and len(set(ids)) == 53
    assert len(request_log.requests) == 6
    request_log.requests.clear()
    got = vz.get_by_ids(name, [*ids, "missing"])
    assert len(got) == 53 and len(request_log.requests) == 3
    vz.delete_index(name)


async def test_async_twins(client: WorkersAI) -> None:
    vz = client.vectorize
    name = f"async-{uuid.uuid4().hex[:8]}"
    await vz.acreate_index(name, dimensions=4)
    assert (await vz.aget_index(name)).dimensions == 4
    assert name in [i.name for i in await vz.alist_indexes()]
    await vz.acreate_metadata_index(name, "k", "number", wait=True)
    assert await vz.alist_metadata_indexes(name) == {"k": "number"}
    await vz.aupsert(name, [vec(i, metadata={"k": i}) for i in range(40)], wait=True)
    await vz.ainsert(name, [vec(i) for i in range(40, 45)], wait=True)
    assert (await vz.ainfo(name)).vector_count == 45
    result = await vz.aquery(
        name, vec(3)["values"], top_k=3, filter={"k": {"$lt": 10}}, return_metadata="all"
    )
    assert result.matches[0].id == "v3" and all(m.metadata and m.metadata["k"] < 10 for m in result.matches)
    assert len(await vz.aget_by_ids(name, [f"v{i}" for i in range(45)])) == 45
    assert len([i async for i in vz.alist_ids(name, page_size=20)]) == 45
    await vz.adelete_by_ids(name, ["v0"], wait=True)
    assert (await vz.ainfo(name)).vector_count == 44
    await vz.adelete_metadata_index(name, "k", wait=True)
    await vz.adelete_index(name)


# -- durability and faults ---------------------------------------------------------------------


def test_indexes_survive_a_restart(tmp_path: Path) -> None:
    with LocalEmulator(data_dir=tmp_path) as emu, emu.client() as client:
        client.vectorize.create_index("keep", dimensions=4, metric="dot-product")
        client.vectorize.create_metadata_index("keep", "k", "number", wait=True)
        client.vectorize.upsert("keep", [vec(i, metadata={"k": i}) for i in range(25)], wait=True)
    with LocalEmulator(data_dir=tmp_path) as emu, emu.client() as client:
        assert client.vectorize.get_index("keep").metric == "dot-product"
        assert client.vectorize.info("keep").vector_count == 25
        found = client.vectorize.query("keep", vec(4)["values"], top_k=3, filter={"k": {"$gte": 20}})
        assert found.count == 3 and all(int(m.id[1:]) >= 20 for m in found.matches)


def test_acknowledged_writes_survive_a_stop_before_they_are_applied(tmp_path: Path) -> None:
    with LocalEmulator(data_dir=tmp_path, mutation_delay_ms=60_000) as emu, emu.client() as client:
        client.vectorize.create_index("pending", dimensions=4)
        [mutation] = client.vectorize.upsert("pending", [vec(i) for i in range(10)])
        assert client.vectorize.info("pending").vector_count == 0
    with LocalEmulator(data_dir=tmp_path, mutation_delay_ms=10) as emu, emu.client() as client:
        client.vectorize.wait_for_mutation("pending", mutation, timeout=10)
        assert client.vectorize.info("pending").vector_count == 10


def test_concurrent_writers_lose_nothing(emulator: LocalEmulator) -> None:
    name = f"conc-{uuid.uuid4().hex[:8]}"
    with emulator.client() as client:
        client.vectorize.create_index(name, dimensions=4)
        errors: list[BaseException] = []

        def writer(w: int) -> None:
            try:
                with emulator.client() as own:
                    for chunk in range(5):
                        rows = [vec(w * 1000 + chunk * 100 + i) for i in range(100)]
                        own.vectorize.upsert(name, rows, wait=True)
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=writer, args=(w,)) for w in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        ids = list(client.vectorize.list_ids(name))
        assert len(ids) == len(set(ids)) == 2000
        client.vectorize.delete_index(name)


@pytest.mark.parametrize(("fault", "use_async"), [("3040", False), ("500", True)])
def test_10000_vectors_through_faults_arrive_exactly_once(
    emulator: LocalEmulator, fault: str, use_async: bool
) -> None:
    name = f"faulty-{fault}-{uuid.uuid4().hex[:6]}"
    policy = RetryPolicy(max_retries=8, initial_backoff=0.01, max_backoff=0.05, jitter=0.01)
    with emulator.client(retry_policy=policy) as client:
        vz = client.vectorize
        vz.create_index(name, dimensions=8)
        emulator.set_faults(error=fault, error_rate=0.3, scope="vectorize", seed=11)
        rows = (vec(i, dims=8) for i in range(10_000))
        if use_async:
            mutations = asyncio.run(vz.aupsert(name, rows, wait=True, batch_size=500))
        else:
            mutations = vz.upsert(name, rows, wait=True, batch_size=500)
        assert len(mutations) == 20
        injected = emulator.clear_faults()["injected"]
        ids = list(vz.list_ids(name))
        assert len(ids) == len(set(ids)) == 10_000
        assert vz.info(name).vector_count == 10_000
        sample = vz.get_by_ids(name, [f"v{i}" for i in range(0, 10_000, 500)])
        assert len(sample) == 20
        assert all(
            math.isclose(s.values[0], vec(int(s.id[1:]), dims=8)["values"][0], rel_tol=1e-6) for s in sample
        )
        vz.delete_index(name)
    assert injected >= 5  # about 30% of the 20 writes and the reads that confirm them failed


def test_vector_model_round_trip(vz: Vectorize, index: str) -> None:
    vz.upsert(
        index,
        [Vector(id="typed", values=[0.5, 0.5, 0.5, 0.5], metadata={"ok": True}, namespace="n")],
        wait=True,
    )
    [got] = vz.get_by_ids(index, ["typed"])
    assert got == Vector(id="typed", values=[0.5, 0.5, 0.5, 0.5], metadata={"ok": True}, namespace="n")


def test_async_loop_reuse_is_safe(client: WorkersAI) -> None:
    # Sync code calling asyncio.run repeatedly gets a fresh async pool per event loop.
    for _ in range(3):
        assert len(asyncio.run(client.aembed(["loop"]))) == 1


async def test_async_writes_take_an_async_iterable(client: WorkersAI) -> None:
    """``aupsert`` pulls vectors from an async generator, batch by batch (a store embeds the next
    texts while earlier batches upload)."""
    name = f"agen-{uuid.uuid4().hex[:8]}"
    await client.vectorize.acreate_index(name, dimensions=3)
    pulled: list[int] = []

    async def vectors() -> Any:
        for i in range(12):
            pulled.append(i)
            yield {"id": f"g{i}", "values": [1.0, float(i), 2.0], "metadata": {"i": i}}

    mutations = await client.vectorize.aupsert(name, vectors(), wait=True, batch_size=5)
    assert len(mutations) == 3 and pulled == list(range(12))
    got = await client.vectorize.aget_by_ids(name, [f"g{i}" for i in range(12)])
    assert sorted((v.metadata or {})["i"] for v in got) == list(range(12))
    await client.vectorize.adelete_index(name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
async def test_create_index_exist_ok_and_metadata_indexes(vz: Vectorize, use_async: bool) -> None:
    name = f"ok-{uuid.uuid4().hex[:8]}"
    create = vz.acreate_index if use_async else vz.create_index

    async def call(**kw: Any) -> Any:
        out = create(name, dimensions=4, **kw)
        return await out if use_async else out

    await call(metadata_indexes={"lang": "string", "year": "number"})
    assert vz.list_metadata_indexes(name) == {"lang": "string", "year": "number"}
    with pytest.raises(IndexAlreadyExists):
        await call()
    again = await call(exist_ok=True, metadata_indexes={"other": "string"})
    assert again.dimensions == 4
    assert "other" not in vz.list_metadata_indexes(name)  # an existing index is used as it is
    with pytest.raises(BadInput, match="metadata index"):
        vz.create_index(f"no-{uuid.uuid4().hex[:8]}", dimensions=4, metadata_indexes={"x": "date"})


@pytest.mark.parametrize("dimensions", [0, 1537])
def test_dimensions_over_the_cap_are_refused_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, dimensions: int
) -> None:
    # Vectorize takes 1..1536 dimensions (/vectorize/platform/limits/); the emulator refuses more itself
    # (tests/local/test_catalog_and_writes.py), the client does not send it.
    with pytest.raises(BadInput, match="1536"):
        logged_client.vectorize.create_index(f"cap-{uuid.uuid4().hex[:8]}", dimensions=dimensions)
    assert request_log.requests == []
    name = f"cap-{uuid.uuid4().hex[:8]}"
    assert logged_client.vectorize.create_index(name, dimensions=1536).dimensions == 1536
