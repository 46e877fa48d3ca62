"""N texts embedded through the Batch API (``client.embed_batch``) vs direct calls (``client.embed``):
requests made, time, neurons. Against the local emulator unless ``CLOUDFLARE_ACCOUNT_ID`` and
``CLOUDFLARE_API_TOKEN`` are set (then Cloudflare, or ``CLOUDFLARE_API_BASE_URL``).

    python benchmarks/batch_api.py            # the issue's 50,000 texts
    python benchmarks/batch_api.py --n 2000   # a quick run

The texts are :func:`benchmarks.workloads.corpus` (10,000 distinct, then repeated). Against the
emulator a first, untimed direct pass warms its embedding cache so that both timed passes pay the same
model cost: the figures then compare what each path costs the client (requests, waiting), not the
emulator's model. Neurons are the client's estimate at the catalog price (the Batch API pages state no
different price). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.workloads import EMBED_MODEL, corpus
from workersai import WorkersAI, track_usage


@dataclass
class Row:
    path: str
    sent: list[httpx.Request]
    seconds: float
    neurons: float | None
    vectors: list[list[float]]

    @property
    def requests(self) -> int:
        return len(self.sent)


def measure(make_client: Any, texts: list[str], batch_api: bool, poll_interval: float, model: str) -> Row:
    """One pass over ``texts``: the requests it sent (counted on the wire), its time and neurons."""
    sent: list[httpx.Request] = []
    http = httpx.Client(timeout=600, event_hooks={"request": [sent.append]})
    with make_client(http_client=http) as client, track_usage() as usage:
        start = time.perf_counter()
        if batch_api:
            vectors = client.embed_batch(texts, model=model, poll_interval=poll_interval)
        else:
            vectors = client.embed(texts, model=model)
        seconds = time.perf_counter() - start
    http.close()
    name = "Batch API (embed_batch)" if batch_api else "direct (embed)"
    return Row(name, sent, seconds, usage.total_neurons, vectors)


def compare(
    make_client: Any, n: int, poll_interval: float = 0.2, warm: bool = True, model: str = EMBED_MODEL
) -> list[Row]:
    """Both passes over ``n`` texts (the direct one first; an untimed warm-up before, if ``warm``)."""
    texts = corpus(n)
    if warm:
        with make_client(timeout=600) as client:
            client.embed(texts[: min(n, 10_000)], model=model)
    return [measure(make_client, texts, api, poll_interval, model) for api in (False, True)]


def table(n: int, rows: list[Row], model: str = EMBED_MODEL) -> str:
    lines = [
        f"Embedding {n:,} texts with {model}",
        "",
        "| path | requests | time (s) | neurons (estimate) |",
        "| --- | ---: | ---: | ---: |",
    ]
    for r in rows:
        neurons = "?" if r.neurons is None else f"{r.neurons:,.1f}"
        lines.append(f"| {r.path} | {r.requests:,} | {r.seconds:,.2f} | {neurons} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--poll-interval", type=float, default=0.2)
    args = parser.parse_args()
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        rows = compare(lambda **kw: WorkersAI(**kw), args.n, args.poll_interval, warm=False)
    else:
        from workersai.local import LocalEmulator

        with LocalEmulator() as emulator:
            rows = compare(emulator.client, args.n, args.poll_interval)
    same = rows[0].vectors == rows[1].vectors
    print(table(args.n, rows))
    print(f"\nsame vectors in the same order: {same}")


if __name__ == "__main__":
    main()
