"""Ours against the peers, on the same work, in one run: ingestion, embeddings, streaming, retrieval,
memory and import time. Prints a markdown table with ratios and writes it, with a PNG chart, under
``benchmarks/results/``.

    make bench          # builds .venv-bench (the package plus the peers) and runs this

The emulator runs in its own process with a fixed latency added to every request (default 40 ms, a
real round trip to the service) and streams tokens ``--token-interval-ms`` apart (the service's
generation speed). Its embedding model runs on the same cores as the clients, so the embeddings of
the benchmark's texts are computed once before any timing; timed runs measure the clients and the
round trips, not the local model. Each measurement runs in a fresh process (``workloads.py``).
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import functools
import inspect
import itertools
import json
import math
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from workersai import WorkersAI

HERE = Path(__file__).resolve().parent
WORKLOADS = HERE / "workloads.py"
ACCOUNT = "0123456789abcdef0123456789abcdef"
PEERS_ALL = ["langchain-cloudflare", "langchain-community", "llama-index-embeddings-cloudflare-workersai"]
# Each peer again at its best documented setting: 100 texts a request, the service's maximum (their
# defaults: 50, 50 and llama-index-core's 10). Ratios are against the better of the two.
BEST_SETTINGS = [f"{peer}@100" for peer in PEERS_ALL]
# The core client's default max_concurrency (read from it, so the limit follows the client).
CONCURRENCY: int = inspect.signature(WorkersAI).parameters["max_concurrency"].default
EMBED_RATE_PER_MINUTE = 3000  # the service's rate limit for text embeddings


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """``workersai-local`` in a process of its own."""

    def __init__(self, data_dir: str, cache: int) -> None:
        self.port, self.token = free_port(), secrets.token_urlsafe(16)
        self.base = f"http://127.0.0.1:{self.port}/client/v4"
        # `--token=...`: a random token may start with "-", which argparse would take for an option.
        cmd = [sys.executable, "-m", "workersai.local.cli", "--port", str(self.port), f"--token={self.token}"]
        cmd += ["--data-dir", data_dir, "--embedding-cache", str(cache), "--log-level", "warning"]
        cmd += ["--generator", "extractive"]  # streaming measures the clients, not a language model
        self.proc = subprocess.Popen(cmd)
        self.http = httpx.Client(
            base_url=f"http://127.0.0.1:{self.port}", headers={"Authorization": f"Bearer {self.token}"}
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                self.http.get("/__local__/health").raise_for_status()
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    raise SystemExit("the emulator did not start") from None
                time.sleep(0.2)

    def faults(self, **plan: Any) -> None:
        self.http.post("/__local__/faults", json=plan).raise_for_status()

    def rate_limits(self, window_s: float | None = None, scale: float = 1.0) -> None:
        """The service's rate limits from now on (fresh windows), or none (``window_s=None``)."""
        if window_s is None:
            self.http.delete("/__local__/rate-limits").raise_for_status()
        else:
            body = {"window_s": window_s, "scale": scale}
            self.http.post("/__local__/rate-limits", json=body).raise_for_status()

    def env(self, index: str = "") -> dict[str, str]:
        return {
            **os.environ,
            "BENCH_BASE_URL": self.base,
            "BENCH_ACCOUNT_ID": ACCOUNT,
            "BENCH_TOKEN": self.token,
            "BENCH_INDEX": index,
        }

    def cpu_s(self) -> float:
        """CPU seconds the emulator process has used (from /proc)."""
        with open(f"/proc/{self.proc.pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def measure(
    emu: Emulator, case: str, contender: str, amount: int, index: str = "", env: dict[str, str] | None = None
) -> dict[str, Any] | None:
    cmd = [sys.executable, str(WORKLOADS), case, contender, str(amount)]
    emulator_cpu = emu.cpu_s()
    done = subprocess.run(cmd, env=emu.env(index) | (env or {}), capture_output=True, text=True, timeout=3600)
    if done.returncode != 0:
        print(f"  {case} {contender}: FAILED\n{done.stderr[-2000:]}", file=sys.stderr)
        return None
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["emulator_cpu_s"] = emu.cpu_s() - emulator_cpu
    print(f"  {case:8} {contender:44} {amount:>7}  {result}", file=sys.stderr)
    return result


IMPORTS = [
    # The framework's own base classes that any integration of the same kind needs.
    (
        "langchain-core",
        "from langchain_core.language_models.chat_models import BaseChatModel; "
        "from langchain_core.embeddings import Embeddings; "
        "from langchain_core.vectorstores import VectorStore",
    ),
    # Each integration's chat model, embeddings and vector store: what the base-class line above needs.
    (
        "langchain_workersai",
        "from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings",
    ),
    (
        "langchain_cloudflare",
        "from langchain_cloudflare import ChatCloudflareWorkersAI, CloudflareVectorize, "
        "CloudflareWorkersAIEmbeddings",
    ),
    (
        "llama-index-core",
        "from llama_index.core.llms.function_calling import FunctionCallingLLM; "
        "from llama_index.core.base.embeddings.base import BaseEmbedding; "
        "from llama_index.core.vector_stores.types import BasePydanticVectorStore",
    ),
    (
        "llamaindex_workersai",
        "from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding",
    ),
    (
        "llama_index.embeddings.cloudflare_workersai",
        "import llama_index.embeddings.cloudflare_workersai",
    ),
]


def compile_ours() -> None:
    """Byte-compile this checkout's packages, as pip does for an installed wheel (and did for the peers'
    and the frameworks' files): with ``PYTHONDONTWRITEBYTECODE`` set, nothing else writes them, and every
    timed run would compile our sources again while the others load their bytecode."""
    import compileall

    for package in ("workersai", "langchain_workersai", "llamaindex_workersai"):
        compileall.compile_dir(HERE.parent / package, quiet=1)


def import_seconds(codes: dict[str, str], repeats: int = 15) -> dict[str, float]:
    """Median wall time of ``python -c code`` less that of a bare interpreter, for each label's code.
    The runs take turns (one of each, ``repeats`` times), so a machine that slows down or speeds up
    during the measurement moves every figure alike."""

    def run(code: str) -> float:
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - t0

    times: dict[str, list[float]] = {label: [] for label in ["", *codes]}
    for _ in range(repeats):
        for label, code in [("", "pass"), *codes.items()]:
            times[label].append(run(code))
    bare = statistics.median(times.pop(""))
    return {label: statistics.median(runs) - bare for label, runs in times.items()}


def fresh_index(client: Any, name: str) -> str:
    with contextlib.suppress(Exception):  # it did not exist
        client.vectorize.delete_index(name)
    client.vectorize.create_index(name, dimensions=768, metric="cosine")
    return name


def settle(client: Any, index: str, count: int, timeout: float = 300.0) -> None:
    """Wait until the emulator has applied every write to ``index`` (a contender that does not wait
    returns earlier), so that applying them does not take CPU from the next measurement."""
    deadline = time.monotonic() + timeout
    while client.vectorize.info(index).vector_count < count and time.monotonic() < deadline:
        time.sleep(0.1)


def best_peer(rows: dict[str, Any], metric: str, *, lower: bool = False) -> tuple[str, float] | None:
    """The peer row (any setting) best on ``metric``, with its value; failed rows do not count."""
    found = [
        (name, float(res[metric]))
        for name, res in rows.items()
        if res and not name.startswith(("ours", "bare")) and not res.get("failed")
    ]
    if not found:
        return None
    return (min if lower else max)(found, key=lambda item: item[1])


class Sampler:
    """Polls the emulator's counters every ``every`` seconds on a thread of its own, while a
    measurement runs: (seconds since start, texts embedded, requests, requests answered 429)."""

    def __init__(self, emu: Emulator, every: float = 0.2) -> None:
        import threading

        self.http = httpx.Client(base_url=str(emu.http.base_url), headers=dict(emu.http.headers))
        self.every, self.samples = every, []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _take(self, t0: float) -> None:
        c = self.http.get("/__local__/stats").json()["result"]
        self.samples.append(
            (time.perf_counter() - t0, c.get("embedded_texts", 0), c["requests"], c["rate_limited"])
        )

    def _run(self) -> None:
        t0 = time.perf_counter()
        while not self._stop.is_set():
            self._take(t0)
            self._stop.wait(self.every)
        self._take(t0)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.http.close()


RATE_CONTENDERS = [
    # (row, workload contender, texts a request, paced)
    ("ours-langchain (paced)", "ours-langchain", 100, True),
    ("ours-langchain (pace=False, retries)", "ours-langchain", 100, False),
    ("langchain-cloudflare", "langchain-cloudflare", 50, False),
    ("langchain-cloudflare@100", "langchain-cloudflare@100", 100, False),
]


def rate_run(emu: Emulator, client: Any, args: argparse.Namespace) -> dict[str, Any]:
    """Ingestion with the service's rate limits on (the minute shortened to ``--rate-window-s``, the
    embedding model's 3000 a minute scaled to ``--rate-per-window``), long enough for
    ``--rate-windows`` windows at the limit: ours paced and unpaced, each peer."""
    from workloads import WARMUP

    scale = args.rate_per_window / EMBED_RATE_PER_MINUTE
    n = args.rate_per_window * args.rate_windows * 100
    bound = args.rate_per_window * 100 / args.rate_window_s
    out: dict[str, Any] = {"docs": n, "bound_docs_per_s": bound, "rows": {}}
    for row, contender, per_request, paced in RATE_CONTENDERS:
        index = fresh_index(client, "rate-limited")
        emu.rate_limits(args.rate_window_s, scale)
        env = {"BENCH_PACE": f"{args.rate_window_s},{scale}"} if paced else {}
        with Sampler(emu) as sampler:
            res = measure(emu, "ingest", contender, n, index, env)
        emu.rate_limits(None)
        settle(client, index, 0 if res is None or res.get("failed") else n + WARMUP)
        client.vectorize.delete_index(index)
        if res is None:
            continue
        t, texts, _, refused = (list(col) for col in zip(*sampler.samples, strict=True))
        embedded = texts[-1] - texts[0]
        accepted = math.ceil(embedded / per_request)
        res.update(
            refused=refused[-1] - refused[0],
            embedding_requests=accepted + refused[-1] - refused[0],
            docs_embedded=embedded,
            timeline={
                "t": [x - t[0] for x in t],
                "texts": [x - texts[0] for x in texts],
                "refused": [x - refused[0] for x in refused],
            },
        )
        res["sustained_docs_per_s"] = sustained(res["timeline"])
        out["rows"][row] = res
    return out


def sustained(line: dict[str, list[float]]) -> float:
    """Texts embedded a second between the times 10% and 90% of them were done (start-up and the last
    writes and read-back left out)."""
    t, texts = line["t"], line["texts"]
    total = texts[-1]
    if total <= 0:
        return 0.0

    def when(share: float) -> float:
        return next(x for x, v in zip(t, texts, strict=True) if v >= share * total)

    start, end = when(0.1), when(0.9)
    done = next(v for x, v in zip(t, texts, strict=True) if x >= end) - next(
        v for x, v in zip(t, texts, strict=True) if x >= start
    )
    return done / (end - start) if end > start else 0.0


def ratio(ours: float, peer: float | None) -> str:
    return f"{ours / peer:.2f}x" if peer else "n/a"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--latency-ms", type=float, default=40.0)
    p.add_argument("--token-interval-ms", type=float, default=2.0)
    p.add_argument("--docs", type=int, default=10_000)
    p.add_argument("--embed-texts", type=int, default=5_000)
    p.add_argument("--memory-docs", default="10000,100000", help="comma-separated document counts")
    p.add_argument("--stream-runs", type=int, default=5)
    p.add_argument("--retrieval-runs", type=int, default=2)
    p.add_argument("--rate-window-s", type=float, default=5.0, help="the rate-limited run's minute")
    p.add_argument(
        "--rate-per-window", type=int, default=50, help="embedding requests a window in the rate-limited run"
    )
    p.add_argument(
        "--rate-windows", type=int, default=6, help="windows the rate-limited run spans at the limit"
    )
    p.add_argument("--out", type=Path, default=HERE / "results")
    p.add_argument(
        "--skip",
        default="",
        help="comma-separated cases to skip (ingest,embed,stream,retrieve,memory,rate,import)",
    )
    p.add_argument("--from-json", type=Path, help="print the report and chart of an earlier run's peers.json")
    p.add_argument(
        "--publish",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="write the README's table and docs/peers.png from the results (default: yes for a run, no "
        "for --from-json)",
    )
    args = p.parse_args()
    if args.from_json:
        saved = json.loads(args.from_json.read_text())
        for key, value in saved.pop("args").items():
            if key not in ("out", "from_json", "publish"):
                setattr(args, key, value)
        saved.setdefault("stream_tokens", 500)
        print(report(saved, args))
        chart(saved, args.out / "peers.png")
        if args.publish:
            publish(saved, args)
        return
    skip = set(filter(None, args.skip.split(",")))
    memory_counts = [int(x) for x in args.memory_docs.split(",") if x]
    rate_docs = args.rate_per_window * args.rate_windows * 100 if "rate" not in skip else 0
    largest = max([args.docs, args.embed_texts, *memory_counts, rate_docs])

    sys.path.insert(0, str(HERE))
    from workloads import DISTINCT, EMBED_MODEL, STREAM_TOKENS, WARMUP, corpus

    results: dict[str, Any] = {
        "stream_tokens": STREAM_TOKENS,
        "ingest": {},
        "embed": {},
        "stream": {},
        "retrieve": {},
        "memory": {},
        "rate": {},
        "import": {},
    }
    with tempfile.TemporaryDirectory(prefix="workersai-bench-") as data:
        emu = Emulator(data, cache=2 * DISTINCT + 10_000)
        client = WorkersAI(ACCOUNT, emu.token, base_url=emu.base, timeout=120)
        try:
            t0 = time.perf_counter()
            print(
                f"warming the emulator's embeddings of {min(largest, DISTINCT):,} texts (untimed) ...",
                file=sys.stderr,
            )
            client.embed(corpus(min(largest, DISTINCT)), model=EMBED_MODEL)
            print(f"  warmed in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            emu.faults(latency_ms=args.latency_ms, token_interval_ms=args.token_interval_ms)

            if "ingest" not in skip:
                for contender in [
                    "ours-langchain",
                    "ours-langchain-async",
                    "ours-langchain-nowait",
                    "ours-llamaindex",
                    "ours-llamaindex-deferred",
                    "langchain-cloudflare",
                    "langchain-cloudflare@100",
                ]:
                    index = fresh_index(client, f"ingest-{contender.replace('@', '-at-')}")
                    results["ingest"][contender] = measure(emu, "ingest", contender, args.docs, index)
                    settle(client, index, args.docs + WARMUP)
                    if contender not in ("ours-langchain", "ours-llamaindex"):
                        client.vectorize.delete_index(index)
            if "embed" not in skip:
                for contender in ["ours-langchain", "ours-llamaindex", *PEERS_ALL, *BEST_SETTINGS]:
                    results["embed"][contender] = measure(emu, "embed", contender, args.embed_texts)
            if "stream" not in skip:
                for contender in [
                    "bare-httpx",
                    "ours-langchain",
                    "ours-langchain-async",
                    "langchain-cloudflare",
                    "langchain-cloudflare-async",
                    "langchain-community",
                ]:
                    results["stream"][contender] = measure(emu, "stream", contender, args.stream_runs)
            if "retrieve" not in skip and "ingest" not in skip:
                for contender in ["bare-httpx", "ours-langchain", "ours-llamaindex", "langchain-cloudflare"]:
                    # Each store reads the index it wrote (the LlamaIndex one keeps its node layout).
                    index = (
                        "ingest-ours-llamaindex"
                        if contender == "ours-llamaindex"
                        else "ingest-ours-langchain"
                    )
                    results["retrieve"][contender] = measure(
                        emu, "retrieve", contender, args.retrieval_runs, index
                    )
            if "memory" not in skip:
                for contender in ["ours-langchain", "langchain-cloudflare"]:
                    for n in memory_counts:
                        index = fresh_index(client, "memory")
                        results["memory"][f"{contender}@{n}"] = measure(emu, "ingest", contender, n, index)
                        settle(client, index, n + WARMUP)
                        client.vectorize.delete_index(index)
            if "rate" not in skip:
                emu.faults(latency_ms=args.latency_ms)  # no token pacing needed: no streams here
                results["rate"] = rate_run(emu, client, args)
        finally:
            client.close()
            emu.stop()
    if "import" not in skip:
        compile_ours()
        for label, seconds in import_seconds(dict(IMPORTS)).items():
            results["import"][label] = seconds * 1000
            print(f"  import   {label:44} {results['import'][label]:.0f} ms", file=sys.stderr)

    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "peers.json").write_text(
        json.dumps({"args": vars(args) | {"out": str(args.out)}, **results}, indent=2)
    )
    full = report(results, args)
    (args.out / "peers.md").write_text(full)
    print(full)
    chart(results, args.out / "peers.png")
    if args.publish is not False:
        publish(results, args)


def ingestion_limit(n: int, latency_s: float) -> tuple[float, float]:
    """Seconds the work needs at best: (latency-bound, rate-bound). Latency-bound: the embedding
    requests ``CONCURRENCY`` at a time, the NDJSON writes, and one read-back of the last write, each a
    round trip. Rate-bound: the embedding requests at the service's 3000 a minute, sustained."""
    embeds = math.ceil(n / 100)
    writes = math.ceil(n / 5000)
    rounds = math.ceil(embeds / CONCURRENCY) + math.ceil(writes / CONCURRENCY) + 1
    return rounds * latency_s, embeds / (EMBED_RATE_PER_MINUTE / 60)


def table(title: str, columns: list[str], rows: list[list[str]]) -> list[str]:
    """A markdown section: the title, a table (first column left-aligned, the rest right), a blank."""
    return [
        title,
        "",
        "| " + " | ".join(columns) + " |",
        "|---|" + "---:|" * (len(columns) - 1),
        *("| " + " | ".join(row) + " |" for row in rows),
        "",
    ]


def report(r: dict[str, Any], args: argparse.Namespace) -> str:
    machine = f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    lines = [
        f"Run {datetime.date.today().isoformat()} on {machine}; emulator latency "
        f"{args.latency_ms:g} ms a request, tokens streamed {args.token_interval_ms:g} ms apart. "
        "Ratios are ours / peer.",
        "",
    ]

    def ok(d: dict[str, Any], k: str) -> dict[str, Any]:
        return d.get(k) or {}

    def measured(case: str) -> list[tuple[str, dict[str, Any]]]:
        return [(name, res) for name, res in r[case].items() if res]

    if r["ingest"]:
        ours = ok(r["ingest"], "ours-langchain").get("docs_per_s", 0.0)
        best = best_peer(r["ingest"], "docs_per_s")
        peer = best[1] if best else None
        lat, rate = ingestion_limit(args.docs, args.latency_ms / 1000)
        lines += table(
            f"**Ingestion**: {args.docs:,} short documents through the vector store (embed + upsert)",
            [
                "contender",
                "docs/s",
                "seconds",
                "CPU s (client + emulator)",
                "client CPU s / 10k docs",
                "ours / peer",
            ],
            [
                [
                    name,
                    f"{res['docs_per_s']:,.0f}",
                    f"{res['seconds']:.2f}",
                    f"{res['client_cpu_s']:.2f} + {res['emulator_cpu_s']:.2f}",
                    f"{res['client_cpu_s'] * 10_000 / args.docs:.2f}",
                    ratio(ours, res["docs_per_s"]) if not name.startswith("ours") else "",
                ]
                for name, res in measured("ingest")
            ],
        )
        lines += [
            f"Limits for this work: latency-bound {args.docs / lat:,.0f} docs/s ({lat:.2f} s: "
            f"{math.ceil(args.docs / 100)} embedding requests {CONCURRENCY} at a time, "
            f"{math.ceil(args.docs / 5000)} writes, 1 read-back); the 3000 embedding requests/minute "
            f"rate, sustained, allows {args.docs / rate:,.0f} docs/s. Ours (LangChain, sync) reaches "
            f"{ours / (args.docs / lat):.0%} of the latency bound and "
            f"{ours / (args.docs / max(lat, rate)):.0%} of the tighter of the two; {ratio(ours, peer)} "
            f"the fastest peer row ({best[0] if best else 'none'}).",
            "",
        ]
        mine = ok(r["ingest"], "ours-langchain")
        if mine.get("emulator_cpu_s") is not None:
            floor = (mine["client_cpu_s"] + mine["emulator_cpu_s"]) / 2
            peer_cpu = best_peer(r["ingest"], "client_cpu_s", lower=True)
            lines += [
                f"CPU: ours used {mine['client_cpu_s'] * 10_000 / args.docs:.2f} client CPU-s per 10,000 "
                + (
                    f"documents, {peer_cpu[1] / mine['client_cpu_s']:.1f}x less than the most frugal peer "
                    f"row ({peer_cpu[0]}). "
                    if peer_cpu
                    else "documents. "
                )
                + f"The CPU floor (client + emulator CPU over 2 cores) is {floor:.2f} s; the wall time, "
                f"{mine['seconds']:.2f} s, is {mine['seconds'] / floor:.2f}x it. The emulator serves from "
                f"one process, so its {mine['emulator_cpu_s']:.2f} CPU-s alone bound the wall time from "
                "below.",
                "",
            ]
        nowait = ok(r["ingest"], "ours-langchain-nowait").get("docs_per_s")
        if nowait:
            lines += [
                "`ours-llamaindex-deferred`: the same `VectorStoreIndex` build with "
                '`wait="deferred"`, timed until every node is searchable (one wait at the end instead '
                "of one per 2,048-node `add`).",
                "",
                "Ours waits by default until the writes are searchable (it reads the last vector of "
                "each write back); langchain-cloudflare returns once they are accepted. Like for like "
                f"(`wait=False`, the peer's default), ours reaches {nowait:,.0f} docs/s, "
                f"{ratio(nowait, peer)} the peer.",
                "",
            ]
    if r["embed"]:
        ours_e = ok(r["embed"], "ours-langchain")

        def versus(name: str, res: dict[str, Any]) -> str:
            if name.startswith("ours") or not ours_e:
                return ""
            return (
                f"{ratio(ours_e['sync_texts_per_s'], res['sync_texts_per_s'])}, "
                f"{ratio(ours_e['async_texts_per_s'], res['async_texts_per_s'])}"
            )

        lines += table(
            f"**Embeddings**: {args.embed_texts:,} texts, texts/s",
            ["contender", "sync", "async", "ours / peer (sync, async)"],
            [
                [
                    name,
                    f"{res['sync_texts_per_s']:,.0f}",
                    f"{res['async_texts_per_s']:,.0f}",
                    versus(name, res),
                ]
                for name, res in measured("embed")
            ],
        )
        sync_best = best_peer(r["embed"], "sync_texts_per_s")
        async_best = best_peer(r["embed"], "async_texts_per_s")
        if ours_e and sync_best and async_best:
            sync_ratio = ratio(ours_e["sync_texts_per_s"], sync_best[1])
            async_ratio = ratio(ours_e["async_texts_per_s"], async_best[1])
            lines += [
                f"Against the best peer row at either setting: sync {sync_ratio} ({sync_best[0]}), "
                f"async {async_ratio} ({async_best[0]}).",
                "",
            ]
    floor = ok(r["stream"], "bare-httpx")
    if r["stream"] and floor:
        lines += table(
            f"**Streaming**: a {r['stream_tokens']}-token answer; time to first token, total, and overhead "
            "per chunk over the bare httpx reader (the floor); medians",
            ["contender", "chunks", "first token ms", "total ms", "total / floor", "overhead µs/chunk"],
            [
                [
                    name,
                    str(res["chunks"]),
                    f"{res['ttft_ms']:.1f}",
                    f"{res['total_ms']:.1f}",
                    f"{res['total_ms'] / floor['total_ms']:.3f}",
                    f"{(res['total_ms'] - floor['total_ms']) * 1000 / max(1, res['chunks']):.0f}",
                ]
                for name, res in measured("stream")
            ],
        )
    floor = ok(r["retrieve"], "bare-httpx")
    if r["retrieve"] and floor:
        lines += table(
            "**Retrieval**: `similarity_search` (k=4) over the ingested index; floor = the two bare "
            "HTTP calls it needs (embed the query, query the index)",
            ["contender", "p50 ms", "p95 ms", "p50 / floor"],
            [
                [
                    name,
                    f"{res['p50_ms']:.1f}",
                    f"{res['p95_ms']:.1f}",
                    f"{res['p50_ms'] / floor['p50_ms']:.3f}",
                ]
                for name, res in measured("retrieve")
            ],
        )
    if r["memory"]:
        lines += table(
            "**Memory**: peak RSS of the client process while ingesting",
            ["contender", "documents", "RSS before MB", "peak RSS MB", "growth MB", "docs/s"],
            [
                [
                    key.split("@")[0],
                    f"{int(key.split('@')[1]):,}",
                    f"{res['rss_before_mb']:.0f}",
                    f"{res['peak_rss_mb']:.0f}",
                    f"{res['peak_rss_mb'] - res['rss_before_mb']:.0f}",
                    f"{res['docs_per_s']:,.0f}",
                ]
                for key, res in measured("memory")
            ],
        )
    rate = r.get("rate") or {}
    if rate.get("rows"):
        lines += table(
            f"**Rate-limited ingestion**: {rate['docs']:,} documents with the emulator enforcing the "
            f"embedding model's limit ({args.rate_per_window} requests a {args.rate_window_s:g}-s window, "
            f"the minute shortened); bound {rate['bound_docs_per_s']:,.0f} docs/s at 100 texts a request",
            [
                "contender",
                "docs/s",
                "of the bound",
                "sustained",
                "embedding requests",
                "answered 429",
                "outcome",
            ],
            [
                [
                    name,
                    f"{res['docs_per_s']:,.0f}" if not res.get("failed") else "",
                    f"{res['docs_per_s'] / rate['bound_docs_per_s']:.1%}" if not res.get("failed") else "",
                    f"{res.get('sustained_docs_per_s', 0) / rate['bound_docs_per_s']:.1%}"
                    if not res.get("failed")
                    else "",
                    f"{res['embedding_requests']:,}",
                    f"{res['refused']:,} ({res['refused'] / max(1, res['embedding_requests']):.1%})",
                    "done"
                    if not res.get("failed")
                    else f"failed after {res['seconds']:.1f} s, "
                    f"{res['docs_embedded']:,} texts embedded: {res['failed'][:80]}",
                ]
                for name, res in rate["rows"].items()
            ],
        )
    if r["import"]:
        imp = r["import"]
        bases = {
            "langchain_workersai": "langchain-core",
            "langchain_cloudflare": "langchain-core",
            "llamaindex_workersai": "llama-index-core",
            "llama_index.embeddings.cloudflare_workersai": "llama-index-core",
        }

        def against(name: str, ms: float) -> str:
            base = imp.get(bases.get(name, ""))
            return f"{ms / base:.2f}" if base else ""

        lines += table(
            "**Import time**, ms (less a bare interpreter's start); ratio to the framework's own classes",
            ["module", "ms", "vs its framework"],
            [[name, f"{ms:.0f}", against(name, ms)] for name, ms in imp.items()],
        )
    return "\n".join(lines)


README = HERE.parent / "README.md"
SUMMARY_START, SUMMARY_END = (
    "<!-- peers-summary: written by benchmarks/peers.py -->",
    "<!-- /peers-summary -->",
)


def summary(r: dict[str, Any], args: argparse.Namespace) -> str:
    """The README's table: each work, ours, the best peer row (either setting) and the ratio."""
    machine = f"{platform.machine()}, {os.cpu_count()} cores, CPython {platform.python_version()}"
    rows: list[list[str]] = []

    def ok(case: str, name: str) -> dict[str, Any]:
        return (r.get(case) or {}).get(name) or {}

    def peer_cell(best: tuple[str, float] | None, fmt: str) -> str:
        return f"{format(best[1], fmt)} ({best[0]})" if best else ""

    ingest = ok("ingest", "ours-langchain")
    if ingest:
        best = best_peer(r["ingest"], "docs_per_s")
        rows.append(
            [
                f"ingestion, {args.docs:,} documents through the LangChain store, docs/s (until searchable)",
                f"{ingest['docs_per_s']:,.0f}",
                peer_cell(best, ",.0f"),
                ratio(ingest["docs_per_s"], best[1] if best else None),
            ]
        )
        peer_cpu = [
            (name, res["client_cpu_s"] * 10_000 / args.docs)
            for name, res in r["ingest"].items()
            if res and not name.startswith("ours") and not res.get("failed")
        ]
        cheapest = min(peer_cpu, key=lambda item: item[1]) if peer_cpu else None
        ours_cpu = ingest["client_cpu_s"] * 10_000 / args.docs
        rows.append(
            [
                "client CPU seconds per 10,000 documents ingested",
                f"{ours_cpu:.2f}",
                peer_cell(cheapest, ".2f"),
                f"{cheapest[1] / ours_cpu:.1f}x less" if cheapest else "",
            ]
        )
        li = ok("ingest", "ours-llamaindex-deferred") or ok("ingest", "ours-llamaindex")
        if li:
            rows.append(
                [
                    "ingestion through LlamaIndex's `VectorStoreIndex`, docs/s",
                    f"{li['docs_per_s']:,.0f}",
                    "",
                    "",
                ]
            )
    if r.get("embed"):
        ours_e = ok("embed", "ours-langchain")
        for key, label in (
            ("sync_texts_per_s", "embed_documents"),
            ("async_texts_per_s", "aembed_documents"),
        ):
            best = best_peer(r["embed"], key)
            if ours_e:
                rows.append(
                    [
                        f"embeddings, {args.embed_texts:,} texts, `{label}`, texts/s",
                        f"{ours_e[key]:,.0f}",
                        peer_cell(best, ",.0f"),
                        ratio(ours_e[key], best[1] if best else None),
                    ]
                )
    floor = ok("stream", "bare-httpx")
    if floor and ok("stream", "ours-langchain"):
        rel = {name: res["total_ms"] / floor["total_ms"] for name, res in r["stream"].items() if res}
        best = best_peer({k: {"rel": v} for k, v in rel.items()}, "rel", lower=True)
        rows.append(
            [
                f"streaming {r['stream_tokens']} tokens, total / bare httpx reader",
                f"{rel['ours-langchain']:.3f}",
                peer_cell(best, ".3f"),
                "",
            ]
        )
    floor = ok("retrieve", "bare-httpx")
    if floor and ok("retrieve", "ours-langchain"):
        best = best_peer(r["retrieve"], "p50_ms", lower=True)
        ours_ms = ok("retrieve", "ours-langchain")["p50_ms"]
        rows.append(
            [
                f"retrieval `similarity_search` p50, ms (floor of its two HTTP calls: {floor['p50_ms']:.1f})",
                f"{ours_ms:.1f}",
                peer_cell(best, ".1f"),
                f"{ours_ms / best[1]:.2f}" if best else "",
            ]
        )
    memory = r.get("memory") or {}
    ours_mem = {k.split("@")[1]: v for k, v in memory.items() if v and k.startswith("ours")}
    peer_mem = {k.split("@")[1]: v for k, v in memory.items() if v and not k.startswith("ours")}
    if ours_mem:
        counts = sorted(ours_mem, key=int)
        rows.append(
            [
                "peak RSS ingesting "
                + " / ".join(f"{int(c):,}" for c in counts)
                + " documents in one call, MB",
                " / ".join(f"{ours_mem[c]['peak_rss_mb']:.0f}" for c in counts),
                " / ".join(f"{peer_mem[c]['peak_rss_mb']:.0f}" for c in counts if c in peer_mem)
                + (" (langchain-cloudflare)" if peer_mem else ""),
                "",
            ]
        )
    rate = r.get("rate") or {}
    paced = (rate.get("rows") or {}).get("ours-langchain (paced)")
    if paced and not paced.get("failed"):
        done = [
            name
            for name, res in rate["rows"].items()
            if not name.startswith("ours") and not res.get("failed")
        ]
        failed = [
            name for name, res in rate["rows"].items() if not name.startswith("ours") and res.get("failed")
        ]
        rows.append(
            [
                f"rate-limited ingestion, {rate['docs']:,} documents: share of the rate bound "
                f"({rate['bound_docs_per_s']:,.0f} docs/s) whole run / sustained, requests answered 429",
                f"{paced['docs_per_s'] / rate['bound_docs_per_s']:.1%} / "
                f"{paced.get('sustained_docs_per_s', 0) / rate['bound_docs_per_s']:.1%}, "
                f"{paced['refused'] / max(1, paced['embedding_requests']):.1%}",
                (f"{', '.join(failed)}: stopped at the first 429" if failed else "")
                + ("; " if failed and done else "")
                + (", ".join(done) + " finished" if done else ""),
                "",
            ]
        )
    imp = r.get("import") or {}
    if "langchain_workersai" in imp and "langchain-core" in imp:
        best = best_peer(
            {k: {"ms": v} for k, v in imp.items() if k == "langchain_cloudflare"}, "ms", lower=True
        )
        rows.append(
            [
                f"import time, ms (langchain-core's base classes: {imp['langchain-core']:.0f})",
                f"{imp['langchain_workersai']:.0f}",
                peer_cell(best, ".0f"),
                f"{imp['langchain_workersai'] / best[1]:.2f}" if best else "",
            ]
        )
    lines = [
        f"Run on {datetime.date.today().isoformat()}, {machine}; ratios are ours / the best peer row at "
        "either of its settings (its default or 100 texts a request):",
        "",
        *table("", ["work", "ours", "best peer", "ours / peer"], rows)[2:],
    ]
    return "\n".join(lines).rstrip() + "\n"


def publish(results: dict[str, Any], args: argparse.Namespace) -> None:
    """The README's summary table and its chart (docs/peers.png), from this run."""
    if update_readme(summary(results, args)):
        print(f"README: the peers table rewritten from this run ({README})", file=sys.stderr)
    chart(results, HERE.parent / "docs" / "peers.png")


def update_readme(block: str) -> bool:
    """Replace the README's table between its markers with ``block``; False when it has no markers."""
    text = README.read_text(encoding="utf-8")
    if SUMMARY_START not in text or SUMMARY_END not in text:
        return False
    head, rest = text.split(SUMMARY_START, 1)
    _, tail = rest.split(SUMMARY_END, 1)
    README.write_text(f"{head}{SUMMARY_START}\n{block}{SUMMARY_END}{tail}", encoding="utf-8")
    return True


def chart(r: dict[str, Any], path: Path) -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no chart", file=sys.stderr)
        return
    panels = [
        ("Ingestion, docs/s", {k: v["docs_per_s"] for k, v in r["ingest"].items() if v}),
        ("Embeddings (async), texts/s", {k: v["async_texts_per_s"] for k, v in r["embed"].items() if v}),
        ("Streaming total, ms", {k: v["total_ms"] for k, v in r["stream"].items() if v}),
        ("Retrieval p50, ms", {k: v["p50_ms"] for k, v in r["retrieve"].items() if v}),
        ("Peak RSS while ingesting, MB", {k: v["peak_rss_mb"] for k, v in r["memory"].items() if v}),
        ("Import, ms", dict(r["import"])),
    ]
    panels = [(t, d) for t, d in panels if d]
    rate = (r.get("rate") or {}).get("rows") or {}
    fig, axes = plt.subplots(len(panels) + bool(rate), 1, figsize=(9, 2.6 * (len(panels) + 1.4 * bool(rate))))
    axes = list(axes) if len(panels) + bool(rate) > 1 else [axes]
    if rate:
        rate_over_time(axes.pop(), r["rate"])
    for ax, (title, data) in zip(axes, panels, strict=True):
        names = list(data)
        colors = [
            "tab:orange"
            if n.startswith(("ours", "langchain_workersai", "llamaindex_workersai"))
            else "tab:gray"
            for n in names
        ]
        ax.barh(names, [data[n] for n in names], color=colors)
        ax.set_title(title, fontsize=10)
        ax.tick_params(labelsize=8)
        ax.invert_yaxis()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"chart: {path}", file=sys.stderr)


def _per_bucket(
    values: list[float], *, times: list[float], edges: list[float], bucket_s: float
) -> list[float]:
    """A counter sampled at ``times`` as its increase per second over each bucket between ``edges``."""

    def at(x: float) -> float:  # the counter's value at time x (its last sample before x)
        seen = [v for t, v in zip(times, values, strict=True) if t <= x]
        return seen[-1] if seen else 0.0

    return [(at(b) - at(a)) / bucket_s for a, b in itertools.pairwise(edges)]


def rate_over_time(ax: Any, rate: dict[str, Any], bucket_s: float = 1.0) -> None:
    """Documents embedded a second (solid) and requests answered 429 a second (dotted, right axis),
    per contender, through the rate-limited run."""
    right = ax.twinx()
    for i, (name, res) in enumerate(rate["rows"].items()):
        line = res["timeline"]
        end = line["t"][-1]
        edges = [k * bucket_s for k in range(int(end / bucket_s) + 2)]

        per_second = functools.partial(_per_bucket, times=line["t"], edges=edges, bucket_s=bucket_s)
        color = f"C{i}"
        ax.plot(edges[1:], per_second(line["texts"]), color=color, label=name)
        right.plot(edges[1:], per_second(line["refused"]), color=color, linestyle=":", linewidth=1)
    ax.axhline(rate["bound_docs_per_s"], color="black", linewidth=0.8, linestyle="--", label="rate bound")
    ax.set_title(
        "Rate-limited ingestion over time: documents/s (solid), 429s/s (dotted, right axis)", fontsize=10
    )
    ax.set_xlabel("seconds", fontsize=8)
    ax.tick_params(labelsize=8)
    right.tick_params(labelsize=8)
    ax.legend(fontsize=7, loc="upper right")


if __name__ == "__main__":
    main()
