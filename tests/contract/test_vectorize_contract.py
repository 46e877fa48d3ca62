"""Contract: the client accepts an input (its pre-request checks raise no ``BadInput``) if and only if
the emulator answers 200 to it sent raw over HTTP (bypassing the client's checks).

The emulator states the service's rules itself (:mod:`workersai.local.rules.vectorize`), so the two
sides are written independently and this test can catch either. Where today's client disagrees with
a documented rule of the service, a case here fails. The cases that once did (a trailing newline in an
index name, values beyond float32, lone surrogates in ids, metadata nested ~1500 deep, lists of numpy
float32 scalars) are kept as explicit tests.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workersai import BadInput
from workersai.local import LocalEmulator
from workersai.local.rules import vectorize as rules
from workersai.vectorize import checks as vectorize_limits
from workersai.vectorize import filters as vectorize_filters
from workersai.vectorize.filters import check_filter

DIMS = 4
PROPS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def client_accepts(check: Callable[[], object]) -> bool:
    """True when the client's check passes, False on BadInput; anything else is a client bug and fails."""
    try:
        check()
    except BadInput:
        return False
    return True


def dumps(value: Any) -> bytes:
    """JSON text as a client in any language could send it, at any depth (the stdlib encoder recurses
    and stops near Python's recursion limit): containers are written with an explicit stack."""
    out: list[str] = []
    stack: list[Any] = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, dict):
            parts: list[Any] = [_Raw("{")]
            for i, (key, sub) in enumerate(item.items()):
                parts += [_Raw(("," if i else "") + json.dumps(key) + ":"), sub]
            stack.extend(reversed([*parts, _Raw("}")]))
        elif isinstance(item, list):
            parts = [_Raw("[")]
            for i, sub in enumerate(item):
                parts += [_Raw("," if i else ""), sub]
            stack.extend(reversed([*parts, _Raw("]")]))
        else:
            out.append(json.dumps(item))
    return "".join(out).encode()


class _Raw:
    def __init__(self, text: str) -> None:
        self.text = text


class Raw:
    """Requests to the emulator's Vectorize API, bypassing the client."""

    def __init__(self, emulator: LocalEmulator) -> None:
        self.http = httpx.Client(
            base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/vectorize/v2",
            headers={"Authorization": f"Bearer {emulator.token}"},
            timeout=30,
        )

    def accepts(self, method: str, path: str, body: Any = None, *, ndjson: list[Any] | None = None) -> bool:
        """True on 200; any other answer must be a 4xx in the Vectorize error envelope (never a 500)."""
        if ndjson is not None:
            content = b"\n".join(dumps(line) for line in ndjson)
            headers = {"Content-Type": "application/x-ndjson"}
        else:
            content, headers = dumps(body), {"Content-Type": "application/json"}
        response = self.http.request(method, path, content=content, headers=headers)
        if response.status_code == 200:
            return True
        assert 400 <= response.status_code < 500, (response.status_code, response.text)
        answer = response.json()
        assert answer["success"] is False and answer["result"] is None, answer
        assert isinstance(answer["errors"][0]["code"], int) and answer["errors"][0]["message"], answer
        return False

    def upsert(self, record: dict[str, Any]) -> bool:
        return self.accepts("POST", "/indexes/contract/upsert", ndjson=[record])

    def query(self, **body: Any) -> bool:
        body.setdefault("vector", [0.1] * DIMS)
        return self.accepts("POST", "/indexes/contract/query", body)


@pytest.fixture(scope="module")
def raw(emulator: LocalEmulator) -> Iterator[Raw]:
    r = Raw(emulator)
    r.http.delete("/indexes/contract")
    assert r.accepts(
        "POST", "/indexes", {"name": "contract", "config": {"dimensions": DIMS, "metric": "cosine"}}
    )
    yield r
    r.http.delete("/indexes/contract")
    r.http.close()


def vector(vid: Any = "v", values: Any = None, metadata: Any = None, namespace: Any = None) -> dict[str, Any]:
    record: dict[str, Any] = {"id": vid, "values": [0.1] * DIMS if values is None else values}
    if metadata is not None:
        record["metadata"] = metadata
    if namespace is not None:
        record["namespace"] = namespace
    return record


def client_accepts_vector(record: dict[str, Any]) -> bool:
    return client_accepts(
        lambda: vectorize_limits.check_vector(
            record["id"], record["values"], record.get("metadata"), record.get("namespace"), DIMS
        )
    )


def agree_on_vector(raw: Raw, record: dict[str, Any]) -> None:
    assert client_accepts_vector(record) == raw.upsert(record), record


def client_accepts_query(body: dict[str, Any]) -> bool:
    def check() -> None:
        vectorize_limits.check_values(body["vector"], DIMS, "query")
        vectorize_limits.check_top_k(body["topK"], body["returnValues"], body["returnMetadata"])
        vectorize_limits.check_namespace(body.get("namespace"))
        check_filter(body.get("filter"))

    return client_accepts(check)


def agree_on_query(raw: Raw, **body: Any) -> None:
    body = {"vector": [0.1] * DIMS, "topK": 5, "returnValues": False, "returnMetadata": "none", **body}
    sent = dict(body)
    if not sent.get("filter"):  # the client leaves an empty filter out of the request
        sent.pop("filter", None)
    assert client_accepts_query(body) == raw.query(**sent), body


FLOAT32_MAX = 3.4028235e38


# -- index names ------------------------------------------------------------------------------------

names = st.one_of(
    st.text(alphabet="abz09_-A.\n ", min_size=0, max_size=8),
    st.integers(60, 70).map(lambda n: "a" * n),
    st.sampled_from(["a", "ab", "a1", "a-", "a_b", "1ab", "Ab", "ab c", "é", "a\n"]),
)


@PROPS
@given(names)
def test_index_names(raw: Raw, name: str) -> None:
    client = client_accepts(lambda: vectorize_limits.check_index_name(name))
    body = {"name": name, "config": {"dimensions": DIMS, "metric": "cosine"}}
    emulator = raw.accepts("POST", "/indexes", body)
    if emulator:
        raw.http.delete(f"/indexes/{name}")
    assert client == emulator, name


def test_index_name_with_trailing_newline(raw: Raw) -> None:
    name = "abc\n"
    assert client_accepts(lambda: vectorize_limits.check_index_name(name)) == raw.accepts(
        "POST", "/indexes", {"name": name, "config": {"dimensions": DIMS, "metric": "cosine"}}
    )


# -- vector ids ---------------------------------------------------------------------------------------

ids = st.one_of(
    st.text(max_size=70),
    st.integers(0, 3).flatmap(lambda k: st.just("é" * (31 + k))),  # 62..68 bytes
    st.integers(62, 66).map(lambda n: "x" * n),
)


@PROPS
@given(ids)
def test_vector_ids(raw: Raw, vid: str) -> None:
    agree_on_vector(raw, vector(vid=vid))


# -- metadata -----------------------------------------------------------------------------------------

json_leaves = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
json_values = st.recursive(
    json_leaves,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
meta_keys = st.one_of(st.text(max_size=8), st.sampled_from(["", ".", "a.b", '"', 'a"b', "$a", "a$", "é"]))
metadata_docs = st.one_of(
    st.dictionaries(meta_keys, json_values, max_size=5),
    st.integers(10_200, 10_260).map(lambda n: {"text": "x" * n}),  # around the 10 KiB limit
    st.integers(1, 40).map(lambda n: {"deep": nested(n)}),
)


def nested(levels: int) -> Any:
    value: Any = "leaf"
    for _ in range(levels):
        value = {"k": value}
    return value


@PROPS
@given(metadata_docs)
def test_metadata(raw: Raw, metadata: dict[str, Any]) -> None:
    agree_on_vector(raw, vector(metadata=metadata))


def test_metadata_size_limit_is_measured_alike(raw: Raw) -> None:
    overhead = len(json.dumps({"t": ""}, separators=(",", ":")))
    at_limit = {"t": "x" * (rules.MAX_METADATA_BYTES - overhead)}
    over = {"t": "x" * (rules.MAX_METADATA_BYTES - overhead + 1)}
    for metadata in (at_limit, over):
        agree_on_vector(raw, vector(metadata=metadata))
    assert raw.upsert(vector(metadata=at_limit)) and not raw.upsert(vector(metadata=over))


def test_deep_metadata(raw: Raw) -> None:
    agree_on_vector(raw, vector(metadata={"deep": nested(1500)}))


@pytest.mark.parametrize("metadata", [{"text": "bad \ud800 text"}, {"bad \udc00": 1}])
def test_lone_surrogate_in_metadata(raw: Raw, metadata: dict[str, Any]) -> None:
    agree_on_vector(raw, vector(metadata=metadata))
    assert not raw.upsert(vector(metadata=metadata))


def test_lone_surrogate_in_id(raw: Raw) -> None:
    agree_on_vector(raw, vector(vid="id\udfff"))


# -- values -------------------------------------------------------------------------------------------

value_lists = st.one_of(
    st.lists(st.floats(width=32), min_size=0, max_size=6),
    st.lists(st.floats(), min_size=DIMS, max_size=DIMS),
    st.lists(
        st.sampled_from([0.0, 1, -1.5, math.nan, math.inf, -math.inf, 1e39, -1e39, 3.4028235e38]), max_size=5
    ),
    st.lists(st.one_of(st.booleans(), st.text(max_size=2), st.none()), min_size=DIMS, max_size=DIMS),
)


@PROPS
@given(value_lists)
def test_values(raw: Raw, values: list[Any]) -> None:
    agree_on_vector(raw, vector(values=values))
    if all(isinstance(x, (int, float)) and not isinstance(x, bool) for x in values):
        agree_on_query(raw, vector=values)


@pytest.mark.parametrize("where", ["upsert", "query"])
def test_values_beyond_float32(raw: Raw, where: str) -> None:
    values = [1e39, 0.0, 0.0, 0.0]
    if where == "upsert":
        agree_on_vector(raw, vector(values=values))
    else:
        agree_on_query(raw, vector=values)


def test_numpy_float32_values(raw: Raw) -> None:
    values = [np.float32(0.25)] * DIMS
    client = client_accepts(
        lambda: vectorize_limits.check_values(vectorize_limits.plain_values(values), DIMS, "v")
    )
    assert client == raw.upsert(vector(values=[float(x) for x in values]))


def test_float32_bounds(raw: Raw) -> None:
    """The largest float32 is accepted by both sides."""
    agree_on_vector(raw, vector(values=[FLOAT32_MAX, -FLOAT32_MAX, 0.0, 1.0]))
    assert raw.upsert(vector(values=[FLOAT32_MAX, -FLOAT32_MAX, 0.0, 1.0]))


# -- filters ------------------------------------------------------------------------------------------

filter_keys = st.one_of(
    st.sampled_from(["a", "a.b", "$a", "", "a..b", ".a", 'a"', "é", "a$"]), st.text(max_size=6)
)
operators = st.sampled_from([*rules.FILTER_OPERATORS, "$regex", "$exists", "eq", "$and"])
operands = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**53), 2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=3), st.booleans(), st.none()), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
filters = st.one_of(
    st.dictionaries(
        filter_keys, st.one_of(operands, st.dictionaries(operators, operands, max_size=2)), max_size=3
    ),
    st.integers(1, 3).map(lambda k: {"k": {"$in": ["x" * 200] * (4 * k + 2)}}),  # around 2048 bytes
    st.just([1, 2]),
    st.just("a"),
)


@PROPS
@given(filters)
def test_filters(raw: Raw, flt: Any) -> None:
    agree_on_query(raw, filter=flt)


def test_filter_size_limit_is_measured_alike(raw: Raw) -> None:
    overhead = len(json.dumps({"k": ""}, separators=(",", ":")))
    for size in (rules.MAX_FILTER_BYTES - 1, rules.MAX_FILTER_BYTES):
        agree_on_query(raw, filter={"k": "x" * (size - overhead)})


# -- topK, values and metadata returned -------------------------------------------------------------


@PROPS
@given(
    st.one_of(st.integers(-2, 120), st.booleans(), st.sampled_from([1.5, "5"])),
    st.booleans(),
    st.sampled_from([*rules.RETURN_METADATA, "bogus"]),
)
def test_top_k(raw: Raw, top_k: Any, return_values: bool, return_metadata: str) -> None:
    agree_on_query(raw, topK=top_k, returnValues=return_values, returnMetadata=return_metadata)


@pytest.mark.parametrize(("top_k", "data"), [(50, True), (51, True), (100, False), (101, False)])
def test_top_k_ceilings(raw: Raw, top_k: int, data: bool) -> None:
    agree_on_query(raw, topK=top_k, returnValues=data)
    agree_on_query(raw, topK=top_k, returnMetadata="all" if data else "indexed")


# -- namespaces ---------------------------------------------------------------------------------------

namespaces = st.one_of(
    st.text(max_size=70),
    st.integers(62, 66).map(lambda n: "n" * n),
    st.just("é" * 33),
    st.sampled_from(["", "tenant-1"]),
)


@PROPS
@given(namespaces)
def test_namespaces(raw: Raw, namespace: str) -> None:
    agree_on_vector(raw, vector(vid=f"ns-{uuid.uuid4().hex[:8]}", namespace=namespace))
    agree_on_query(raw, namespace=namespace)


# -- the numbers themselves ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "MAX_ID_BYTES",
        "MAX_NAMESPACE_BYTES",
        "MAX_METADATA_BYTES",
        "MAX_FILTER_BYTES",
        "MAX_TOP_K",
        "MAX_TOP_K_WITH_DATA",
        "MAX_VECTORS_PER_WRITE",
        "MAX_BYTES_PER_WRITE",
        "MAX_DIMENSIONS",
        "METRICS",
        "METADATA_INDEX_TYPES",
        "FILTER_OPERATORS",
        "RETURN_METADATA",
    ],
)
def test_declared_limits_are_equal(name: str) -> None:
    client = getattr(vectorize_limits, name, None) or getattr(vectorize_filters, name)
    assert client == getattr(rules, name)
