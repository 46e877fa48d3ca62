"""One measurement, in a process of its own (for clean memory and import figures), printed as JSON.

    python benchmarks/workloads.py CASE CONTENDER [N]

Run by ``benchmarks/peers.py``, which starts the emulator and sets ``BENCH_BASE_URL``,
``BENCH_ACCOUNT_ID``, ``BENCH_TOKEN`` and ``BENCH_INDEX`` (and ``BENCH_PACE`` = ``window_s,scale``
for the rate-limited run: our client paces itself to the emulator's shortened, scaled limits). A
peer's name may end in ``@N``: the same peer at ``batch_size`` N, its best documented setting (100:
"Cloudflare's current limit is 100 at max", llama-index-embeddings-cloudflare-workersai's
docstring). The peers (langchain-cloudflare, langchain-community,
llama-index-embeddings-cloudflare-workersai) are imported only here, in the benchmark's own
environment; they are never dependencies of the package.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import time
import warnings
from collections.abc import Callable, Iterator
from typing import Any

warnings.filterwarnings("ignore")

BASE = os.environ.get("BENCH_BASE_URL", "")
ACCOUNT = os.environ.get("BENCH_ACCOUNT_ID", "")
TOKEN = os.environ.get("BENCH_TOKEN", "")
INDEX = os.environ.get("BENCH_INDEX", "")
EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"
CHAT_MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"
STREAM_TOKENS = 500
QUERIES = 40
TOPICS = ["rivers", "compilers", "bread", "orbits", "violins", "glaciers", "markets", "proteins"]


DISTINCT = 10_000
WARMUP = 10  # documents each ingestion contender writes, untimed, before its timed run


def corpus(n: int) -> list[str]:
    """``n`` short documents, the same in every process, so the emulator's cache of their embeddings,
    warmed before timing, serves every contender alike. The first 10,000 are distinct; beyond that
    the texts repeat (the documents keep distinct ids): the emulator's model shares the client's two
    cores and would take minutes to embed 100,000 new texts, while the client's work per document is
    the same either way."""
    return [
        f"Note {j}: a short document about {TOPICS[j % len(TOPICS)]}, number {j * 7919 % 10007}."
        for j in (i % DISTINCT for i in range(n))
    ]


def questions() -> list[str]:
    return [f"What is said about {t} in note {i}?" for i, t in enumerate(TOPICS * (QUERIES // len(TOPICS)))]


def stream_prompt() -> str:
    """A user message with enough context for a 500-token extractive answer, and a ``Query:`` line."""
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "examples", "data", "corpus.txt"), encoding="utf-8") as f:
        context = f.read()
    return f"{context}\n{context}\n{context}\nQuery: What does the context say about Workers AI?"


# -- contenders -----------------------------------------------------------------------------------


def ours_client() -> Any:
    from workersai import WorkersAI
    from workersai.pacing import PacingPolicy

    pace = os.environ.get("BENCH_PACE", "")
    if pace:
        window_s, scale = (float(x) for x in pace.split(","))
        return WorkersAI(ACCOUNT, TOKEN, base_url=BASE, pace=PacingPolicy(window_s=window_s, scale=scale))
    return WorkersAI(ACCOUNT, TOKEN, base_url=BASE)


def batch_size(contender: str, default: int) -> int:
    """``N`` for a contender named ``peer@N``, else the peer's default."""
    return int(contender.rsplit("@", 1)[1]) if "@" in contender else default


def peer(contender: str) -> str:
    """The peer's name without its ``@N`` setting."""
    return contender.split("@", 1)[0]


def ours_lc_embeddings() -> Any:
    from langchain_workersai import WorkersAIEmbeddings

    return WorkersAIEmbeddings(model=EMBED_MODEL, client=ours_client())


def ours_li_embeddings() -> Any:
    from llamaindex_workersai import WorkersAIEmbedding

    return WorkersAIEmbedding(model_name=EMBED_MODEL, client=ours_client())


def _lc_peer_embeddings(cls: Any, size: int) -> Any:
    """langchain-cloudflare's and langchain-community's embeddings take the same settings."""
    return cls(
        account_id=ACCOUNT,
        api_token=TOKEN,
        model_name=EMBED_MODEL,
        api_base_url=f"{BASE}/accounts",
        batch_size=size,
    )


def cloudflare_embeddings(size: int = 50) -> Any:
    from langchain_cloudflare import CloudflareWorkersAIEmbeddings

    return _lc_peer_embeddings(CloudflareWorkersAIEmbeddings, size)


def community_embeddings(size: int = 50) -> Any:
    from langchain_community.embeddings.cloudflare_workersai import CloudflareWorkersAIEmbeddings

    return _lc_peer_embeddings(CloudflareWorkersAIEmbeddings, size)


def llamaindex_peer_embeddings(size: int = 10) -> Any:
    # This peer has no base-URL setting: its URL is the module constant, pointed at the emulator here.
    # Its default batch is llama-index-core's DEFAULT_EMBED_BATCH_SIZE (10).
    from llama_index.embeddings.cloudflare_workersai import base

    base.API_URL_TEMPLATE = f"{BASE}/accounts/{{}}/ai/run/{{}}"
    return base.CloudflareEmbedding(
        account_id=ACCOUNT, auth_token=TOKEN, model=EMBED_MODEL, embed_batch_size=size
    )


def ours_lc_store(wait: bool = True) -> Any:
    from langchain_workersai import VectorizeVectorStore

    embeddings = ours_lc_embeddings()
    return VectorizeVectorStore(INDEX, embeddings, client=embeddings.workers_ai, wait=wait)


def cloudflare_store(size: int = 50) -> Any:
    from langchain_cloudflare import CloudflareVectorize

    return CloudflareVectorize(
        embedding=cloudflare_embeddings(size),
        account_id=ACCOUNT,
        api_token=TOKEN,
        base_url=BASE,
        index_name=INDEX,
    )


# -- cases ----------------------------------------------------------------------------------------


def ingest(contender: str, n: int) -> dict[str, Any]:
    """``n`` documents through the contender's vector store, timed after the same untimed warm-up for
    every contender (:data:`WARMUP` documents first: imports done on first use, connections, clients),
    as the embedding run warms up too: what is measured is the cost per document."""
    texts = corpus(n)
    ids = [f"doc-{i}" for i in range(n)]
    prepare: Callable[[list[str], list[str]], Callable[[], Any]]
    if contender in ("ours-langchain", "ours-langchain-nowait", "ours-langchain-async"):
        # -nowait: like the peer's default, return once the writes are accepted, not once searchable.
        store = ours_lc_store(wait=contender != "ours-langchain-nowait")
        if contender.endswith("async"):
            prepare = lambda t, i: lambda: asyncio.run(store.aadd_texts(t, ids=i))  # noqa: E731
        else:
            prepare = lambda t, i: lambda: store.add_texts(t, ids=i)  # noqa: E731
    elif contender in ("ours-llamaindex", "ours-llamaindex-deferred"):
        from llama_index.core import StorageContext, VectorStoreIndex
        from llama_index.core.schema import TextNode

        from llamaindex_workersai import VectorizeVectorStore

        embed = ours_li_embeddings()
        deferred = contender.endswith("deferred")
        li_store = VectorizeVectorStore(INDEX, client=embed.workers_ai, wait="deferred" if deferred else True)
        context = StorageContext.from_defaults(vector_store=li_store)

        def prepare(t: list[str], i: list[str]) -> Callable[[], Any]:
            nodes = [TextNode(id_=k, text=v) for k, v in zip(i, t, strict=True)]

            def run() -> None:
                VectorStoreIndex(nodes, storage_context=context, embed_model=embed)
                # Timed until searchable either way: deferred writes are confirmed once, at the end.
                embed.workers_ai.vectorize.confirm_writes(INDEX)

            return run
    elif peer(contender) == "langchain-cloudflare":
        cf_store = cloudflare_store(batch_size(contender, 50))

        def prepare(t: list[str], i: list[str]) -> Callable[[], Any]:
            def run() -> None:
                # The peer takes at most 5,000 texts a call.
                for start in range(0, len(t), 5000):
                    cf_store.add_texts(t[start : start + 5000], ids=i[start : start + 5000], include_d1=False)

            return run

    else:
        raise SystemExit(f"unknown contender {contender}")
    failed = None
    try:
        prepare(corpus(WARMUP), [f"warmup-{i}" for i in range(WARMUP)])()
    except Exception as exc:  # a peer without retries may stop at a 429 (the rate-limited run)
        failed = f"warm-up: {type(exc).__name__}: {exc}"[:300]
    run = prepare(texts, ids)
    before = rss_mb()
    cpu0, t0 = cpu_s(), time.perf_counter()
    if failed is None:
        try:
            run()
        except Exception as exc:  # a peer without retries stops at a 429: the rate-limited run reports it
            failed = f"{type(exc).__name__}: {exc}"[:300]
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "docs_per_s": n / seconds if failed is None else 0.0,
        "client_cpu_s": cpu_s() - cpu0,
        "rss_before_mb": before,
        "peak_rss_mb": rss_mb(),
        "failed": failed,
    }


def embed(contender: str, n: int) -> dict[str, Any]:
    texts = corpus(n)
    makers: dict[str, tuple[Callable[..., Any], str, str]] = {
        "ours-langchain": (ours_lc_embeddings, "embed_documents", "aembed_documents"),
        "ours-llamaindex": (ours_li_embeddings, "get_text_embedding_batch", "aget_text_embedding_batch"),
        "langchain-cloudflare": (cloudflare_embeddings, "embed_documents", "aembed_documents"),
        "langchain-community": (community_embeddings, "embed_documents", "aembed_documents"),
        "llama-index-embeddings-cloudflare-workersai": (
            llamaindex_peer_embeddings,
            "get_text_embedding_batch",
            "aget_text_embedding_batch",
        ),
    }
    make, sync_name, async_name = makers[peer(contender)]
    model = make(int(contender.rsplit("@", 1)[1])) if "@" in contender else make()
    getattr(model, sync_name)(texts[:10])  # warm up (connections), untimed
    t0 = time.perf_counter()
    out = getattr(model, sync_name)(texts)
    sync_s = time.perf_counter() - t0
    assert len(out) == n and len(out[0]) == 768

    async def timed() -> tuple[list[list[float]], float]:
        await getattr(model, async_name)(texts[:10])  # warm up in this event loop, untimed
        start = time.perf_counter()
        vectors = await getattr(model, async_name)(texts)
        return vectors, time.perf_counter() - start

    out, async_s = asyncio.run(timed())
    assert len(out) == n and len(out[0]) == 768
    return {"sync_texts_per_s": n / sync_s, "async_texts_per_s": n / async_s}


def _bare_stream(http: Any, prompt: str) -> Iterator[str]:
    """The floor: httpx reading the SSE lines and decoding each frame, nothing else."""
    url = f"{BASE}/accounts/{ACCOUNT}/ai/run/{CHAT_MODEL}"
    body = {"messages": [{"role": "user", "content": prompt}], "max_tokens": STREAM_TOKENS, "stream": True}
    with http.stream("POST", url, json=body) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and line != "data: [DONE]":
                text = json.loads(line[6:]).get("response")
                if text:
                    yield text


def _stream_runner(contender: str, prompt: str) -> Callable[[], Iterator[Any]]:
    if contender == "bare-httpx":
        import httpx

        http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})  # one client, reused
        return lambda: _bare_stream(http, prompt)
    if contender in ("ours-langchain", "ours-langchain-async"):
        from langchain_workersai import ChatWorkersAI

        chat: Any = ChatWorkersAI(
            model=CHAT_MODEL, max_tokens=STREAM_TOKENS, account_id=ACCOUNT, api_token=TOKEN, base_url=BASE
        )
    elif contender in ("langchain-cloudflare", "langchain-cloudflare-async"):
        from langchain_cloudflare import ChatCloudflareWorkersAI

        chat = ChatCloudflareWorkersAI(
            model=CHAT_MODEL, max_tokens=STREAM_TOKENS, account_id=ACCOUNT, api_token=TOKEN, base_url=BASE
        )
    elif contender == "langchain-community":
        from langchain_community.llms.cloudflare_workersai import CloudflareWorkersAI

        llm = CloudflareWorkersAI(
            account_id=ACCOUNT, api_token=TOKEN, model=CHAT_MODEL, base_url=f"{BASE}/accounts"
        )
        return lambda: (c for c in llm.stream(prompt, max_tokens=STREAM_TOKENS) if c)
    else:
        raise SystemExit(f"unknown contender {contender}")
    if contender.endswith("-async"):
        # One event loop for every run (langchain-cloudflare's async client is bound to the first).
        loop = asyncio.new_event_loop()

        def drain() -> Iterator[Any]:
            # Each chunk is stamped inside the event loop as it arrives, then replayed.
            stamps: list[tuple[float, str]] = []

            async def go() -> None:
                async for chunk in chat.astream(prompt):
                    if chunk.content:
                        stamps.append((time.perf_counter(), str(chunk.content)))

            loop.run_until_complete(go())
            return iter(stamps)

        return drain
    return lambda: (str(c.content) for c in chat.stream(prompt) if c.content)


def stream(contender: str, runs: int) -> dict[str, Any]:
    prompt = stream_prompt()
    runner = _stream_runner(contender, prompt)
    firsts, totals, chunks = [], [], 0
    for _ in runner():  # connect and warm up, untimed
        pass
    for _ in range(runs):
        t0 = time.perf_counter()
        first = None
        count = 0
        for item in runner():
            stamp = item[0] if isinstance(item, tuple) else time.perf_counter()
            if first is None:
                first = stamp - t0
            count += 1
        totals.append(time.perf_counter() - t0)
        firsts.append(first or 0.0)
        chunks = count
    return {
        "ttft_ms": statistics.median(firsts) * 1000,
        "total_ms": statistics.median(totals) * 1000,
        "chunks": chunks,
    }


def retrieve(contender: str, runs: int) -> dict[str, Any]:
    qs = questions()
    if contender == "bare-httpx":
        import httpx

        http = httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"})

        def search(q: str) -> Any:
            emb = http.post(f"{BASE}/accounts/{ACCOUNT}/ai/run/{EMBED_MODEL}", json={"text": [q]})
            vector = emb.json()["result"]["data"][0]
            body = {"vector": vector, "topK": 4, "returnMetadata": "all", "returnValues": False}
            found = http.post(f"{BASE}/accounts/{ACCOUNT}/vectorize/v2/indexes/{INDEX}/query", json=body)
            return found.json()["result"]["matches"]

    elif contender == "ours-langchain":
        store = ours_lc_store()
        search = lambda q: store.similarity_search(q, k=4)  # noqa: E731
    elif contender == "ours-llamaindex":
        from llamaindex_workersai import VectorizeRetriever, VectorizeVectorStore

        embed = ours_li_embeddings()
        retriever = VectorizeRetriever(
            VectorizeVectorStore(INDEX, client=embed.workers_ai), embed, similarity_top_k=4
        )
        search = retriever.retrieve
    elif contender == "langchain-cloudflare":
        peer = cloudflare_store()
        search = lambda q: peer.similarity_search(q, k=4, include_d1=False)  # noqa: E731
    else:
        raise SystemExit(f"unknown contender {contender}")
    search(qs[0])  # connect and warm up
    times = []
    for _ in range(runs):
        for q in qs:
            t0 = time.perf_counter()
            found = search(q)
            times.append(time.perf_counter() - t0)
            assert len(found) >= 4, found  # langchain-cloudflare asks for 20 when it returns metadata
    times.sort()
    return {"p50_ms": statistics.median(times) * 1000, "p95_ms": times[int(len(times) * 0.95)] * 1000}


def cpu_s() -> float:
    """CPU seconds this process has used (all its threads)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def rss_mb() -> float:
    """Peak resident memory of this process so far (VmHWM: unlike ``ru_maxrss``, it is not inherited
    from the parent across fork and exec)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


CASES: dict[str, Callable[[str, int], dict[str, Any]]] = {
    "ingest": ingest,
    "embed": embed,
    "stream": stream,
    "retrieve": retrieve,
}

if __name__ == "__main__":
    case, contender = sys.argv[1], sys.argv[2]
    amount = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    print(json.dumps(CASES[case](contender, amount)))
