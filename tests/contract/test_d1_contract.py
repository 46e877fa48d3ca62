"""The client's D1 checks against the emulator's answers: for statements around D1's limits, the client
refuses before sending exactly what the emulator (its own statement of D1's rules) answers with 400."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from workersai import BadInput, d1
from workersai.local import LocalEmulator
from workersai.local.rules import d1 as rules


@pytest.fixture(scope="module")
def raw_query(emulator: LocalEmulator) -> Iterator[tuple[httpx.Client, str]]:
    base = f"{emulator.base_url}/accounts/{emulator.account_id}/d1/database"
    with httpx.Client(headers={"Authorization": f"Bearer {emulator.token}"}, timeout=30) as http:
        created = http.post(base, json={"name": f"contract-{uuid.uuid4().hex[:8]}"}).json()["result"]
        yield http, f"{base}/{created['uuid']}/query"
        http.delete(f"{base}/{created['uuid']}")


def _client_accepts(sql: str, params: list[object]) -> bool:
    try:
        d1.check_statement(sql, params)  # type: ignore[arg-type]
    except BadInput:
        return False
    return True


def _service_accepts(raw_query: tuple[httpx.Client, str], sql: str, params: list[object]) -> bool:
    http, url = raw_query
    response = http.post(url, json={"sql": sql, "params": params} if params else {"sql": sql})
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert response.json()["errors"][0]["code"] == rules.QUERY_ERROR
    return response.status_code == 200


@pytest.mark.parametrize("count", [0, 1, 99, 100, 101, 150])
def test_bound_parameters(raw_query: tuple[httpx.Client, str], count: int) -> None:
    sql = "SELECT " + (", ".join("?" * count) if count else "1")
    params: list[object] = list(range(count))
    assert _client_accepts(sql, params) == _service_accepts(raw_query, sql, params)


@pytest.mark.parametrize("size", [99_999, 100_000, 100_001])
@pytest.mark.parametrize("filler", [" ", "é"], ids=["ascii", "two-byte"])
def test_statement_length(raw_query: tuple[httpx.Client, str], size: int, filler: str) -> None:
    head = "SELECT 1 -- "
    room = size - len(head.encode())
    sql = head + filler * (room // len(filler.encode())) + " " * (room % len(filler.encode()))
    assert len(sql.encode()) == size
    assert _client_accepts(sql, []) == _service_accepts(raw_query, sql, [])


@pytest.mark.parametrize("value", [{"a": 1}, [1, 2]], ids=["object", "array"])
def test_unbindable_values(raw_query: tuple[httpx.Client, str], value: object) -> None:
    assert _client_accepts("SELECT ?", [value]) == _service_accepts(raw_query, "SELECT ?", [value]) is False


@pytest.mark.parametrize("name", ["MAX_BOUND_PARAMETERS", "MAX_SQL_BYTES"])
def test_declared_limits_are_equal(name: str) -> None:
    assert getattr(d1, name) == getattr(rules, name)
