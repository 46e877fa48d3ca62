"""The adapters inside a Python Worker's runtime, as far as it runs here: Pyodide 3.14 in Node, with
JavaScript `env.AI` / `env.VECTORIZE` bindings that behave as workerd's (bindings.mjs) and forward to the
session's emulator. One Node process loads Pyodide once and runs every scenario (scenarios.py); each test
here asserts on what one scenario observed, and where it can, against the REST client's answer.

Setup (`make pyodide`, part of `make test`): `npm ci` here (the pinned `pyodide` package) and
build_site.py (the pinned wheels). Node missing: skipped, with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.pyodide.scenarios import DOCS, EMBEDDING_MODEL, FIELDS, INVOICE, PAGE, QUESTIONS, TICKET
from workersai import WorkersAI
from workersai.local import LocalEmulator
from workersai.local.browser_engine import missing_browser

HERE = Path(__file__).parent
REPO = HERE.parent.parent
SITE = HERE / ".site"
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed: the Pyodide tests need Node 20+")


def _setup() -> None:
    """What `make pyodide` does, for a run that skipped it (needs the npm registry and PyPI once)."""
    if not (HERE / "node_modules" / "pyodide" / "package.json").exists():
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=HERE, check=True)
    subprocess.run([sys.executable, str(HERE / "build_site.py"), str(SITE)], check=True)


def _drives_a_browser(session: pytest.Session) -> bool:
    """Bind ``env.BROWSER`` (Browser Run's scenario drives the emulator's Chromium) only where there is
    one and a selected test here reads it (``-m "not browser"`` leaves the browser alone)."""
    wanted = any(item.path == Path(__file__) and item.get_closest_marker("browser") for item in session.items)
    return wanted and missing_browser() is None


@pytest.fixture(scope="module")
def run(
    emulator: LocalEmulator, _admin: WorkersAI, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    """Every scenario's observations, from one Node process."""
    _setup()
    index = f"pyodide-{uuid.uuid4().hex[:8]}"
    _admin.vectorize.create_index(index, dimensions=384, metric="cosine")
    _admin.vectorize.create_metadata_index(index, "topic", "string", wait=True)
    database = _admin.d1.create_database(f"pyodide-{uuid.uuid4().hex[:8]}").uuid
    env = {
        **os.environ,
        **emulator.env(),
        "WORKERSAI_PYODIDE_SITE": str(SITE),
        "WORKERSAI_REPO": str(REPO),
        "WORKERSAI_PYODIDE_INDEX": index,
        "WORKERSAI_PYODIDE_D1": database,
        "WORKERSAI_PYODIDE_BROWSER": "1" if _drives_a_browser(request.session) else "",
    }
    try:
        done = subprocess.run(
            [str(NODE), "harness.mjs"], cwd=HERE, env=env, capture_output=True, text=True, timeout=300
        )
        lines = [line for line in done.stdout.splitlines() if line.startswith("RESULTS ")]
        assert done.returncode == 0 and lines, done.stdout[-3000:] + done.stderr[-3000:]
        yield json.loads(lines[-1].removeprefix("RESULTS "))["scenarios"]
    finally:
        _admin.vectorize.delete_index(index)
        _admin.d1.delete_database(database)


def seen(run: dict[str, Any], name: str) -> Any:
    outcome = run[name]
    assert outcome["ok"], outcome.get("error")
    return outcome["value"]


def test_runs_under_pyodide_314_without_orjson(run: dict[str, Any]) -> None:
    value = seen(run, "runtime")
    assert value["platform"] == "emscripten" and value["python"] == [3, 14]
    assert value["orjson"] is False  # the json fallback carries every scenario


def test_chat_invoke(run: dict[str, Any]) -> None:
    value = seen(run, "chat_invoke")
    assert "Paris" in value["content"]
    assert value["usage"]["input_tokens"] > 0 and value["usage"]["output_tokens"] > 0


def test_chat_stream_reads_the_bindings_readable_stream(run: dict[str, Any]) -> None:
    value = seen(run, "chat_stream")
    assert len([p for p in value["parts"] if p]) > 1
    assert "Seine" in "".join(value["parts"])
    assert "Seine" in value["after_early_stop"]  # a stream left early leaves the client usable


def test_chat_tools(run: dict[str, Any]) -> None:
    assert seen(run, "chat_tools")["tool_calls"] == [{"name": "magic_function", "args": {"input": 3}}]


def test_embeddings_match_the_rest_clients(run: dict[str, Any], _admin: WorkersAI) -> None:
    value = seen(run, "embeddings")
    assert value["count"] == len(DOCS) and value["dims"] == [384] * len(DOCS)
    assert value["same_as_doc0"] is True
    assert value["batched"] == 120 and value["batched_in_order"] is True  # concurrent binding calls
    rest = _admin.embed([DOCS[0][0]], model=EMBEDDING_MODEL)[0]
    assert value["doc0_head"] == pytest.approx(rest[:5], abs=1e-6)


def test_the_batch_api_queues_through_the_binding(run: dict[str, Any]) -> None:
    """``aqueue`` on the binding path: ``env.AI.run(model, inputs, {queueRequest: true})``."""
    value = seen(run, "batch_queue")
    assert value == {"references": ["docs"], "same_as_direct": True}


def test_vector_store_add_query_with_filter_get_delete(run: dict[str, Any]) -> None:
    value = seen(run, "vector_store")
    assert value["ids"] == ["d0", "d1", "d2"]
    assert value["unfiltered"][0] == DOCS[0][0]
    assert value["bio"] == [[DOCS[2][0], "bio"]]
    assert value["by_id"] == [DOCS[1][0]]
    texts = [text for text, _ in value["relevance"]]
    scores = [score for _, score in value["relevance"]]
    assert (
        texts == value["unfiltered"] and all(0 <= s <= 1 for s in scores) and scores == sorted(scores)[::-1]
    )
    assert "d0" not in value["after_delete"] and "d1" in value["after_delete"]


def test_rag_chain(run: dict[str, Any]) -> None:
    assert "Seine" in seen(run, "rag_chain")["answer"]


def test_reranker_matches_the_rest_clients(run: dict[str, Any], _admin: WorkersAI) -> None:
    ranked = seen(run, "reranker")["ranked"]
    rest = _admin.rerank("Which river flows through Paris?", [d for d, _ in DOCS], top_k=2)
    assert [text for text, _ in ranked] == [r.text for r in rest]
    assert [score for _, score in ranked] == pytest.approx([r.score for r in rest], abs=1e-6)


def test_binding_errors_are_the_rest_errors(run: dict[str, Any]) -> None:
    value = seen(run, "typed_errors")
    assert value["unknown_model"][:2] == ["ModelNotFound", 5007]
    assert value["wrong_dimensions"][0] == "DimensionMismatch"
    assert value["sync_call"][0] == "BindingUnsupported"


def test_the_emulated_binding_refuses_a_pyproxy(run: dict[str, Any]) -> None:
    """The stand-in is as strict as a real binding: a dict handed over as it is fails, so the passing
    scenarios prove the client converts its arguments."""
    name, message = seen(run, "proxy_refused")["refused"]
    assert name == "JsException" and "PyProxy" in message


def test_the_example_workers_handler(run: dict[str, Any]) -> None:
    value = seen(run, "worker_entry")
    assert "Seine" in value["answer"]
    assert value["sources"] and "d0" not in value["sources"]


def test_markdown_conversion_on_the_binding(run: dict[str, Any], _admin: WorkersAI) -> None:
    """``env.AI.toMarkdown`` under Pyodide answers what the REST client does, file for file."""
    value = seen(run, "markdown")
    html = b"<html><body><h1>Rivers</h1><p>The Seine flows through Paris.</p></body></html>"
    rest = _admin.to_markdown(
        [
            ("rivers \u00e9.html", html),
            ("cities.csv", b"name,river\nParis,Seine\n", "text/csv"),
            ("notes.odt", b"PK"),
        ]
    )
    assert value["results"] == [[r.name, r.mime_type, r.format, r.data, r.tokens, r.error] for r in rest]
    assert value["text"][0] == "text" and "Seine" in value["text"][1]
    assert value["supported"] == [[f.extension, f.mime_type] for f in _admin.markdown_supported()]


def test_d1_on_its_binding(run: dict[str, Any]) -> None:
    """``client.d1`` on ``env.DB`` under Pyodide: a ``None`` parameter arrives as ``null`` (D1 refuses
    ``undefined``), a batch is one ``batch()`` call of prepared statements, a refused statement is the
    REST API's 400 / 7500."""
    value = seen(run, "d1_binding")
    assert value["changes"] == [1, 1]
    assert value["rows"] == [{"k": "a", "v": None, "n": 1}, {"k": "b", "v": "x\u00e9", "n": 2}]
    assert value["raw"] == [["k"], [["a"], ["b"]]]
    assert value["error"] == ["BadInput", 7500, 400]
    assert value["calls"] == 5  # create, the batch (one call), select, raw, the refused select


def test_decide_and_extract_on_the_ai_binding(run: dict[str, Any], _admin: WorkersAI) -> None:
    """Clef's ``adecide`` and Clairic's ``aextract`` through ``env.AI.run`` under Pyodide answer what the
    REST client does; ``rejectIfBusy`` reaches the binding as run's third argument."""
    value = seen(run, "native_models")
    decision = _admin.decide(TICKET, QUESTIONS)
    assert value["decision"] == {k: a.probabilities for k, a in decision.answers.items()}
    assert value["decision_tokens"] == decision.input_tokens > 0
    extraction = _admin.extract(INVOICE, FIELDS, reference_date="2026-12-01")
    assert value["extraction"] == extraction.values and extraction.values["total"] == 1080
    spans = {
        k: [list(a.span) if a.span else None, [list(s) for s in a.spans]]
        for k, a in extraction.answers.items()
    }
    assert value["spans"] == spans and spans["issued"][0] is not None
    assert value["runs"] == [
        {"model": "@cf/cloudflare/clef-flash", "options": {"rejectIfBusy": True}},
        {"model": "@cf/cloudflare/clairic", "options": {"rejectIfBusy": True}},
    ]


@pytest.mark.browser
def test_browser_quick_actions_on_their_binding(run: dict[str, Any], _admin: WorkersAI) -> None:
    """``env.BROWSER.quickAction`` answers a JavaScript ``Response``: read for its JSON envelope, its PNG
    bytes and a failed page's 422, as the REST answer is."""
    reason = missing_browser()
    if reason:
        pytest.skip(f"no browser for Browser Run: {reason}")
    value = seen(run, "browser_quick_actions")
    assert value["markdown"] == _admin.browser.markdown(html=PAGE) and "Seine" in value["markdown"]
    assert bytes.fromhex(value["png"]) == b"\x89PNG\r\n\x1a\n"
    assert value["error"] == ["PageLoadError", value["error"][1], 422, "http://127.0.0.1:9/"]
    assert 5000 <= value["error"][1] <= 5011
    assert value["actions"] == ["markdown", "screenshot", "markdown"]
