"""Property-based tests (hypothesis), as a hostile user would try: filter translation and checking,
metadata validation, NDJSON building, and the emulator's filter engine against the client-side one."""

from __future__ import annotations

import time
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from llama_index.core.vector_stores.types import FilterOperator, MetadataFilter, MetadataFilters

from llamaindex_workersai import to_vectorize_filter
from tests.figures import record
from workersai import BadInput
from workersai.local.rules.vectorize import ndjson as parse_ndjson
from workersai.local.vectorize_store import VectorizeStore
from workersai.vectorize import ndjson_batches
from workersai.vectorize.checks import MAX_METADATA_BYTES, check_metadata
from workersai.vectorize.filters import check_filter, matches_filter

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True), st.text(max_size=20)
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
PROPS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPS
@given(st.one_of(json_values, st.dictionaries(st.text(max_size=12), json_values, max_size=6)))
def test_check_filter_accepts_or_raises_bad_input(candidate: Any) -> None:
    record("property-based inputs tried")
    try:
        out = check_filter(candidate)
    except BadInput:
        return
    assert out is None or (isinstance(out, dict) and len(orjson.dumps(out)) < 2048)


@PROPS
@given(st.dictionaries(st.text(max_size=12), json_values, max_size=8))
def test_check_metadata_accepts_or_raises_bad_input(metadata: dict[str, Any]) -> None:
    record("property-based inputs tried")
    try:
        check_metadata(metadata, "v")
    except BadInput:
        return
    assert len(orjson.dumps(metadata)) <= MAX_METADATA_BYTES
    assert all(k and "." not in k and '"' not in k and not k.startswith("$") for k in metadata)


keys = st.sampled_from(["a", "b", "c"])
safe_values = st.one_of(st.integers(-5, 5), st.sampled_from(["x", "y", "z"]), st.booleans())
vectors = st.lists(
    st.fixed_dictionaries(
        {
            "values": st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=3, max_size=3),
            "metadata": st.dictionaries(keys, safe_values, max_size=3),
            "namespace": st.one_of(st.none(), st.sampled_from(["n1", "n2"])),
        }
    ),
    min_size=1,
    max_size=40,
)


@PROPS
@given(vectors, st.integers(1, 7), st.integers(200, 2000))
def test_ndjson_round_trips_within_the_limits(
    items: list[dict[str, Any]], max_vectors: int, max_bytes: int
) -> None:
    record("property-based inputs tried")
    records = [{"id": f"id-{i}", **item} for i, item in enumerate(items)]
    try:
        batches = list(ndjson_batches(records, 3, max_vectors=max_vectors, max_bytes=max_bytes))
    except BadInput:
        assert any(len(orjson.dumps(r)) + 1 > max_bytes for r in records)
        return
    parsed = [v for b in batches for v in parse_ndjson(b.body)]
    for batch in batches:
        assert len(batch.ids) <= max_vectors and len(batch.body) <= max_bytes
    assert [p["id"] for p in parsed] == [r["id"] for r in records]
    for got, sent in zip(parsed, records, strict=True):
        assert got["values"] == sent["values"]
        assert got.get("metadata", {}) == sent["metadata"]
        assert got.get("namespace") == sent["namespace"]


OPS = [
    FilterOperator.EQ,
    FilterOperator.NE,
    FilterOperator.GT,
    FilterOperator.GTE,
    FilterOperator.LT,
    FilterOperator.LTE,
    FilterOperator.IN,
    FilterOperator.NIN,
]


def li_filter() -> st.SearchStrategy[MetadataFilter]:
    def build(key: str, op: FilterOperator, n: int, many: list[int]) -> MetadataFilter:
        value: Any = many if op in (FilterOperator.IN, FilterOperator.NIN) else n
        return MetadataFilter(key=key, operator=op, value=value)

    return st.builds(
        build,
        keys,
        st.sampled_from(OPS),
        st.integers(-5, 5),
        st.lists(st.integers(-5, 5), min_size=1, max_size=3),
    )


def li_reference(meta: dict[str, Any], f: MetadataFilter) -> bool:
    present, have, v = f.key in meta, meta.get(f.key), f.value
    op = FilterOperator(f.operator)
    if op == FilterOperator.NE:
        return not present or have != v
    if op == FilterOperator.NIN:
        return not present or have not in v  # type: ignore[operator]
    if not present:
        return False
    return {
        FilterOperator.EQ: lambda: have == v,
        FilterOperator.GT: lambda: have > v,
        FilterOperator.GTE: lambda: have >= v,
        FilterOperator.LT: lambda: have < v,
        FilterOperator.LTE: lambda: have <= v,
        FilterOperator.IN: lambda: have in v,  # type: ignore[operator]
    }[op]()


@PROPS
@given(
    st.lists(li_filter(), min_size=1, max_size=3),
    st.lists(st.dictionaries(keys, st.integers(-5, 5), max_size=3), max_size=20),
)
def test_llamaindex_filters_translate_faithfully(
    filters: list[MetadataFilter], metas: list[dict[str, Any]]
) -> None:
    record("property-based inputs tried")
    try:
        translated = to_vectorize_filter(MetadataFilters(filters=filters))
    except NotImplementedError as exc:  # two different values for one operator on one key
        assert "cannot be expressed" in str(exc)
        return
    for meta in metas:
        assert matches_filter(meta, translated) == all(li_reference(meta, f) for f in filters)


@pytest.fixture(scope="module")
def store() -> Any:
    s = VectorizeStore(None, mutation_delay_ms=0)
    yield s
    s.close()


scalar_filters = st.dictionaries(
    keys,
    st.one_of(
        st.integers(-5, 5),
        st.fixed_dictionaries(
            {},
            optional={
                "$eq": st.integers(-5, 5),
                "$ne": st.integers(-5, 5),
                "$lt": st.integers(-5, 5),
                "$gte": st.integers(-5, 5),
                "$in": st.lists(st.integers(-5, 5), min_size=1, max_size=3),
                "$nin": st.lists(st.integers(-5, 5), min_size=1, max_size=3),
            },
        ).filter(bool),
    ),
    min_size=1,
    max_size=2,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    st.lists(st.dictionaries(keys, st.integers(-5, 5), max_size=3), min_size=1, max_size=30), scalar_filters
)
def test_emulator_filters_agree_with_the_client_side_evaluator(
    store: Any, metas: list[dict[str, Any]], flt: dict[str, Any]
) -> None:
    record("property-based inputs tried")
    name = f"p{time.monotonic_ns()}"
    store.create_index("acct", name, 3, "cosine", None)
    for key in ("a", "b", "c"):
        store.create_metadata_index("acct", name, key, "number")
    mutation = store.write(
        "acct",
        name,
        "upsert",
        [{"id": f"v{i}", "values": [1.0, 0.5, i], "metadata": m} for i, m in enumerate(metas)],
    )
    deadline = time.monotonic() + 10
    while store.info("acct", name)["processedUpToMutation"] != mutation:
        assert time.monotonic() < deadline
        time.sleep(0.002)
    found = store.query("acct", name, [1.0, 0.0, 0.0], 100, False, "none", check_filter(flt), None)
    expected = {f"v{i}" for i, m in enumerate(metas) if matches_filter(m, flt)}
    assert {m["id"] for m in found["matches"]} == expected
    store.delete_index("acct", name)
