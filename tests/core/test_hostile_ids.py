"""Hostile ids in URL paths (issue #25, item 1): every public method that puts an id in a request path
either refuses the id before any request, or sends a path that stays inside its resource.

"Inside" means: the path up to and including the resource's own collection segment is unchanged, the id
is exactly one segment there (percent-decoding it gives the id back), and what follows is the method's
own fixed tail. A model id keeps its slashes (the service routes ``/ai/run/@cf/author/name``), so for a
model the path must be the prefix, the id exactly as given, then the tail, with no dot segment.

:data:`CASES` names every such method, sync and async; :func:`test_every_method_that_takes_an_id_is_listed`
fails when a new one is added without its case.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workersai import BadInput, ModelNotFound, WorkersAI, WorkersAIError
from workersai.ai_search import AISearch
from workersai.batch import BatchJob
from workersai.catalog import is_third_party
from workersai.d1 import D1
from workersai.vectorize import Vectorize

from .conftest import ACCOUNT, BASE_URL, Wire, error

ROOT = httpx.URL(BASE_URL).path + f"/accounts/{ACCOUNT}/"
INSTANCES = ROOT + "ai-search/namespaces/default/instances/"
DATABASES = ROOT + "d1/database/"
INDEXES = ROOT + "vectorize/v2/indexes/"
UUID = str(uuid.UUID(int=7))
MODEL = "@cf/baai/bge-base-en-v1.5"
CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
RERANK = "@cf/baai/bge-reranker-base"
CLEF = "@cf/cloudflare/clef-flash"
CLAIRIC = "@cf/cloudflare/clairic"

HOSTILE = [
    "..",
    ".",
    "../x",
    "../../victim",
    "./x",
    "x/..",
    "a/b",
    "?",
    "a?b=c",
    "#",
    "a#b",
    "%2e%2e",
    "%2F",
    "%2e",
    "docs\n",
    "\n",
    "",
    " ",
    "a b",
    "\\..",
    "..\\x",
    "é",
    "日本",
    "\x00",
    "\ud800",
    "x" * 5000,
    "@cf/../x",
    "@cf/a/..",
    "@cf/a/./b",
    "@cf/meta/../../../d1/database",
    "@cf/a/b?x=1",
    "@cf/a/b#x",
    "@cf/a/b\n",
    "@cf/a/%2e%2e",
    "@cf/a/b/../c",
    "@cf//a",
]
VALID = ["docs", "my-index", "item-1", UUID, UUID.upper(), MODEL, CHAT, RERANK, "a" * 64]

ids = st.one_of(
    st.sampled_from(HOSTILE + VALID),
    st.text(max_size=70),
    st.tuples(st.sampled_from(VALID), st.sampled_from(HOSTILE)).map("".join),
    st.tuples(st.sampled_from(HOSTILE), st.sampled_from(VALID)).map("".join),
)


@dataclass(frozen=True)
class Case:
    """One method: how to call it with the id ``x``, and where its request must go.

    ``prefix`` is the path before the id (the resource's collection, with its trailing slash) and
    ``tail`` the method's fixed path after it; ``in_body`` names a method whose id travels in the body
    or query, so its path must be ``prefix`` exactly; ``model`` an id that keeps its slashes."""

    call: Callable[[WorkersAI, str], Any]
    prefix: str
    tail: str = ""
    in_body: bool = False
    model: bool = False
    valid: str | None = None
    """A valid id for this method when the prefix's usual one is not (a chat or rerank model)."""


def _ai(c: WorkersAI) -> AISearch:
    return c.ai_search


VEC = [0.5, 0.25, 0.125]
REQUESTS = [{"text": ["a"]}]

CASES: dict[tuple[str, str], Case] = {
    # -- AI Search: instances, items, namespaces --------------------------------------------------
    ("AISearch", "create_instance"): Case(
        lambda c, x: _ai(c).create_instance(x), INSTANCES[:-1], in_body=True
    ),
    ("AISearch", "acreate_instance"): Case(
        lambda c, x: _ai(c).acreate_instance(x), INSTANCES[:-1], in_body=True
    ),
    ("AISearch", "get_instance"): Case(lambda c, x: _ai(c).get_instance(x), INSTANCES),
    ("AISearch", "aget_instance"): Case(lambda c, x: _ai(c).aget_instance(x), INSTANCES),
    ("AISearch", "update_instance"): Case(lambda c, x: _ai(c).update_instance(x, chunk_size=300), INSTANCES),
    ("AISearch", "aupdate_instance"): Case(
        lambda c, x: _ai(c).aupdate_instance(x, chunk_size=300), INSTANCES
    ),
    ("AISearch", "delete_instance"): Case(lambda c, x: _ai(c).delete_instance(x), INSTANCES),
    ("AISearch", "adelete_instance"): Case(lambda c, x: _ai(c).adelete_instance(x), INSTANCES),
    ("AISearch", "upload"): Case(lambda c, x: _ai(c).upload(x, "a.md", "hi"), INSTANCES, "/items"),
    ("AISearch", "aupload"): Case(lambda c, x: _ai(c).aupload(x, "a.md", "hi"), INSTANCES, "/items"),
    ("AISearch", "list_items"): Case(lambda c, x: _ai(c).list_items(x), INSTANCES, "/items"),
    ("AISearch", "alist_items"): Case(lambda c, x: _ai(c).alist_items(x), INSTANCES, "/items"),
    ("AISearch", "delete_item"): Case(
        lambda c, x: _ai(c).delete_item(x, "item-1"), INSTANCES, "/items/item-1"
    ),
    ("AISearch", "adelete_item"): Case(
        lambda c, x: _ai(c).adelete_item(x, "item-1"), INSTANCES, "/items/item-1"
    ),
    ("AISearch", "delete_item", "item_id"): Case(
        lambda c, x: _ai(c).delete_item("docs", x), INSTANCES + "docs/items/"
    ),
    ("AISearch", "adelete_item", "item_id"): Case(
        lambda c, x: _ai(c).adelete_item("docs", x), INSTANCES + "docs/items/"
    ),
    ("AISearch", "search"): Case(lambda c, x: _ai(c).search(x, "q"), INSTANCES, "/search"),
    ("AISearch", "asearch"): Case(lambda c, x: _ai(c).asearch(x, "q"), INSTANCES, "/search"),
    ("AISearch", "answer"): Case(lambda c, x: _ai(c).answer(x, "q"), INSTANCES, "/chat/completions"),
    ("AISearch", "aanswer"): Case(lambda c, x: _ai(c).aanswer(x, "q"), INSTANCES, "/chat/completions"),
    ("AISearch", "chat_completions"): Case(
        lambda c, x: _ai(c).chat_completions(x, "q"), INSTANCES, "/chat/completions"
    ),
    ("AISearch", "achat_completions"): Case(
        lambda c, x: _ai(c).achat_completions(x, "q"), INSTANCES, "/chat/completions"
    ),
    ("AISearch", "stats"): Case(lambda c, x: _ai(c).stats(x), INSTANCES, "/stats"),
    ("AISearch", "astats"): Case(lambda c, x: _ai(c).astats(x), INSTANCES, "/stats"),
    ("AISearch", "__init__"): Case(
        lambda c, x: AISearch(c, namespace=x).list_instances(), ROOT + "ai-search/namespaces/", "/instances"
    ),
    ("AISearch", "in_namespace"): Case(
        lambda c, x: _ai(c).in_namespace(x).alist_instances(), ROOT + "ai-search/namespaces/", "/instances"
    ),
    # -- D1 --------------------------------------------------------------------------------------------
    ("D1", "get_database"): Case(lambda c, x: c.d1.get_database(x), DATABASES),
    ("D1", "aget_database"): Case(lambda c, x: c.d1.aget_database(x), DATABASES),
    ("D1", "delete_database"): Case(lambda c, x: c.d1.delete_database(x), DATABASES),
    ("D1", "adelete_database"): Case(lambda c, x: c.d1.adelete_database(x), DATABASES),
    ("D1", "query"): Case(lambda c, x: c.d1.query(x, "SELECT 1"), DATABASES, "/query"),
    ("D1", "aquery"): Case(lambda c, x: c.d1.aquery(x, "SELECT 1"), DATABASES, "/query"),
    ("D1", "batch"): Case(lambda c, x: c.d1.batch(x, ["SELECT 1", "SELECT 2"]), DATABASES, "/query"),
    ("D1", "abatch"): Case(lambda c, x: c.d1.abatch(x, ["SELECT 1", "SELECT 2"]), DATABASES, "/query"),
    ("D1", "raw"): Case(lambda c, x: c.d1.raw(x, "SELECT 1"), DATABASES, "/raw"),
    ("D1", "araw"): Case(lambda c, x: c.d1.araw(x, "SELECT 1"), DATABASES, "/raw"),
    # -- Vectorize -------------------------------------------------------------------------------------
    ("Vectorize", "create_index"): Case(
        lambda c, x: c.vectorize.create_index(x, dimensions=3), INDEXES[:-1], in_body=True
    ),
    ("Vectorize", "acreate_index"): Case(
        lambda c, x: c.vectorize.acreate_index(x, dimensions=3), INDEXES[:-1], in_body=True
    ),
    ("Vectorize", "get_index"): Case(lambda c, x: c.vectorize.get_index(x), INDEXES),
    ("Vectorize", "aget_index"): Case(lambda c, x: c.vectorize.aget_index(x), INDEXES),
    ("Vectorize", "delete_index"): Case(lambda c, x: c.vectorize.delete_index(x), INDEXES),
    ("Vectorize", "adelete_index"): Case(lambda c, x: c.vectorize.adelete_index(x), INDEXES),
    ("Vectorize", "info"): Case(lambda c, x: c.vectorize.info(x), INDEXES, "/info"),
    ("Vectorize", "ainfo"): Case(lambda c, x: c.vectorize.ainfo(x), INDEXES, "/info"),
    ("Vectorize", "wait_for_mutation"): Case(
        lambda c, x: c.vectorize.wait_for_mutation(x, "m"), INDEXES, "/info"
    ),
    ("Vectorize", "await_for_mutation"): Case(
        lambda c, x: c.vectorize.await_for_mutation(x, "m"), INDEXES, "/info"
    ),
    ("Vectorize", "confirm_writes"): Case(lambda c, x: c.vectorize.confirm_writes(x), INDEXES, "/info"),
    ("Vectorize", "aconfirm_writes"): Case(lambda c, x: c.vectorize.aconfirm_writes(x), INDEXES, "/info"),
    ("Vectorize", "has_deferred_writes"): Case(lambda c, x: c.vectorize.has_deferred_writes(x), INDEXES),
    ("Vectorize", "settle"): Case(lambda c, x: c.vectorize.settle(x), INDEXES, "/delete_by_ids"),
    ("Vectorize", "asettle"): Case(lambda c, x: c.vectorize.asettle(x), INDEXES, "/delete_by_ids"),
    ("Vectorize", "create_metadata_index"): Case(
        lambda c, x: c.vectorize.create_metadata_index(x, "p", "string"), INDEXES, "/metadata_index/create"
    ),
    ("Vectorize", "acreate_metadata_index"): Case(
        lambda c, x: c.vectorize.acreate_metadata_index(x, "p", "string"), INDEXES, "/metadata_index/create"
    ),
    ("Vectorize", "list_metadata_indexes"): Case(
        lambda c, x: c.vectorize.list_metadata_indexes(x), INDEXES, "/metadata_index/list"
    ),
    ("Vectorize", "alist_metadata_indexes"): Case(
        lambda c, x: c.vectorize.alist_metadata_indexes(x), INDEXES, "/metadata_index/list"
    ),
    ("Vectorize", "delete_metadata_index"): Case(
        lambda c, x: c.vectorize.delete_metadata_index(x, "p"), INDEXES, "/metadata_index/delete"
    ),
    ("Vectorize", "adelete_metadata_index"): Case(
        lambda c, x: c.vectorize.adelete_metadata_index(x, "p"), INDEXES, "/metadata_index/delete"
    ),
    ("Vectorize", "insert"): Case(
        lambda c, x: c.vectorize.insert(x, [{"id": "a", "values": VEC}]), INDEXES, "/insert"
    ),
    ("Vectorize", "ainsert"): Case(
        lambda c, x: c.vectorize.ainsert(x, [{"id": "a", "values": VEC}]), INDEXES, "/insert"
    ),
    ("Vectorize", "upsert"): Case(
        lambda c, x: c.vectorize.upsert(x, [{"id": "a", "values": VEC}]), INDEXES, "/upsert"
    ),
    ("Vectorize", "aupsert"): Case(
        lambda c, x: c.vectorize.aupsert(x, [{"id": "a", "values": VEC}]), INDEXES, "/upsert"
    ),
    ("Vectorize", "delete_by_ids"): Case(
        lambda c, x: c.vectorize.delete_by_ids(x, ["a"]), INDEXES, "/delete_by_ids"
    ),
    ("Vectorize", "adelete_by_ids"): Case(
        lambda c, x: c.vectorize.adelete_by_ids(x, ["a"]), INDEXES, "/delete_by_ids"
    ),
    ("Vectorize", "query"): Case(lambda c, x: c.vectorize.query(x, VEC), INDEXES, "/query"),
    ("Vectorize", "aquery"): Case(lambda c, x: c.vectorize.aquery(x, VEC), INDEXES, "/query"),
    ("Vectorize", "get_by_ids"): Case(lambda c, x: c.vectorize.get_by_ids(x, ["a"]), INDEXES, "/get_by_ids"),
    ("Vectorize", "aget_by_ids"): Case(
        lambda c, x: c.vectorize.aget_by_ids(x, ["a"]), INDEXES, "/get_by_ids"
    ),
    ("Vectorize", "stored_ids"): Case(lambda c, x: c.vectorize.stored_ids(x, ["a"]), INDEXES, "/get_by_ids"),
    ("Vectorize", "astored_ids"): Case(
        lambda c, x: c.vectorize.astored_ids(x, ["a"]), INDEXES, "/get_by_ids"
    ),
    ("Vectorize", "missing_ids"): Case(
        lambda c, x: c.vectorize.missing_ids(x, ["a"]), INDEXES, "/get_by_ids"
    ),
    ("Vectorize", "amissing_ids"): Case(
        lambda c, x: c.vectorize.amissing_ids(x, ["a"]), INDEXES, "/get_by_ids"
    ),
    ("Vectorize", "list_ids"): Case(lambda c, x: list(c.vectorize.list_ids(x)), INDEXES, "/list"),
    ("Vectorize", "alist_ids"): Case(lambda c, x: c.vectorize.alist_ids(x), INDEXES, "/list"),
    # -- Workers AI: model ids -------------------------------------------------------------------------
    ("WorkersAI", "run"): Case(lambda c, x: c.run(x, {"text": "a"}), ROOT + "ai/run/", model=True),
    ("WorkersAI", "arun"): Case(lambda c, x: c.arun(x, {"text": "a"}), ROOT + "ai/run/", model=True),
    ("WorkersAI", "run_url"): Case(
        lambda c, x: c.transport.request("POST", c.run_url(x), json={}), ROOT + "ai/run/", model=True
    ),
    ("WorkersAI", "embed"): Case(lambda c, x: c.embed(["a"], model=x), ROOT + "ai/run/", model=True),
    ("WorkersAI", "aembed"): Case(lambda c, x: c.aembed(["a"], model=x), ROOT + "ai/run/", model=True),
    ("WorkersAI", "embed_raw"): Case(lambda c, x: c.embed_raw(["a"], model=x), ROOT + "ai/run/", model=True),
    ("WorkersAI", "aembed_raw"): Case(
        lambda c, x: c.aembed_raw(["a"], model=x), ROOT + "ai/run/", model=True
    ),
    ("WorkersAI", "embed_batch"): Case(
        lambda c, x: c.embed_batch(["a"], model=x), ROOT + "ai/run/", model=True
    ),
    ("WorkersAI", "aembed_batch"): Case(
        lambda c, x: c.aembed_batch(["a"], model=x), ROOT + "ai/run/", model=True
    ),
    ("WorkersAI", "chat"): Case(lambda c, x: c.chat("hi", model=x), ROOT + "ai/run/", model=True, valid=CHAT),
    ("WorkersAI", "achat"): Case(
        lambda c, x: c.achat("hi", model=x), ROOT + "ai/run/", model=True, valid=CHAT
    ),
    ("WorkersAI", "stream_chat"): Case(
        lambda c, x: list(c.stream_chat("hi", model=x)), ROOT + "ai/run/", model=True, valid=CHAT
    ),
    ("WorkersAI", "astream_chat"): Case(
        lambda c, x: c.astream_chat("hi", model=x), ROOT + "ai/run/", model=True, valid=CHAT
    ),
    ("WorkersAI", "rerank"): Case(
        lambda c, x: c.rerank("q", ["a"], model=x), ROOT + "ai/run/", model=True, valid=RERANK
    ),
    ("WorkersAI", "arerank"): Case(
        lambda c, x: c.arerank("q", ["a"], model=x), ROOT + "ai/run/", model=True, valid=RERANK
    ),
    ("WorkersAI", "decide"): Case(
        lambda c, x: c.decide("s", {"q": {"type": "noul"}}, model=x), ROOT + "ai/run/", model=True, valid=CLEF
    ),
    ("WorkersAI", "adecide"): Case(
        lambda c, x: c.adecide("s", {"q": {"type": "noul"}}, model=x),
        ROOT + "ai/run/",
        model=True,
        valid=CLEF,
    ),
    ("WorkersAI", "extract"): Case(
        lambda c, x: c.extract("s", {"f": {"type": "text"}}, model=x),
        ROOT + "ai/run/",
        model=True,
        valid=CLAIRIC,
    ),
    ("WorkersAI", "aextract"): Case(
        lambda c, x: c.aextract("s", {"f": {"type": "text"}}, model=x),
        ROOT + "ai/run/",
        model=True,
        valid=CLAIRIC,
    ),
    ("WorkersAI", "queue"): Case(lambda c, x: c.queue(x, REQUESTS), ROOT + "ai/run/", model=True),
    ("WorkersAI", "aqueue"): Case(lambda c, x: c.aqueue(x, REQUESTS), ROOT + "ai/run/", model=True),
    ("WorkersAI", "batch_job"): Case(
        lambda c, x: c.batch_job(x, "rid").status(), ROOT + "ai/run/", model=True
    ),
    ("WorkersAI", "model_schema"): Case(
        lambda c, x: c.model_schema(x), ROOT + "ai/models/schema", in_body=True
    ),
    ("WorkersAI", "amodel_schema"): Case(
        lambda c, x: c.amodel_schema(x), ROOT + "ai/models/schema", in_body=True
    ),
    ("BatchJob", "__init__"): Case(
        lambda c, x: BatchJob(c, x, "rid").astatus(), ROOT + "ai/run/", model=True
    ),
}

ID_PARAMETERS: dict[type, set[str]] = {
    WorkersAI: {"model"},
    AISearch: {"instance", "item_id", "namespace"},
    D1: {"database_id"},
    Vectorize: {"name"},
    BatchJob: {"model"},
}
"""Per class, the parameters that name a resource in a path (D1's ``name`` is a body or query value,
as is Vectorize's ``namespace``)."""


NO_REQUEST = {("Vectorize", "known_dimensions")}
"""Methods that take an id but send nothing (what this client already knows of the resource)."""


def test_every_method_that_takes_an_id_is_listed() -> None:
    found = set()
    for cls, params in ID_PARAMETERS.items():
        for attr, member in inspect.getmembers(cls, callable):
            if attr.startswith("_") and attr != "__init__":
                continue
            names = set(inspect.signature(member).parameters) & params
            found.update((cls.__name__, attr, *([] if p == min(names) else [p])) for p in names)
    listed = set(CASES) | NO_REQUEST
    assert found - listed == set(), "a method that puts an id in a path has no case here: add it"
    assert listed - found - NO_REQUEST == set()


def _run(value: Any) -> Any:
    if inspect.iscoroutine(value):
        return asyncio.run(value)
    if inspect.isasyncgen(value):

        async def drain() -> list[Any]:
            return [item async for item in value]

        return asyncio.run(drain())
    return value


def _check_path(case: Case, sent: httpx.Request, x: str) -> None:
    raw = sent.url.raw_path.decode("ascii").partition("?")[0]
    if case.in_body:
        assert raw == case.prefix, f"{raw!r} is not {case.prefix!r}"
        return
    if case.model and is_third_party(x) and raw.endswith("/ai/v1/chat/completions"):
        # A third-party id of AI Gateway's Unified Billing (``author/model``: ``openai/gpt-4.1``) is sent
        # in the body of the OpenAI-compatible endpoint, never in a path.
        assert raw == case.prefix.split("/ai/run/")[0] + "/ai/v1/chat/completions", raw
        return
    assert raw.startswith(case.prefix), f"{raw!r} left {case.prefix!r}"
    rest = raw[len(case.prefix) :]
    if case.model:
        assert rest.startswith(x) and rest[len(x) :] == case.tail, (
            f"{raw!r} is not {case.prefix}{x}{case.tail}"
        )
        assert not {".", ".."} & set(x.split("/")), f"a dot segment went out in {raw!r}"
        return
    segment, slash, tail = rest.partition("/")
    assert unquote(segment) == x, f"the id {x!r} is not one segment in {raw!r}"
    assert segment not in (".", ".."), f"a dot segment went out in {raw!r}"
    assert slash + tail == case.tail, f"{raw!r} does not end with {case.tail!r}"


@pytest.mark.parametrize("key", list(CASES), ids=["-".join(k) for k in CASES])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(x=ids)
def test_a_hostile_id_is_refused_or_stays_inside_its_resource(key: tuple[str, ...], x: str) -> None:
    case = CASES[key]
    wire = Wire(answer=lambda request: error(404, 3000, "not found"))
    with wire.client() as client:
        try:
            _run(case.call(client, x))
        except (BadInput, ModelNotFound):
            # Refused: before any request, or the service's own answer to one (checked below).
            if not wire.requests:
                return
        except WorkersAIError:
            assert wire.requests, "a typed error other than BadInput before any request"
    for sent in wire.requests:
        _check_path(case, sent, x)


def test_the_reported_escape_is_refused_before_any_request() -> None:
    """``delete_item("docs", "../../victim")`` sent ``DELETE .../instances/victim`` (httpx removes dot
    segments), which deleted the whole instance ``victim``."""
    wire = Wire(answer=lambda request: error(404, 3000, "not found"))
    with wire.client() as client:
        with pytest.raises(BadInput):
            client.ai_search.delete_item("docs", "../../victim")
        with pytest.raises(BadInput):
            client.ai_search.get_instance("docs\n")
        for hostile in ("..", "../x", "x?y", "x#y"):
            with pytest.raises(BadInput):
                client.d1.get_database(hostile)
    assert wire.requests == []


VALID_FOR = {
    INSTANCES: "docs",
    INSTANCES[:-1]: "docs",
    INSTANCES + "docs/items/": "item-1",
    ROOT + "ai-search/namespaces/": "docs",
    DATABASES: UUID,
    INDEXES: "my-index",
    INDEXES[:-1]: "my-index",
    ROOT + "ai/run/": MODEL,
    ROOT + "ai/models/schema": MODEL,
}
SENDS_NOTHING = {
    ("Vectorize", "has_deferred_writes"),
    ("Vectorize", "confirm_writes"),
    ("Vectorize", "aconfirm_writes"),
}


@pytest.mark.parametrize("key", list(CASES), ids=["-".join(k) for k in CASES])
def test_a_valid_id_is_sent_where_the_case_says(key: tuple[str, ...]) -> None:
    """The property test above is only as good as its cases: each sends its request for a valid id."""
    case = CASES[key]
    x = case.valid or VALID_FOR[case.prefix]
    wire = Wire(answer=lambda request: error(404, 3000, "not found"))
    with wire.client() as client, contextlib.suppress(WorkersAIError):
        _run(case.call(client, x))
    if key in SENDS_NOTHING:
        assert wire.requests == []
    else:
        assert wire.requests, f"{key} sent nothing for the valid id {x!r}"
    for sent in wire.requests:
        _check_path(case, sent, x)
