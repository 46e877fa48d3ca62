"""Contract: the AI Search client accepts an input (its checks raise no ``BadInput``) if and only if the
emulator answers it with success when sent raw over HTTP. The emulator states the service's rules in
:mod:`workersai.local.rules.ai_search`, written apart from the client's checks, so either can be caught."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workersai import BadInput
from workersai.ai_search import check_instance_id, search_options
from workersai.local import LocalEmulator

PROPS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def client_accepts(check: Callable[[], object]) -> bool:
    try:
        check()
    except BadInput:
        return False
    return True


@pytest.fixture(scope="module")
def raw(emulator: LocalEmulator) -> Iterator[tuple[httpx.Client, str]]:
    name = f"contract-{uuid.uuid4().hex[:8]}"
    with httpx.Client(
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai-search",
        headers={"Authorization": f"Bearer {emulator.token}"},
        timeout=60,
    ) as http:
        http.post("/instances", json={"id": name})
        http.post(
            f"/instances/{name}/items", files={"file": ("a.md", b"Contract tests need one chunk of text.")}
        )
        yield http, name
        http.delete(f"/instances/{name}")


numbers = st.one_of(
    st.none(),
    st.integers(-3, 60),
    st.floats(-0.5, 1.5, allow_nan=False),
    st.booleans(),
    st.text(max_size=2),
)
filters = st.dictionaries(
    st.sampled_from(["folder", "filename", "kind"]),
    st.one_of(
        st.text(max_size=5),
        st.integers(),
        st.dictionaries(
            st.sampled_from(["$eq", "$ne", "$in", "$nin", "$gt", "$lte", "$like", "eq"]),
            st.one_of(st.text(max_size=3), st.integers(), st.lists(st.text(max_size=3), max_size=2)),
            max_size=2,
        ),
    ),
    max_size=2,
)


@PROPS
@given(
    max_num_results=numbers,
    score_threshold=numbers,
    fusion_method=st.one_of(st.none(), st.sampled_from(["rrf", "max", "sum", "RRF"])),
    retrieval_type=st.one_of(st.none(), st.sampled_from(["hybrid", "vector", "keyword", "bm25"])),
    flt=filters,
)
def test_search_options(
    raw: tuple[httpx.Client, str],
    max_num_results: Any,
    score_threshold: Any,
    fusion_method: Any,
    retrieval_type: Any,
    flt: dict[str, Any],
) -> None:
    http, name = raw
    given_options = {
        "max_num_results": max_num_results,
        "score_threshold": score_threshold,
        "fusion_method": fusion_method,
        "retrieval_type": retrieval_type,
        "filters": flt,
    }
    accepted = client_accepts(lambda: search_options(**given_options))
    retrieval = {
        "max_num_results": max_num_results,
        "match_threshold": score_threshold,
        "fusion_method": fusion_method,
        "retrieval_type": retrieval_type,
        "filters": flt,
    }
    body = {
        "messages": [{"role": "user", "content": "contract"}],
        "ai_search_options": {"retrieval": {k: v for k, v in retrieval.items() if v is not None}},
    }
    response = http.post(f"/instances/{name}/search", json=body)
    assert accepted == (response.status_code == 200), (given_options, response.text)


@PROPS
@given(st.text(alphabet="abcXYZ019-_ .é", min_size=0, max_size=70))
def test_instance_ids(raw: tuple[httpx.Client, str], instance: str) -> None:
    http, _ = raw
    accepted = client_accepts(lambda: check_instance_id(instance))
    response = http.post("/instances", json={"id": instance})
    if response.status_code == 200:
        http.delete(f"/instances/{instance}")
    assert accepted == (response.status_code == 200), (instance, response.text)
