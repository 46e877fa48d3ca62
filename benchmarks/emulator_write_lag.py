"""Does a big Vectorize write hold up the emulator's other requests, and are writes applied as fast as
they arrive?

    .venv/bin/python benchmarks/emulator_write_lag.py [--vectors 100000] [--dims 768] [--batch 1000]

Starts ``workersai-local`` in a process of its own, then:

1. probes ``GET /__local__/health`` (one keep-alive connection, one probe every 5 ms, from a process
   of its own) for a few seconds with nothing else running: the machine's own noise;
2. upserts ``--vectors`` vectors of ``--dims`` float32 values as NDJSON bodies of ``--batch`` lines
   (``--writers`` at a time) while the probe goes on, and waits until every vector is applied
   (``vectorCount`` reaches the total);
3. prints the probe's round trips (p50 / p95 / p99 / max, idle and during the writes) and the writes'
   throughput: acknowledged (first send to last ``mutationId``) and applied (first send to the last
   vector in the index), and how long the queue took to drain after the last acknowledgement.

The round trip of a request that does nothing is the event loop's lag: while the loop is busy
(parsing a body, converting numbers), every other request waits, and so do the clocks of the rate
limit windows. Bodies are built before the clock starts (the values of 4 random blocks, new ids per
batch), so the client's own work is sending bytes.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.connection import Connection

import httpx
import numpy as np
import orjson

ACCOUNT = "0123456789abcdef0123456789abcdef"  # workersai.local.server.LOCAL_ACCOUNT_ID
INDEX = "lag"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def probe(base: str, stop: Connection, out: Connection) -> None:
    """Health round trips (ms, with the time each started) until told to stop."""
    found: list[tuple[float, float]] = []
    with httpx.Client(base_url=base, timeout=30) as http:
        while not stop.poll():
            t = time.perf_counter()
            http.get("/__local__/health").raise_for_status()
            found.append((t, (time.perf_counter() - t) * 1000))
            time.sleep(0.005)
    out.send(found)


def percentiles(ms: list[float]) -> str:
    ms = sorted(ms)
    if not ms:
        return "| - | - | - | - | 0 |"

    def at(q: float) -> float:
        return ms[min(len(ms) - 1, int(len(ms) * q))]

    p50 = statistics.median(ms)
    return f"| {p50:.1f} | {at(0.95):.1f} | {at(0.99):.1f} | {ms[-1]:.1f} | {len(ms)} |"


class Bodies:
    """NDJSON upsert bodies: the values of 4 random blocks (as orjson writes float32), new ids in each
    body (joined when sent: a few milliseconds of the client's time, and no gigabyte held)."""

    def __init__(self, vectors: int, dims: int, batch: int) -> None:
        rng = np.random.default_rng(0)
        self.blocks = [
            [
                orjson.dumps(row, option=orjson.OPT_SERIALIZE_NUMPY)
                for row in rng.standard_normal((batch, dims)).astype(np.float32)
            ]
            for _ in range(4)
        ]
        self.vectors, self.batch = vectors, batch
        self.starts = range(0, vectors, batch)

    def body(self, start: int) -> bytes:
        values = self.blocks[(start // self.batch) % 4]
        return b"\n".join(
            b'{"id":"v%d","values":%s,"metadata":{"group":%d}}' % (n, values[n - start], n % 10)
            for n in range(start, min(start + self.batch, self.vectors))
        )


class Emulator:
    """``workersai-local`` in a process of its own."""

    def __init__(self, delay_ms: float) -> None:
        self.port = free_port()
        self.token = secrets.token_urlsafe(16)
        self.base = f"http://127.0.0.1:{self.port}"
        cmd = [sys.executable, "-m", "workersai.local.cli", "--port", str(self.port), f"--token={self.token}"]
        cmd += ["--generator", "extractive", "--mutation-delay-ms", str(delay_ms)]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.indexes = f"{self.base}/client/v4/accounts/{ACCOUNT}/vectorize/v2/indexes"
        self.http = httpx.Client(
            base_url=f"{self.indexes}/{INDEX}",
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=600,
        )
        for _ in range(300):
            try:
                httpx.get(f"{self.base}/__local__/health").raise_for_status()
                return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("the emulator did not start")

    def close(self) -> None:
        self.http.close()
        self.proc.terminate()
        self.proc.wait(10)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--vectors", type=int, default=100_000)
    p.add_argument("--dims", type=int, default=768)
    p.add_argument("--batch", type=int, default=1000)
    p.add_argument("--writers", type=int, default=2, help="upserts in flight at once")
    p.add_argument("--idle-s", type=float, default=3.0, help="seconds probed before the writes")
    p.add_argument("--delay-ms", type=float, default=50.0, help="the emulator's --mutation-delay-ms")
    args = p.parse_args()
    payloads = Bodies(args.vectors, args.dims, args.batch)
    sizes: list[int] = []
    emu = Emulator(args.delay_ms)
    try:
        config = {"dimensions": args.dims, "metric": "cosine"}
        created = emu.http.post(emu.indexes, json={"name": INDEX, "config": config})
        created.raise_for_status()
        stop_rx, stop_tx = mp.Pipe(duplex=False)
        out_rx, out_tx = mp.Pipe(duplex=False)
        prober = mp.get_context("spawn").Process(target=probe, args=(emu.base, stop_rx, out_tx))
        prober.start()
        time.sleep(args.idle_s)
        lock = threading.Lock()
        acked: list[float] = []

        def upsert(start: int) -> None:
            body = payloads.body(start)
            sizes.append(len(body))
            r = emu.http.post("/upsert", content=body, headers={"Content-Type": "application/x-ndjson"})
            r.raise_for_status()
            with lock:
                acked.append(time.perf_counter())

        t0 = time.perf_counter()
        with ThreadPoolExecutor(args.writers) as pool:
            list(pool.map(upsert, payloads.starts))
        last_ack = max(acked)
        while emu.http.get("/info").json()["result"]["vectorCount"] < args.vectors:
            time.sleep(0.02)
        applied = time.perf_counter()
        time.sleep(0.2)
        stop_tx.send(True)
        rtts: list[tuple[float, float]] = out_rx.recv()
        prober.join()
    finally:
        emu.close()
    idle = [ms for t, ms in rtts if t < t0]
    busy = [ms for t, ms in rtts if t0 <= t <= applied]
    print(f"machine: {platform.machine()}, {platform.python_implementation()} {platform.python_version()}")
    print(
        f"{args.vectors:,} x {args.dims} upserted in {len(sizes)} NDJSON bodies of {args.batch} "
        f"({sum(sizes) / 1e6:,.0f} MB), {args.writers} in flight, mutation delay {args.delay_ms:g} ms"
    )
    print("| /__local__/health round trip | p50 ms | p95 ms | p99 ms | max ms | probes |")
    print("|---|---|---|---|---|---|")
    print(f"| idle | {percentiles(idle)[2:]}")
    print(f"| during the writes | {percentiles(busy)[2:]}")
    sent, done = last_ack - t0, applied - t0
    print(f"acknowledged: {sent:.1f} s ({args.vectors / sent:,.0f} vectors/s)")
    print(f"applied:      {done:.1f} s ({args.vectors / done:,.0f} vectors/s)")
    print(f"queue drained {applied - last_ack:.2f} s after the last acknowledgement")


if __name__ == "__main__":
    main()
