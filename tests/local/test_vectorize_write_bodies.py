"""Vectorize write bodies over raw HTTP: big bodies are parsed in a worker process
(:mod:`workersai.local.vectorize_batch`) with the same answers as small ones parsed in a thread, and a
body whose vectors differ in length is the service's dimension error (40012), not a crash."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import numpy as np
import orjson
import pytest

from workersai.local import LocalEmulator
from workersai.local.vectorize_batch import PROCESS_THRESHOLD_BYTES, ParserPool, parse_batch, parser_pool

HEADERS = {"Content-Type": "application/x-ndjson"}


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    with LocalEmulator(mutation_delay_ms=0) as emu:
        base = f"{emu.base_url}/accounts/{emu.account_id}/vectorize/v2"
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emu.token}"}) as client:
            yield client


def error(answer: httpx.Response) -> tuple[int, int, str]:
    body = answer.json()
    assert body["success"] is False, body
    return answer.status_code, body["errors"][0]["code"], body["errors"][0]["message"]


def make_index(http: httpx.Client, name: str, dims: int) -> None:
    answer = http.post("/indexes", json={"name": name, "config": {"dimensions": dims, "metric": "cosine"}})
    assert answer.status_code == 200, answer.text


def ndjson(values: np.ndarray, first: int = 0) -> bytes:
    return b"\n".join(
        b'{"id":"v%d","values":%s,"metadata":{"n":%d}}'
        % (first + k, orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY), first + k)
        for k, row in enumerate(values)
    )


def settle(http: httpx.Client, name: str, mutation: str) -> None:
    for _ in range(2000):
        if http.get(f"/indexes/{name}/info").json()["result"]["processedUpToMutation"] == mutation:
            return
        time.sleep(0.005)
    raise AssertionError(f"mutation {mutation} was never applied")


def test_vectors_of_different_lengths_in_one_body_are_a_dimension_error(http: httpx.Client) -> None:
    make_index(http, "ragged", 3)
    body = b'{"id": "a", "values": [1, 0, 0]}\n{"id": "b", "values": [1, 0, 0, 0]}\n'
    status, code, message = error(http.post("/indexes/ragged/upsert", content=body, headers=HEADERS))
    assert (status, code) == (400, 40012)
    assert "'b' has 4 dimensions" in message
    wrong = b'{"id": "a", "values": [1, 0]}\n{"id": "b", "values": [1, 0]}\n'
    assert error(http.post("/indexes/ragged/insert", content=wrong, headers=HEADERS))[:2] == (400, 40012)


def test_a_big_body_is_parsed_in_a_worker_process_with_the_same_answers(http: httpx.Client) -> None:
    make_index(http, "big", 768)
    values = np.random.default_rng(1).standard_normal((200, 768)).astype(np.float32)
    body = ndjson(values)
    assert len(body) >= PROCESS_THRESHOLD_BYTES
    started = parser_pool()._started
    answer = http.post("/indexes/big/upsert", content=body, headers=HEADERS)
    assert answer.status_code == 200, answer.text
    assert parser_pool()._started >= max(started, 1)  # a worker process did it
    settle(http, "big", answer.json()["result"]["mutationId"])
    got = http.post("/indexes/big/get_by_ids", json={"ids": ["v0", "v123", "v199"]}).json()["result"]
    assert [g["id"] for g in got] == ["v0", "v123", "v199"]
    for g, k in zip(got, (0, 123, 199), strict=True):
        assert np.array_equal(np.asarray(g["values"], dtype=np.float32), values[k])
        assert g["metadata"] == {"n": k}
    assert http.get("/indexes/big/info").json()["result"]["vectorCount"] == 200

    # Refusals come back from the worker as the service's errors, naming the line.
    lines = body.split(b"\n")
    broken = b"\n".join([*lines[:149], lines[149][:-5], *lines[150:]])
    status, code, message = error(http.post("/indexes/big/insert", content=broken, headers=HEADERS))
    assert (status, code) == (400, 40023) and "line 150" in message
    assert http.post(
        "/indexes/big/insert?unparsable-behavior=discard", content=broken, headers=HEADERS
    ).is_success
    ragged = b"\n".join([*lines[:-1], b'{"id":"short","values":[1,2,3]}'])
    assert error(http.post("/indexes/big/upsert", content=ragged, headers=HEADERS))[:2] == (400, 40012)
    row = orjson.dumps(values[0], option=orjson.OPT_SERIALIZE_NUMPY)
    bad_key = b"\n".join([*lines[:-1], b'{"id":"k","values":%s,"metadata":{"$k":1}}' % row])
    assert error(http.post("/indexes/big/upsert", content=bad_key, headers=HEADERS))[:2] == (400, 40026)


def test_a_broken_worker_process_is_replaced_and_its_body_parsed_anyway() -> None:
    pool = ParserPool(max_workers=1)
    body = ndjson(np.ones((3, 4), dtype=np.float32))
    try:
        first = pool.parse(body, False)
        worker = pool._idle[0]
        worker.proc.kill()
        worker.proc.wait()
        again = pool.parse(body, False)  # parsed in this process; the dead worker dropped
        assert pool._idle == [] and pool._started == 0
        assert pool.parse(body, False).records == first.records  # a new worker
        assert pool._started == 1
    finally:
        pool.close()
    expected = parse_batch(body, False)
    for batch in (first, again):
        assert batch.records == expected.records and batch.lengths == [4, 4, 4]
        assert batch.values is not None and np.array_equal(batch.values, expected.values)
