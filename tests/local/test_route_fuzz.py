"""Every route of the emulator, fuzzed: generated JSON bodies (wrong types in every field, nested junk)
and generated header values (badly typed fault headers, a non-integer ``cf-aig-cache-ttl``) never get a
5xx answer other than a fault the request itself asked for (#25 item 5). The service answers bad input
400 in its envelope with a code; so must the emulator.

The routes are read from the starlette app, so a route added later is fuzzed without touching this
file. Path parameters name resources that exist (an index, a database, an instance and its item), so the
bodies reach the checks behind the lookup; bounded examples keep the whole run in seconds.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import fields
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from workersai.local import LocalEmulator
from workersai.local.app import EmulatorConfig, create_app
from workersai.local.faults import FaultPlan

FAULT_FIELDS = [f.name for f in fields(FaultPlan)]
EXAMPLES = 8
"""Examples per route and method (about 65 of them): the whole module runs in well under a minute."""

MODELS = [
    "@cf/baai/bge-small-en-v1.5",
    "@cf/baai/bge-m3",
    "@cf/baai/bge-reranker-base",
    "@cf/meta/llama-3.1-8b-instruct",
    "@cf/openai/gpt-oss-20b",
    "@cf/meta/llama-3.2-11b-vision-instruct",
    "@cf/qwen/qwq-32b",
    "@cf/not/a-model",
    "nope",
]

FIELDS = [
    # Workers AI
    "text", "pooling", "prompt", "messages", "role", "content", "type", "image_url", "url", "image",
    "max_tokens", "max_completion_tokens", "temperature", "top_p", "top_k", "seed", "stop", "stream",
    "tools", "function", "name", "description", "parameters", "properties", "tool_choice",
    "response_format", "json_schema", "schema", "reasoning_effort", "repetition_penalty",
    "frequency_penalty", "presence_penalty", "input", "instructions", "reasoning", "effort",
    "max_output_tokens", "model", "query", "contexts", "top_k", "requests", "request_id",
    "external_reference", "call_id", "arguments", "output", "options",
    # Vectorize
    "config", "dimensions", "metric", "preset", "vector", "topK", "returnValues", "returnMetadata",
    "filter", "namespace", "ids", "propertyName", "indexType", "$eq", "$in", "$lt",
    # D1
    "sql", "params", "batch",
    # AI Search
    "id", "chunk_size", "chunk_overlap", "max_num_results", "match_threshold", "rewrite_query",
    "reranking", "ai_search_options", "retrieval", "retrieval_type", "fusion_method", "filters",
    "keyword_match_mode", "system_prompt", "ai_search_model", "embedding_model",
    # Browser Run
    "html", "elements", "selector", "gotoOptions", "viewport", "waitForSelector", "screenshotOptions",
    "pdfOptions", "formats", "limit", "depth", "render", "jsonOptions", "setExtraHTTPHeaders",
    # control routes
    "hold", "window_s", "scale", *FAULT_FIELDS,
]  # fmt: skip

printable = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=12).map(str.strip)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-3, 300),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["user", "assistant", "function", "json_schema", "json_object", "mean", "cosine"]),
)
junk = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(FIELDS), st.text(max_size=6)), inner, max_size=5),
    ),
    max_leaves=12,
)
bodies = st.one_of(
    st.dictionaries(st.sampled_from(FIELDS), junk, max_size=6),
    junk,
)
# Fault header fields get wrong types, or numbers small enough not to stall the run.
fault_values = st.one_of(
    st.none(),
    st.booleans(),
    st.text(max_size=6),
    st.floats(-2, 2, allow_nan=False),
    st.integers(-2, 2),
    st.lists(st.integers(), max_size=2),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.sampled_from(["500", "3040", "reset", "not-json", "ai", "all"]),
)
fault_headers = st.one_of(
    st.dictionaries(st.sampled_from(FAULT_FIELDS), fault_values, max_size=4).map(json.dumps),
    printable,
)
headers = st.fixed_dictionaries(
    {},
    optional={
        "x-workersai-local-faults": fault_headers,
        "cf-aig-cache-ttl": st.one_of(printable, st.integers().map(str)),
        "cf-aig-skip-cache": printable,
        "content-type": st.sampled_from(["application/json", "text/plain", "multipart/form-data"]),
    },
)


def _routes() -> list[tuple[str, str]]:
    app = create_app(EmulatorConfig(token="collect"))
    found = []
    for route in app.routes:
        assert isinstance(route, Route), route
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                found.append((route.path_format, method))
    return found


ROUTES = _routes()


class Resources:
    """Resources the fuzzed paths name, made again when a fuzzed request deleted one."""

    def __init__(self, emu: LocalEmulator, http: httpx.Client) -> None:
        self.emu, self.http = emu, http
        self.account = f"/client/v4/accounts/{emu.account_id}"
        self.values: dict[str, str] = {
            "account_id": emu.account_id,
            "gateway": "gw",
            "namespace": "default",
            "name": "fuzz",
            "id": "fuzz",
            "log_id": "01ARZ3NDEKTSV4RRFFQ69G5FAV",  # an AI Gateway log id's form; none is kept by that id
            "job_id": "fuzz",  # a Browser Run crawl job: none by that id (starting one needs a browser)
        }
        self.index()
        self.database()
        self.instance()

    def index(self) -> None:
        config = {"dimensions": 3, "metric": "cosine"}
        self.http.post(f"{self.account}/vectorize/v2/indexes", json={"name": "fuzz", "config": config})

    def database(self) -> None:
        created = self.http.post(f"{self.account}/d1/database", json={"name": f"fuzz-{uuid.uuid4().hex[:8]}"})
        self.values["database_id"] = created.json()["result"]["uuid"]

    def instance(self) -> None:
        base = f"{self.account}/ai-search/instances"
        self.http.post(base, json={"id": "fuzz"})
        text = b"The fuzz item says that the tide comes in twice a day."
        item = self.http.post(f"{base}/fuzz/items", files={"file": ("f.md", text)}).json()["result"]
        self.values["item_id"] = item["id"]

    def restore(self, path: str, method: str) -> None:
        """Make again what a request may have deleted or changed, and nothing else (each costs requests)."""
        if path.startswith("/__local__/") and method != "GET":
            {
                "/__local__/faults": lambda: self.http.delete("/__local__/faults"),
                "/__local__/rate-limits": lambda: self.http.delete("/__local__/rate-limits"),
                "/__local__/batches": lambda: self.http.post("/__local__/batches", json={"hold": None}),
            }.get(path, lambda: None)()
        elif method == "DELETE" and "/vectorize/" in path:
            self.index()
        elif method == "DELETE" and "/d1/" in path:
            self.database()
        elif method == "DELETE" and "/ai-search/" in path:
            self.instance()


@pytest.fixture(scope="module")
def fuzzed() -> Iterator[Resources]:
    with LocalEmulator(generator="extractive", mutation_delay_ms=0) as emu:
        headers = {"Authorization": f"Bearer {emu.token}"}
        with httpx.Client(base_url=emu.url, headers=headers, timeout=60) as http:
            yield Resources(emu, http)


def may_inject(header: str | None) -> bool:
    """Whether a request's own fault header may inject a fault (a 5xx, a reset, a cut stream): the
    header is a valid plan (else the request is refused 400) that fails requests or cuts streams."""
    if header is None:
        return False
    try:
        plan = FaultPlan.from_json(json.loads(header))
    except ValueError:
        return False
    return plan.fail_next > 0 or plan.error_rate > 0 or plan.cut_stream_after is not None


@pytest.mark.parametrize(("path", "method"), ROUTES, ids=[f"{m} {p}" for p, m in ROUTES])
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), body=bodies, sent_headers=headers)
def test_no_5xx_but_injected_faults(
    fuzzed: Resources, path: str, method: str, data: st.DataObject, body: Any, sent_headers: dict[str, str]
) -> None:
    values = dict(fuzzed.values)
    if "{model}" in path:
        values["model"] = data.draw(st.sampled_from(MODELS), label="model")
    url = path.format(**values)
    run = "model" in values and path.startswith("/client/v4/accounts/{account_id}/ai/run/")
    if run and data.draw(st.booleans(), label="queueRequest"):
        url += "?queueRequest=true"
    content = json.dumps(body).encode() if method != "GET" else None
    try:
        response = fuzzed.http.request(method, url, content=content, headers=sent_headers)
        status, text = response.status_code, response.text[:300]
    except httpx.TransportError as exc:  # a dropped connection: only an injected reset or cut may do that
        status, text = 599, repr(exc)
    try:
        if status >= 500:
            asked = may_inject(sent_headers.get("x-workersai-local-faults"))
            assert asked, (method, url, body, sent_headers, text)
    finally:
        fuzzed.restore(path, method)


def test_every_route_is_fuzzed() -> None:
    """The parametrization above comes from the app: a new route is in it (and the list is not empty)."""
    paths = {p for p, _ in ROUTES}
    assert "/client/v4/accounts/{account_id}/ai/run/{model}" in paths
    assert "/__local__/faults" in paths and len(ROUTES) > 40
