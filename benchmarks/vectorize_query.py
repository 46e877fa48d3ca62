"""Query latency of the emulator's Vectorize at 100,000 x 768 (exact search with numpy), over HTTP.

    .venv/bin/python benchmarks/vectorize_query.py [--vectors 100000] [--dims 768] [--queries 200]

Prints p50/p95 of ``query`` (topK 10), with and without a metadata filter and a namespace.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np

from workersai.local import LocalEmulator


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--vectors", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=768)
    p.add_argument("--queries", type=int, default=200)
    args = p.parse_args()
    rng = np.random.default_rng(0)
    with LocalEmulator(mutation_delay_ms=1) as emu, emu.client(max_concurrency=4) as client:
        vz = client.vectorize
        vz.create_index("bench", dimensions=args.dims)
        vz.create_metadata_index("bench", "group", "number", wait=True)

        def rows():
            for start in range(0, args.vectors, 1000):
                block = rng.standard_normal((1000, args.dims)).astype(np.float32)
                for i, values in enumerate(block):
                    n = start + i
                    yield {
                        "id": f"v{n}",
                        "values": values.tolist(),
                        "metadata": {"group": n % 10},
                        "namespace": f"ns{n % 4}",
                    }

        t0 = time.perf_counter()
        vz.upsert("bench", rows(), wait=True, timeout=600)
        load = time.perf_counter() - t0
        assert vz.info("bench").vector_count == args.vectors
        queries = rng.standard_normal((args.queries, args.dims)).astype(np.float32).tolist()

        def measure(**options: object) -> tuple[float, float]:
            times = []
            for q in queries:
                t = time.perf_counter()
                vz.query("bench", q, top_k=10, **options)  # type: ignore[arg-type]
                times.append((time.perf_counter() - t) * 1000)
            times.sort()
            return statistics.median(times), times[int(len(times) * 0.95) - 1]

        plain = measure()
        filtered = measure(filter={"group": {"$lt": 3}})
        spaced = measure(namespace="ns1")
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    rate = args.vectors / load
    print(f"loaded {args.vectors:,} x {args.dims} in {load:.1f}s ({rate:,.0f} vectors/s over HTTP)")
    print("| query (topK 10) | p50 ms | p95 ms |")
    print("|---|---|---|")
    for label, (p50, p95) in (("plain", plain), ("filter group < 3", filtered), ("namespace (1/4)", spaced)):
        print(f"| {label} | {p50:.1f} | {p95:.1f} |")


if __name__ == "__main__":
    main()
