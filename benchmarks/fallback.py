"""Fallback latency: request to first token when the primary model refuses with 3040, ours against
langchain-cloudflare's ``.with_fallbacks`` on the same emulator, in one run.

    .venv-bench/bin/python benchmarks/fallback.py            # or any venv with langchain-cloudflare

The emulator (its own process, ``benchmarks/peers.py``'s) adds ``--latency-ms`` to every request (a
round trip to the service) and streams tokens ``--token-interval-ms`` apart. Its fault plan makes only
the primary (Llama 3.3 70B) refuse, with 3040, at the given rate; the fallback (Llama 3.2 3B) answers.
Each contender streams ``--calls`` answers per scenario, one after the other, and the time from the call
to its first non-empty chunk is taken. Both are used as their docs show: ours
``with_model_fallbacks(ChatWorkersAI(70B), ChatWorkersAI(3B))`` (defaults: the chain turns the
primary's retries off and sends it ``rejectIfBusy``; its breaker skips it for 15 s after 5 refusals in
a row), langchain-cloudflare ``ChatCloudflareWorkersAI(70B).with_fallbacks([ChatCloudflareWorkersAI(3B)])``
(no retries of its own). "ours, breaker off" tries the primary first on every call, as the peer does:
the cost of the fallback itself, without the breaker's skipping. A last scenario makes the primary busy
instead (its capacity queue holds a request ``--busy-ms``; a request with ``rejectIfBusy`` is refused
at once), once with langchain-cloudflare's default and once with its ``reject_if_busy=True``.

Prints a markdown table (p50/p95 in ms, requests the primary received, share answered by the primary).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from peers import ACCOUNT, Emulator

PRIMARY = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
FALLBACK = "@cf/meta/llama-3.2-3b-instruct"
PROMPT = "What does error 3040 mean?"


def ours(emu: Emulator) -> Any:
    from langchain_workersai import ChatWorkersAI, with_model_fallbacks

    conn = {"account_id": ACCOUNT, "api_token": emu.token, "base_url": emu.base, "max_tokens": 16}
    return with_model_fallbacks(ChatWorkersAI(model=PRIMARY, **conn), ChatWorkersAI(model=FALLBACK, **conn))


def ours_without_breaker(emu: Emulator) -> Any:
    """Ours with a breaker that never opens: every call tries the primary first, as the peer does."""
    from langchain_workersai import ChatWorkersAI, with_model_fallbacks
    from workersai import WorkersAI
    from workersai.health import ModelHealth

    client = WorkersAI(ACCOUNT, emu.token, base_url=emu.base, health=ModelHealth(threshold=10**9))
    big = ChatWorkersAI(model=PRIMARY, client=client, max_tokens=16)
    return with_model_fallbacks(big, ChatWorkersAI(model=FALLBACK, client=client, max_tokens=16))


def peer(emu: Emulator, **settings: Any) -> Any:
    from langchain_cloudflare import ChatCloudflareWorkersAI

    conn = {"account_id": ACCOUNT, "api_token": emu.token, "base_url": emu.base, "max_tokens": 16}
    primary = ChatCloudflareWorkersAI(model=PRIMARY, **conn, **settings)
    return primary.with_fallbacks([ChatCloudflareWorkersAI(model=FALLBACK, **conn)])


def first_token(chain: Any) -> tuple[float, str | None]:
    """Seconds from the call to the first chunk with text; the model that answered (when it says)."""
    start = time.perf_counter()
    took, model = None, None
    for chunk in chain.stream(PROMPT):
        if took is None and chunk.content:
            took = time.perf_counter() - start
        model = (getattr(chunk, "response_metadata", None) or {}).get("model_name") or model
    return (took if took is not None else time.perf_counter() - start), model


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def fresh(make: Callable[[], Any]) -> Any:
    """A new chain with a fresh breaker record (the process-wide one is replaced), warmed up
    (connections, imports) before any fault is set."""
    from workersai.health import configure_health

    configure_health()
    chain = make()
    first_token(chain)
    return chain


def measure(emu: Emulator, chain: Any, calls: int) -> dict[str, Any]:
    before = emu.http.get("/__local__/stats").json()["result"]
    times, models = [], []
    for _ in range(calls):
        took, model = first_token(chain)
        times.append(took * 1000)
        models.append(model)
    after = emu.http.get("/__local__/stats").json()["result"]
    key = f"requests:{PRIMARY}"
    return {
        "p50": statistics.median(times),
        "p95": percentile(times, 0.95),
        "primary_requests": after.get(key, 0) - before.get(key, 0),
        "by_primary": sum(m == PRIMARY for m in models) / calls if all(models) else None,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--calls", type=int, default=60)
    p.add_argument("--latency-ms", type=float, default=40.0)
    p.add_argument("--token-interval-ms", type=float, default=20.0)
    p.add_argument("--busy-ms", type=float, default=2000.0)
    args = p.parse_args()
    scenarios: list[tuple[str, dict[str, Any]]] = [
        ("3040 at 50%", {"error": "3040", "error_rate": 0.5, "seed": 7}),
        ("3040 at 100%", {"error": "3040", "error_rate": 1.0}),
        (f"busy {args.busy_ms:g} ms", {"busy_ms": args.busy_ms}),
    ]
    contenders: list[tuple[str, Callable[[Emulator], Any]]] = [
        ("ours", ours),
        ("ours, breaker off", ours_without_breaker),
        ("langchain-cloudflare", peer),
    ]
    rows = []
    with tempfile.TemporaryDirectory() as data:
        emu = Emulator(data, 0)
        try:
            for scenario, faults in scenarios:
                extra = [("langchain-cloudflare reject_if_busy", lambda e: peer(e, reject_if_busy=True))]
                for name, make in contenders + (extra if "busy" in scenario else []):
                    emu.faults()
                    chain = fresh(lambda make=make: make(emu))
                    # The round trip and the token pace for every model; the failures for the primary.
                    plan = {"latency_ms": args.latency_ms, "token_interval_ms": args.token_interval_ms}
                    emu.faults(**plan, **faults, models=[PRIMARY])
                    result = measure(emu, chain, args.calls)
                    rows.append((scenario, name, result))
                    print(f"  {scenario:14} {name:36} {result}", file=sys.stderr)
        finally:
            emu.stop()
    print(
        f"\nRequest to first token, {args.calls} streamed calls each; the primary (70B) refuses or is "
        f"busy, the fallback (3B) answers; {args.latency_ms:g} ms round trip, tokens "
        f"{args.token_interval_ms:g} ms apart.\n"
    )
    print("| primary | client | p50 ms | p95 ms | requests to the primary | answered by the primary |")
    print("|---|---|---:|---:|---:|---:|")
    for scenario, name, r in rows:
        share = "n/a" if r["by_primary"] is None else f"{r['by_primary']:.0%}"
        print(
            f"| {scenario} | {name} | {r['p50']:.0f} | {r['p95']:.0f} | {r['primary_requests']} | {share} |"
        )


if __name__ == "__main__":
    main()
