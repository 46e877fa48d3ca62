"""The resume drill (#18 item 3): a bulk add of 100,000 documents killed half-way with ``kill -9``, then
run again with ``skip_existing=True``.

    .venv/bin/python benchmarks/resume.py [--docs 100000] [--latency-ms 40]

The emulator runs in its own process (``benchmarks/peers.py``'s ``Emulator``) with a fixed latency on
every request; its embeddings of the corpus's distinct texts are computed once, untimed, before the
drill (the texts repeat beyond ``--distinct``; every document keeps its own id). Then:

1. a child process adds every document through the LangChain store (``add_texts``, the defaults:
   ``chunk_size`` 1600, ``batch_size`` 1000) and is sent SIGKILL once the index holds half of them;
2. the index is settled (every write it accepted applied) and its ids listed: the documents stored
   before the kill;
3. a second child adds every document again with ``skip_existing=True``; it records the ids it found
   missing (and so embedded), its wall time, CPU and peak RSS.

Printed: documents stored before the kill, texts re-embedded on the re-run that were already stored
(the target: at most one batch per worker), embedding texts in all (the emulator's own count), wall
time and peak RSS of the re-run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

EMBED_MODEL = "@cf/baai/bge-base-en-v1.5"


def corpus(n: int, distinct: int) -> list[str]:
    """``n`` short documents, ``distinct`` of them different (the same texts as ``workloads.py``)."""
    from workloads import TOPICS

    return [
        f"Note {j}: a short document about {TOPICS[j % len(TOPICS)]}, number {j * 7919 % 10007}."
        for j in (i % distinct for i in range(n))
    ]


def doc_ids(n: int) -> list[str]:
    return [f"doc-{i:06d}" for i in range(n)]


def peak_rss_mb() -> float:
    """Peak resident memory of this process (VmHWM)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(mode: str, n: int, distinct: int, missing_file: str) -> None:
    """One bulk add in this process (``add``, or ``resume`` with ``skip_existing=True``)."""
    from langchain_workersai import VectorizeVectorStore, WorkersAIEmbeddings
    from workersai import WorkersAI

    env = os.environ
    client = WorkersAI(
        env["BENCH_ACCOUNT_ID"], env["BENCH_TOKEN"], base_url=env["BENCH_BASE_URL"], timeout=120
    )
    embeddings = WorkersAIEmbeddings(model=EMBED_MODEL, client=client)
    store = VectorizeVectorStore(env["BENCH_INDEX"], embeddings, client=client)
    texts, ids = corpus(n, distinct), doc_ids(n)
    missing: list[str] = []
    if mode == "resume":
        # Instrumented: the ids the store finds missing are the ones it embeds and writes.
        found_missing = client.vectorize.missing_ids

        def recording(name: str, ids: Any, *, namespace: str | None = None) -> list[str]:
            out = found_missing(name, ids, namespace=namespace)
            missing.extend(out)
            return out

        client.vectorize.missing_ids = recording  # type: ignore[method-assign]
    cpu0, t0 = time.process_time(), time.perf_counter()
    store.add_texts(texts, ids=ids, skip_existing=mode == "resume")
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    Path(missing_file).write_text("\n".join(missing))
    print(json.dumps({"wall_s": wall, "cpu_s": cpu, "peak_rss_mb": peak_rss_mb(), "missing": len(missing)}))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--docs", type=int, default=100_000)
    p.add_argument("--distinct", type=int, default=2_000, help="distinct texts (embedded once, untimed)")
    p.add_argument("--latency-ms", type=float, default=40.0)
    p.add_argument("--kill-at", type=float, default=0.5, help="fraction of documents stored at the kill")
    p.add_argument("--child", choices=["add", "resume"], help=argparse.SUPPRESS)
    p.add_argument("--missing-file", default="", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        child(args.child, args.docs, args.distinct, args.missing_file)
        return

    from peers import Emulator

    from workersai import WorkersAI

    n = args.docs
    with tempfile.TemporaryDirectory(prefix="workersai-resume-") as data:
        # The cache holds the model's vectors and their projections: two entries a text.
        emu = Emulator(data, cache=2 * args.distinct + 1_000)
        client = WorkersAI("0123456789abcdef0123456789abcdef", emu.token, base_url=emu.base, timeout=120)
        try:
            t0 = time.perf_counter()
            client.embed(corpus(args.distinct, args.distinct), model=EMBED_MODEL)
            print(f"warmed {args.distinct:,} embeddings in {time.perf_counter() - t0:.0f}s", file=sys.stderr)
            index = "resume-drill"
            client.vectorize.create_index(index, dimensions=768)
            emu.faults(latency_ms=args.latency_ms)
            env = {**emu.env(index)}
            cmd = [
                sys.executable,
                str(Path(__file__).resolve()),
                "--docs",
                str(n),
                "--distinct",
                str(args.distinct),
            ]
            missing_file = os.path.join(data, "missing.txt")

            texts_before = stats(emu)["embedded_texts"]
            t0 = time.perf_counter()
            first = subprocess.Popen([*cmd, "--child", "add", "--missing-file", missing_file], env=env)
            at_kill = 0
            while first.poll() is None:
                at_kill = client.vectorize.info(index).vector_count
                if at_kill >= args.kill_at * n:
                    os.kill(first.pid, signal.SIGKILL)
                    break
                time.sleep(0.05)
            first.wait()
            killed_after = time.perf_counter() - t0
            if first.returncode != -signal.SIGKILL:
                raise SystemExit(f"the first add ended on its own (exit {first.returncode}) before the kill")
            texts_first = stats(emu)["embedded_texts"] - texts_before

            client.vectorize.settle(index, timeout=300)
            before = set(client.vectorize.list_ids(index))

            texts_before = stats(emu)["embedded_texts"]
            done = subprocess.run(
                [*cmd, "--child", "resume", "--missing-file", missing_file],
                env=env,
                capture_output=True,
                text=True,
                timeout=3600,
            )
            if done.returncode != 0:
                raise SystemExit(f"the re-run failed:\n{done.stderr[-3000:]}")
            rerun = json.loads(done.stdout.strip().splitlines()[-1])
            texts_rerun = stats(emu)["embedded_texts"] - texts_before
            embedded_again = set(Path(missing_file).read_text().split())
            client.vectorize.settle(index, timeout=300)
            final = client.vectorize.info(index).vector_count
        finally:
            emu.stop()

    workers = client.max_concurrency
    report = {
        "documents": n,
        "latency_ms": args.latency_ms,
        "first add killed after s": round(killed_after, 1),
        "vectors counted at the kill": at_kill,
        "documents stored before the kill (settled)": len(before),
        "texts embedded by the killed add": texts_first,
        "texts embedded on the re-run": texts_rerun,
        "re-embedded on the re-run that were already stored": len(embedded_again & before),
        "bound: one batch per worker (embedding requests in flight x 100 texts)": workers * 100,
        "embedding texts in all": texts_first + texts_rerun,
        "re-run wall s": round(rerun["wall_s"], 1),
        "re-run client CPU s": round(rerun["cpu_s"], 1),
        "re-run peak RSS MB": round(rerun["peak_rss_mb"]),
        "vectors in the index at the end": final,
    }
    for key, value in report.items():
        print(f"{value:>12,}  {key}" if isinstance(value, int) else f"{value:>12}  {key}")


def stats(emu: Any) -> dict[str, int]:
    response = emu.http.get("/__local__/stats")
    response.raise_for_status()
    result: dict[str, int] = response.json()["result"]
    return result


if __name__ == "__main__":
    main()
