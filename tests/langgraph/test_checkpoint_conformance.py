"""LangChain's conformance suite for checkpointers (langgraph-checkpoint-conformance 0.0.2) against
WorkersAID1Saver on the emulator's D1: the report is printed, every base capability must pass, and the
extended ones this saver implements too."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
from langgraph.checkpoint.conformance import checkpointer_test, validate
from langgraph.checkpoint.conformance.report import ProgressCallbacks

from langchain_workersai import WorkersAID1Saver
from workersai import WorkersAI


@pytest.mark.slow  # ~70 checks over HTTP: about 20 s on two busy cores
async def test_the_d1_saver_passes_the_conformance_suite(client: WorkersAI, database: str) -> None:
    @checkpointer_test(name="WorkersAID1Saver")
    async def saver() -> AsyncIterator[WorkersAID1Saver]:
        # a fresh set of tables per capability suite, as the suite asks of its factory
        yield WorkersAID1Saver(client, database, table_prefix=f"c{uuid.uuid4().hex[:8]}_")

    report = await validate(saver, progress=ProgressCallbacks.verbose())
    report.print_report()
    failures = {name: r.failures for name, r in report.results.items() if r.failures}
    assert report.passed_all_base(), failures
    assert report.passed_all(), failures
    assert report.conformance_level() == "FULL"
    extended = {name for name in ("delete_for_runs", "copy_thread", "prune") if report.results[name].passed}
    assert extended == {"delete_for_runs", "copy_thread", "prune"}
