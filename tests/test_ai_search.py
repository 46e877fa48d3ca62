"""AI Search through the core client, over real HTTP against the emulator: instances, items, search
(hybrid fusion, filters, thresholds, limits), answers with their sources, stats, errors, async twins."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

from workersai import (
    AISearchAnswer,
    BadInput,
    Conflict,
    InstanceNotFound,
    WorkersAI,
)
from workersai.ai_search import AISearch
from workersai.local import LocalEmulator

from .conftest import RequestLog, Sleeps

# Made-up facts: no model has seen them, so finding them proves the retrieval.
DOCS = {
    "space/zorblat.md": "# Zorblat\n\nThe launch code of the Zorblat probe is QX-7731. "
    "It orbits the moon Pell.",
    "food/pie.md": "# Pie\n\nGrandma Ottoline bakes a cloudberry pie with nine cardamom pods every Sunday.",
    "space/pell.md": "# Pell\n\nThe moon Pell has purple glaciers made of frozen argon.",
    "greenhouse.md": "The greenhouse temperature and humidity settings are checked every morning "
    "by the gardener.",
    "valves.md": "Turn the flurbostat to level nine before watering.",
    "garden.md": "Greenhouse plants need careful climate settings and regular watering schedules.",
}


@pytest.fixture(scope="module")
def ais(emulator: LocalEmulator) -> Iterator[tuple[AISearch, str]]:
    name = f"t-{uuid.uuid4().hex[:8]}"
    with emulator.client() as client:
        search = client.ai_search
        search.create_instance(name, chunk_size=128, chunk_overlap=10)
        for key, text in DOCS.items():
            search.upload(
                name, key, text, metadata={"kind": "space" if key.startswith("space/") else "other"}
            )
        yield search, name
        search.delete_instance(name)


def test_instance_lifecycle(client: WorkersAI) -> None:
    s = client.ai_search
    name = f"life-{uuid.uuid4().hex[:8]}"
    created = s.create_instance(name, chunk_size=200, max_num_results=5, reranking=True)
    assert (created.id, created.chunk_size, created.max_num_results, created.reranking) == (
        name,
        200,
        5,
        True,
    )
    with pytest.raises(Conflict):
        s.create_instance(name)
    assert name in {i.id for i in s.list_instances()}
    assert s.update_instance(name, score_threshold=0.2).score_threshold == 0.2
    assert s.get_instance(name).score_threshold == 0.2
    s.delete_instance(name)
    with pytest.raises(InstanceNotFound):
        s.get_instance(name)


def test_items_upload_list_delete(client: WorkersAI) -> None:
    s = client.ai_search
    name = f"items-{uuid.uuid4().hex[:8]}"
    s.create_instance(name)
    try:
        item = s.upload(name, "notes/a.md", "Quibbleton is the capital of Farnland.")
        assert (item.key, item.status, item.chunks_count) == ("notes/a.md", "completed", 1)
        assert [i.key for i in s.list_items(name)] == ["notes/a.md"]
        assert (
            s.search(name, "capital of Farnland", score_threshold=0).chunks[0].text.startswith("Quibbleton")
        )
        again = s.upload(name, "notes/a.md", "Brindlewick is the capital of Farnland.")  # replaces it
        assert again.id == item.id and [i.key for i in s.list_items(name)] == ["notes/a.md"]
        [chunk] = s.search(name, "capital of Farnland", score_threshold=0).chunks
        assert chunk.text.startswith("Brindlewick")
        s.delete_item(name, item.id)
        assert s.list_items(name) == []
        assert s.search(name, "capital of Farnland", score_threshold=0).chunks == []
        assert s.stats(name).engine == {"vectorize": {"dimensions": 384, "vectors_count": 0}}
    finally:
        s.delete_instance(name)


def test_search_finds_the_fact(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    result = s.search(name, "What is the launch code of the Zorblat probe?")
    top = result.chunks[0]
    assert top.filename == "space/zorblat.md"
    assert "QX-7731" in top.text
    assert top.id and top.score > 0 and top.item.metadata == {"kind": "space"}
    assert result.search_query == "What is the launch code of the Zorblat probe?"


def test_hybrid_search_finds_a_keyword_vector_search_ranks_lower(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    query = "flurbostat setting for the greenhouse"
    common = {"score_threshold": 0.0, "keyword_match_mode": "fuzzy_match", "max_num_results": 10}
    vector = [c.filename for c in s.search(name, query, retrieval_type="vector", **common).chunks]
    hybrid = s.search(name, query, retrieval_type="hybrid", fusion_method="rrf", **common).chunks
    assert vector[0] != "valves.md" and "valves.md" in vector  # by meaning alone, the greenhouse wins
    assert hybrid[0].filename == "valves.md"  # the rare term, found by keyword, lifts it to the top
    assert hybrid[0].scoring_details is not None and hybrid[0].scoring_details["keyword_rank"] == 1
    keyword = s.search(name, "flurbostat", retrieval_type="keyword", score_threshold=0.0).chunks
    assert [c.filename for c in keyword] == ["valves.md"]


def test_filters_threshold_and_max_results(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    query = "Which moon does Zorblat orbit?"
    in_food = s.search(name, query, filters={"folder": "food/"}, score_threshold=0.0).chunks
    assert {c.filename for c in in_food} == {"food/pie.md"}
    assert {
        c.filename for c in s.search(name, query, filters={"kind": "space"}, score_threshold=0).chunks
    } == {
        "space/zorblat.md",
        "space/pell.md",
    }
    not_space = s.search(name, query, filters={"folder": {"$ne": "space/"}}, score_threshold=0).chunks
    assert not_space and all(not c.filename.startswith("space/") for c in not_space)
    assert len(s.search(name, query, max_num_results=2, score_threshold=0.0).chunks) == 2
    everything = s.search(name, query, score_threshold=0.0, retrieval_type="vector").chunks
    strict = s.search(name, query, score_threshold=0.5, retrieval_type="vector").chunks
    assert len(strict) < len(everything)
    assert all(c.score >= 0.5 for c in strict)


def test_reranking_scores_and_orders(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    chunks = s.search(name, "purple glaciers of frozen argon", reranking=True, reranking_threshold=0.0).chunks
    scores = [c.scoring_details["reranking_score"] for c in chunks if c.scoring_details]
    assert chunks[0].filename == "space/pell.md"
    assert scores == sorted(scores, reverse=True)


def test_rewrite_searches_a_follow_up_with_its_context(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    chat = [
        {"role": "user", "content": "Tell me about the moon Pell."},
        {"role": "assistant", "content": "It is a moon."},
        {"role": "user", "content": "What colour are its glaciers?"},
    ]
    plain = s.search(name, chat, score_threshold=0.3, retrieval_type="vector")
    rewritten = s.search(name, chat, rewrite_query=True, score_threshold=0.3, retrieval_type="vector")
    assert plain.search_query == "What colour are its glaciers?"
    assert rewritten.search_query == "Tell me about the moon Pell. What colour are its glaciers?"
    assert rewritten.chunks[0].filename == "space/pell.md"
    plain_pell = [c.scoring_details["vector_score"] for c in plain.chunks if c.filename == "space/pell.md"]
    assert rewritten.chunks[0].scoring_details["vector_score"] > max(plain_pell, default=0.0)


def test_answer_cites_the_right_file(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    answer = s.answer(name, "How many cardamom pods go into Grandma Ottoline's pie?")
    assert isinstance(answer, AISearchAnswer)
    assert answer.sources[0] == "food/pie.md"
    assert "nine" in answer.text
    assert answer.model


def test_stats(ais: tuple[AISearch, str]) -> None:
    s, name = ais
    stats = s.stats(name)
    assert stats.completed == len(DOCS)
    assert stats.engine is not None and stats.engine["vectorize"]["vectors_count"] >= len(DOCS)


def test_older_paths_see_the_default_namespace(client: WorkersAI, ais: tuple[AISearch, str]) -> None:
    _, name = ais
    older = client.ai_search.in_namespace(None)
    assert name in {i.id for i in older.list_instances()}
    assert older.search(name, "Zorblat launch code").chunks[0].filename == "space/zorblat.md"
    other = client.ai_search.in_namespace("elsewhere")
    with pytest.raises(InstanceNotFound):
        other.search(name, "Zorblat launch code")


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda s: s.search("docs", ""), "query is empty"),
        (lambda s: s.search("docs", "   "), "query is empty"),
        (lambda s: s.search("docs", "q", max_num_results=0), "max_num_results"),
        (lambda s: s.search("docs", "q", max_num_results=51), "max_num_results"),
        (lambda s: s.search("docs", "q", score_threshold=1.5), "score_threshold"),
        (lambda s: s.search("docs", "q", fusion_method="sum"), "fusion_method"),
        (lambda s: s.search("docs", "q", filters={"folder": {"$like": "a"}}), "operator"),
        (lambda s: s.search("Docs!", "q"), "instance id"),
        (lambda s: s.search("x" * 65, "q"), "instance id"),
        (lambda s: s.answer("docs", []), "messages is empty"),
        (lambda s: s.create_instance("docs", chunk_overlap=50), "chunk_overlap"),
        (lambda s: s.upload("docs", "", "text"), "file name"),
        (lambda s: s.upload("docs", "big.md", b"x" * (4 * 1024 * 1024 + 1)), "4 MB"),
    ],
)
def test_bad_input_before_any_request(
    logged_client: WorkersAI, request_log: RequestLog, call, message
) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(BadInput, match=message):
        call(logged_client.ai_search)
    assert request_log.requests == []


def test_unknown_instance(client: WorkersAI) -> None:
    with pytest.raises(InstanceNotFound) as info:
        client.ai_search.search("no-such-instance", "anything")
    assert info.value.status == 404


def test_retried_through_capacity_errors(
    emulator: LocalEmulator, client: WorkersAI, sleeps: Sleeps, ais: tuple[AISearch, str]
) -> None:
    _, name = ais
    emulator.set_faults(error="3040", fail_next=2, scope="ai-search")
    found = client.ai_search.search(name, "What is the launch code of the Zorblat probe?")
    assert found.chunks[0].filename == "space/zorblat.md"
    assert len(sleeps.waits) == 2


def test_async_twins(emulator: LocalEmulator) -> None:
    async def main() -> None:
        async with emulator.client() as client:
            s = client.ai_search
            name = f"async-{uuid.uuid4().hex[:8]}"
            await s.acreate_instance(name)
            try:
                await s.aupload(name, "a.md", "The tallest tower in Brindlewick is the Copper Needle.")
                assert [i.key for i in await s.alist_items(name)] == ["a.md"]
                found = await s.asearch(name, "tallest tower in Brindlewick")
                assert found.chunks[0].filename == "a.md"
                answer = await s.aanswer(name, "What is the tallest tower in Brindlewick?")
                assert answer.sources == ["a.md"] and "Copper Needle" in answer.text
                assert (await s.astats(name)).completed == 1
                assert (await s.aupdate_instance(name, max_num_results=3)).max_num_results == 3
                assert name in {i.id for i in await s.alist_instances()}
                assert (await s.aget_instance(name)).id == name
                item = (await s.alist_items(name))[0]
                await s.adelete_item(name, item.id)
            finally:
                await s.adelete_instance(name)
            with pytest.raises(InstanceNotFound):
                await s.aget_instance(name)

    asyncio.run(main())
