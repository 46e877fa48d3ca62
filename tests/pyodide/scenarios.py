"""What runs inside Pyodide (harness.mjs): the adapters on a client built from the emulated bindings,
as a Python Worker would build it. Each scenario returns what it observed; test_pyodide.py asserts on
it. A scenario that raises is reported with its traceback (the others still run).

Imported only under Pyodide, by harness.mjs (not collected by pytest: its name does not start with
``test_``).
"""

from __future__ import annotations

import json
import sys
import time
import traceback
from collections.abc import Awaitable, Callable
from typing import Any

CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EMBEDDING_MODEL = "@cf/baai/bge-small-en-v1.5"
DOCS = [
    ("Paris is the capital of France.", "geo"),
    ("The Seine flows through Paris.", "geo"),
    ("Photosynthesis turns light into sugar.", "bio"),
]
TICKET = {"ticket": "Checkout has been failing for every customer for the last hour.", "customer": "ACME"}
QUESTIONS = {
    "urgent": {"type": "noul", "instructions": "Is this request urgent?"},
    "team": {
        "type": "choice",
        "instructions": "Which team should handle it?",
        "criteria": {"billing": "Billing and payments", "technical": "Technical problems"},
    },
    "severity": {
        "type": "score",
        "instructions": "How severe is it?",
        "criteria": ["minor", "major", "critical"],
    },
}
INVOICE = "Invoice INV-2291 from Northwind Supply, issued 2026-09-02. Total $1080.00. Contact: Dana Ruiz."
FIELDS = {
    "invoice_number": {"type": "text", "instructions": "The invoice number"},
    "issued": {"type": "date"},
    "total": {"type": "number", "unit": "USD"},
    "contacts": {"type": "list", "items": "text"},
}
PAGE = "<html><head><title>Rivers</title></head><body><h1>Rivers</h1><p>The Seine flows.</p></body></html>"


def _client(env: Any) -> Any:
    from workersai import WorkersAI

    return WorkersAI(binding=env.AI, vectorize_binding=env.VECTORIZE)


async def runtime(env: Any, index: str) -> dict[str, Any]:
    import pydantic_core

    from workersai import jsonlib

    return {
        "platform": sys.platform,
        "python": list(sys.version_info[:2]),
        "orjson": jsonlib.HAVE_ORJSON,
        "pydantic_core": pydantic_core.__version__,
    }


async def chat_invoke(env: Any, index: str) -> dict[str, Any]:
    from langchain_workersai import ChatWorkersAI

    llm = ChatWorkersAI(model=CHAT_MODEL, client=_client(env))
    answer = await llm.ainvoke(
        "Context: Paris is the capital of France. Question: what is the capital of France?"
    )
    return {"content": answer.content, "usage": dict(answer.usage_metadata or {})}


async def chat_stream(env: Any, index: str) -> dict[str, Any]:
    from langchain_workersai import ChatWorkersAI

    llm = ChatWorkersAI(model=CHAT_MODEL, client=_client(env), streaming=True)
    parts = [chunk.content async for chunk in llm.astream("Tell me about the river Seine in Paris.")]
    async for _ in llm.astream("Tell me about Paris."):
        break  # a stream left early: its ReadableStream's reader is cancelled
    after = await llm.ainvoke("Context: The Seine flows through Paris. Question: which river?")
    return {"parts": parts, "after_early_stop": after.content}


async def chat_tools(env: Any, index: str) -> dict[str, Any]:
    from langchain_core.tools import tool

    from langchain_workersai import ChatWorkersAI

    @tool
    def magic_function(input: int) -> int:
        """Applies a magic function to an input."""
        return input + 2

    llm = ChatWorkersAI(model=CHAT_MODEL, client=_client(env)).bind_tools([magic_function])
    answer = await llm.ainvoke("What is the value of magic_function(3)? Use the tool.")
    return {"tool_calls": [{"name": c["name"], "args": c["args"]} for c in answer.tool_calls]}


async def embeddings(env: Any, index: str) -> dict[str, Any]:
    from langchain_workersai import WorkersAIEmbeddings

    emb = WorkersAIEmbeddings(model=EMBEDDING_MODEL, client=_client(env))
    docs = await emb.aembed_documents([d for d, _ in DOCS])
    query = await emb.aembed_query(DOCS[0][0])
    many = [f"text number {i}" for i in range(120)]
    batched = await emb.workers_ai.aembed(many, model=EMBEDDING_MODEL, batch_size=50)  # 3 calls at once
    single = await emb.workers_ai.aembed([many[77]], model=EMBEDDING_MODEL)
    return {
        "count": len(docs),
        "dims": [len(v) for v in docs],
        "same_as_doc0": query == docs[0],
        "doc0_head": docs[0][:5],
        "batched": len(batched),
        "batched_in_order": batched[77] == single[0],
    }


async def batch_queue(env: Any, index: str) -> dict[str, Any]:
    """The Batch API through ``env.AI``: ``aqueue`` passes ``{queueRequest: true}`` as run's options (a
    JS object, converted by the client), and the queued batch is polled to its end."""
    client = _client(env)
    texts = [d for d, _ in DOCS]
    job = await client.aqueue(EMBEDDING_MODEL, [{"text": texts, "external_reference": "docs"}])
    responses = await job.await_(poll_interval=0.02, timeout=120)
    direct = await client.aembed(texts, model=EMBEDDING_MODEL)
    return {
        "references": [r.external_reference for r in responses],
        "same_as_direct": responses[0].result["data"] == direct,
    }


async def vector_store(env: Any, index: str) -> dict[str, Any]:
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings

    client = _client(env)
    store = VectorizeVectorStore(
        index, WorkersAIEmbeddings(model=EMBEDDING_MODEL, client=client), client=client, wait=True
    )
    ids = await store.aadd_texts(
        [d for d, _ in DOCS], metadatas=[{"topic": t} for _, t in DOCS], ids=["d0", "d1", "d2"]
    )
    unfiltered = await store.asimilarity_search("capital of France", k=3)
    bio = await store.asimilarity_search("capital of France", k=3, filter={"topic": "bio"})
    scored = VectorizeVectorStore(
        index, WorkersAIEmbeddings(model=EMBEDDING_MODEL, client=client), client=client, metric="cosine"
    )
    relevance = await scored.asimilarity_search_with_relevance_scores("capital of France", k=3)
    by_id = await store.aget_by_ids(["d1"])
    await store.adelete(["d0"])
    after = await store.asimilarity_search("capital of France", k=3)
    return {
        "ids": ids,
        "unfiltered": [d.page_content for d in unfiltered],
        "bio": [(d.page_content, d.metadata.get("topic")) for d in bio],
        "by_id": [d.page_content for d in by_id],
        "relevance": [(d.page_content, score) for d, score in relevance],
        "after_delete": [d.id for d in after],
    }


async def rag_chain(env: Any, index: str) -> dict[str, Any]:
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings

    client = _client(env)
    store = VectorizeVectorStore(
        index, WorkersAIEmbeddings(model=EMBEDDING_MODEL, client=client), client=client
    )
    retriever = store.as_retriever(search_kwargs={"k": 1, "filter": {"topic": "geo"}})
    prompt = ChatPromptTemplate.from_messages(
        [("system", "Answer from the context.\nContext: {context}"), ("human", "{question}")]
    )

    def join(docs: list[Any]) -> str:
        return "\n".join(d.page_content for d in docs)

    chain = (
        {"context": retriever | join, "question": RunnablePassthrough()}
        | prompt
        | ChatWorkersAI(model=CHAT_MODEL, client=client)
        | StrOutputParser()
    )
    return {"answer": await chain.ainvoke("Which river flows through Paris?")}


async def reranker(env: Any, index: str) -> dict[str, Any]:
    from langchain_core.documents import Document

    from langchain_workersai import WorkersAIReranker

    docs = [Document(page_content=d) for d, _ in DOCS]
    ranked = await WorkersAIReranker(client=_client(env), top_n=2).acompress_documents(
        docs, "Which river flows through Paris?"
    )
    return {"ranked": [(d.page_content, d.metadata["relevance_score"]) for d in ranked]}


async def typed_errors(env: Any, index: str) -> dict[str, Any]:
    from workersai import WorkersAI

    client = WorkersAI(binding=env.AI, vectorize_binding=env.VECTORIZE, max_retries=0, validate_models=False)
    seen: dict[str, Any] = {}
    try:
        await client.achat("hi", model="@cf/nobody/no-such-model")
    except Exception as exc:
        seen["unknown_model"] = [type(exc).__name__, getattr(exc, "code", None), str(exc)]
    try:
        await client.vectorize.aquery(index, [0.5, 0.5])
    except Exception as exc:
        seen["wrong_dimensions"] = [type(exc).__name__, getattr(exc, "code", None), str(exc)]
    try:
        client.chat("hi")
    except Exception as exc:
        seen["sync_call"] = [type(exc).__name__, None, str(exc)]
    return seen


async def markdown(env: Any, index: str) -> dict[str, Any]:
    """``env.AI.toMarkdown`` through the client: documents go to the binding as JS ``Blob`` objects
    (workersai.jsbridge.markdown_documents), conversion options as a JS object; ``supported()`` too."""
    client = _client(env)
    html = b"<html><body><h1>Rivers</h1><p>The Seine flows through Paris.</p></body></html>"
    csv = b"name,river\nParis,Seine\n"
    results = await client.ato_markdown(
        [("rivers \u00e9.html", html), ("cities.csv", csv, "text/csv"), ("notes.odt", b"PK")]
    )
    (text,) = await client.ato_markdown([("r.html", html)], conversion_options={"output": {"format": "text"}})
    supported = await client.amarkdown_supported()
    return {
        "results": [[r.name, r.mime_type, r.format, r.data, r.tokens, r.error] for r in results],
        "text": [text.format, text.data],
        "supported": [[f.extension, f.mime_type] for f in supported],
    }


async def proxy_refused(env: Any, index: str) -> dict[str, Any]:
    """The emulated binding refuses a Python dict handed over as it is (a PyProxy), as a real binding
    cannot serialize one: what the client's conversion (workersai.jsbridge) exists to avoid."""
    try:
        await env.AI.run(EMBEDDING_MODEL, {"text": ["x"]})
    except Exception as exc:
        return {"refused": [type(exc).__name__, str(exc)]}
    return {"refused": None}


async def worker_entry(env: Any, index: str) -> dict[str, Any]:
    """The example Worker's work (examples/python_worker/src/rag.py), as its entry point calls it."""
    sys.path.insert(0, "/repo/examples/python_worker/src")
    from rag import answer

    return await answer(env, "Which river flows through Paris?", index)


async def d1_binding(env: Any, index: str) -> dict[str, Any]:
    """``client.d1`` on ``env.DB``: statements bound through ``bind`` (``None`` as ``null``), a batch of
    prepared statements (JS objects, not JSON copies), raw rows, a refused statement's typed error. The
    LangGraph checkpointer itself cannot load here: langgraph-checkpoint's serializer imports ormsgpack,
    which has no pyemscripten wheel on PyPI."""
    from workersai import WorkersAI
    from workersai.errors import WorkersAIError

    client = WorkersAI(d1_binding=env.DB)
    db = str(env.DB.databaseId)
    await client.d1.aquery(db, "CREATE TABLE IF NOT EXISTS t (k TEXT PRIMARY KEY, v TEXT, n INTEGER)")
    insert = "INSERT OR REPLACE INTO t VALUES (?, ?, ?)"
    written = await client.d1.abatch(db, [(insert, ("a", None, 1)), (insert, ("b", "x\u00e9", 2))])
    rows = await client.d1.aquery(db, "SELECT k, v, n FROM t WHERE n >= ? ORDER BY k", [1])
    raw = await client.d1.araw(db, "SELECT k FROM t ORDER BY k")
    try:
        await client.d1.aquery(db, "SELECT * FROM nowhere")
        error = None
    except WorkersAIError as exc:
        error = [type(exc).__name__, exc.code, exc.status]
    return {
        "changes": [r.changes for r in written],
        "rows": rows[0].results,
        "raw": [raw[0].columns, raw[0].results],
        "error": error,
        "calls": int(env.DB.calls),
    }


async def native_models(env: Any, index: str) -> dict[str, Any]:
    """Clef's ``adecide`` and Clairic's ``aextract`` through ``env.AI.run``: their bodies (a JSON state,
    nested questions and fields) converted to JS objects, ``rejectIfBusy`` in run's third argument."""
    from workersai import WorkersAI

    client = WorkersAI(binding=env.AI).with_options(reject_if_busy=True)
    decision = await client.adecide(TICKET, QUESTIONS)
    decide_run = json.loads(str(env.AI.lastRun))
    extraction = await client.aextract(INVOICE, FIELDS, reference_date="2026-12-01")
    return {
        "decision": {k: a.probabilities for k, a in decision.answers.items()},
        "decision_tokens": decision.input_tokens,
        "extraction": extraction.values,
        "spans": {k: [a.span, a.spans] for k, a in extraction.answers.items()},
        "runs": [decide_run, json.loads(str(env.AI.lastRun))],
    }


async def browser_quick_actions(env: Any, index: str) -> dict[str, Any]:
    """Browser Run's Quick Actions through ``env.BROWSER.quickAction(action, params)``, which answers a
    JavaScript ``Response`` (bound by harness.mjs only where the emulator has a Chromium)."""
    from workersai import WorkersAI
    from workersai.errors import WorkersAIError

    if getattr(env, "BROWSER", None) is None:
        return {"skipped": True}
    browser = WorkersAI(browser_binding=env.BROWSER, max_retries=0).browser
    markdown = await browser.amarkdown(html=PAGE)
    shot = await browser.ascreenshot(html=PAGE)
    try:
        await browser.amarkdown("http://127.0.0.1:9/")  # nothing listens there: the page fails to load
        error = None
    except WorkersAIError as exc:
        error = [type(exc).__name__, exc.code, exc.status, getattr(exc, "url", None)]
    return {
        "markdown": markdown,
        "png": shot[:8].hex(),
        "error": error,
        "actions": list(env.BROWSER.actions.to_py()),
    }


SCENARIOS: list[Callable[[Any, str], Awaitable[dict[str, Any]]]] = [
    runtime,
    d1_binding,
    chat_invoke,
    chat_stream,
    chat_tools,
    embeddings,
    batch_queue,
    vector_store,
    rag_chain,
    reranker,
    typed_errors,
    markdown,
    proxy_refused,
    worker_entry,
    native_models,
    browser_quick_actions,
]


async def run_all(env: Any, index: str) -> str:
    """Every scenario in order (the vector store's writes come before the RAG chain's reads)."""
    out: dict[str, Any] = {}
    for scenario in SCENARIOS:
        started = time.monotonic()
        try:
            out[scenario.__name__] = {"ok": True, "value": await scenario(env, index)}
        except Exception:
            out[scenario.__name__] = {"ok": False, "error": traceback.format_exc()}
        out[scenario.__name__]["seconds"] = round(time.monotonic() - started, 3)
    return json.dumps({"scenarios": out}, default=repr)
