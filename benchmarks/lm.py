"""The emulator's language model (SmolLM2-135M in numpy): speed against the machine's own limits.

    .venv/bin/python benchmarks/lm.py [--threads 2] [--decode-tokens 64] [--prompt-tokens 256] [--tools]

Measures, each load in a fresh process: load time with an empty cache (dequantizing the GGUF) and
with a warm one (memory-mapped .npy files); then, in the warm process, decode tokens/s and batched
prefill tokens/s, each next to its physical limit measured in the same run on the same threads:

- decode reads every weight once per token, so its limit is weight bytes per token against the
  best read bandwidth measured (a threaded copy, a BLAS dot and a large GEMV over fresh memory);
- prefill is matmuls, so its limit is FLOPs per token against the GEMM FLOP/s measured at
  the prefill's own shapes.

Then the same two speeds while the emulator serves: ``workersai-local`` started in its own process
on the same cache and threads (``--lm-threads``), one streamed completion (decode: tokens after the
first over the time between the first and the last streamed piece) and one long prompt answered
with a single token (prefill: prompt tokens over the time to that answer, HTTP and tokenizing
included).

Peak RSS of that process, and with ``--tools`` the tool-choice accuracy over a small set of
questions (2-5 tools, listed in varied order, some needing no tool).
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent


def _best(fn: Any, repeat: int = 5) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def read_bandwidth(threads: int) -> dict[str, float]:
    """Bytes/s by three probes, over 256 MB (larger than any cache)."""
    n = 64 * 1024 * 1024
    a = np.ones(n, dtype=np.float32)
    b = np.ones(n, dtype=np.float32)
    out = np.empty_like(a)
    parts = np.array_split(np.arange(n), threads)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in parts]

    def copy() -> None:
        workers = [threading.Thread(target=np.copyto, args=(out[lo:hi], a[lo:hi])) for lo, hi in bounds]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    matrix = a.reshape(-1, 4096)
    vector = np.ones(4096, dtype=np.float32)
    return {
        "copy (read + write)": 2 * a.nbytes / _best(copy),
        "dot (2 reads)": 2 * a.nbytes / _best(lambda: a @ b),
        "gemv": a.nbytes / _best(lambda: matrix @ vector),
    }


def gemm_flops(dim: int, ffn: int, tokens: int) -> float:
    """FLOP/s of float32 GEMMs at the prefill's shapes."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((tokens, dim), dtype=np.float32)
    w_up = rng.standard_normal((dim, 2 * ffn), dtype=np.float32)
    h = rng.standard_normal((tokens, ffn), dtype=np.float32)
    w_down = rng.standard_normal((ffn, dim), dtype=np.float32)
    flops = 2 * tokens * dim * 2 * ffn + 2 * tokens * ffn * dim
    return flops / _best(lambda: (x @ w_up, h @ w_down))


def child(args: argparse.Namespace) -> dict[str, Any]:
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=args.threads, user_api="blas")
    start = time.perf_counter()
    from workersai.local.lm import Engine, SmolLM2Generator

    engine = Engine(cache_dir=Path(args.cache_dir), threads=args.threads)
    result: dict[str, Any] = {"load_s": time.perf_counter() - start}
    if args.child == "load":
        return result
    model, w, c = engine.model, engine.weights, engine.config

    # decode: a short prompt, then one token at a time (greedy; sampling is not the point)
    prompt = engine.tokenizer.encode("Once upon a time, in a small village by the sea, there lived")
    model.forward(prompt, model.new_cache(8))  # pages the weights in
    cache = model.new_cache(len(prompt) + args.decode_tokens + 1)
    logits = model.forward(prompt, cache)
    start = time.perf_counter()
    for _ in range(args.decode_tokens):
        logits = model.forward([int(np.argmax(logits))], cache)
    result["decode_tok_s"] = args.decode_tokens / (time.perf_counter() - start)

    # prefill: one chunk of prompt tokens in a single pass
    ids = list(np.random.default_rng(0).integers(100, c.vocab_size, args.prompt_tokens))
    prefill_s = _best(lambda: model.forward(ids, model.new_cache(len(ids))), repeat=3)
    result["prefill_tok_s"] = args.prompt_tokens / prefill_s
    if args.tools:
        result["tools"] = tool_eval(SmolLM2Generator(engine))
    # before the probes below allocate their own arrays
    result["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    bandwidth = read_bandwidth(args.threads)
    bytes_per_token = w.nbytes  # every weight once (the embedding row lookup aside), KV cache aside
    result["bandwidth"] = bandwidth
    result["decode_limit_tok_s"] = max(bandwidth.values()) / bytes_per_token
    result["weight_bytes"] = bytes_per_token
    matmul_params = w.wqkv.size + w.wo.size + w.w_gate_up.size + w.w_down.size
    attention = 2 * 2 * c.n_layers * c.dim * (args.prompt_tokens / 2)  # q.k and p.v, mean context
    flops_per_token = 2 * matmul_params + attention + 2 * w.embed.size / args.prompt_tokens
    gemm = gemm_flops(c.dim, c.ffn_dim, args.prompt_tokens)
    result.update(
        gemm_flop_s=gemm, prefill_limit_tok_s=gemm / flops_per_token, flops_per_token=flops_per_token
    )
    return result


def _tool(name: str, description: str, **params: str) -> dict[str, Any]:
    return {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {k: {"type": v} for k, v in params.items()},
                "required": list(params),
            },
        },
    }


TOOLS = {
    "get_weather": _tool("get_weather", "Get the current weather in a city", city="string"),
    "multiply": _tool("multiply", "Multiply two numbers", a="number", b="number"),
    "search_web": _tool("search_web", "Search the web for a query", query="string"),
    "send_email": _tool("send_email", "Send an email to someone", to="string", body="string"),
    "convert_currency": _tool(
        "convert_currency",
        "Convert an amount of money from one currency to another",
        amount="number",
        source="string",
        target="string",
    ),
}
# (question, tools offered in this order, the right answer: a tool name or None for no call)
QUESTIONS: list[tuple[str, list[str], str | None]] = [
    ("What is 12 times 3?", ["get_weather", "multiply"], "multiply"),
    ("What is 12 times 3?", ["multiply", "get_weather"], "multiply"),
    ("Multiply 7 by 8 please.", ["search_web", "get_weather", "multiply"], "multiply"),
    ("What's the weather like in Berlin?", ["multiply", "get_weather"], "get_weather"),
    ("How warm is it in Tokyo today?", ["search_web", "multiply", "get_weather"], "get_weather"),
    ("Is it raining in Lisbon right now?", ["get_weather", "send_email", "search_web"], "get_weather"),
    ("Find recent news about the Mars rover.", ["get_weather", "multiply", "search_web"], "search_web"),
    ("Look up who won the 2018 World Cup online.", ["search_web", "send_email"], "search_web"),
    ("Email Bob that the meeting moved to 3pm.", ["multiply", "search_web", "send_email"], "send_email"),
    ("Send an email to anna@example.com saying thanks.", ["send_email", "get_weather"], "send_email"),
    (
        "How much is 100 US dollars in euros?",
        ["multiply", "convert_currency", "search_web"],
        "convert_currency",
    ),
    (
        "Convert 50 GBP to JPY.",
        ["convert_currency", "get_weather", "send_email", "multiply"],
        "convert_currency",
    ),
    ("What is 250 divided by 5 times 2?", ["get_weather", "send_email", "multiply"], "multiply"),
    ("Write a haiku about the sea.", ["get_weather", "multiply"], None),
    ("Write a haiku about the sea.", ["multiply", "search_web", "get_weather"], None),
    ("Hello, how are you?", ["search_web", "send_email"], None),
    ("Tell me a joke about cats.", ["convert_currency", "multiply", "get_weather"], None),
    ("Translate 'good morning' into French.", ["get_weather", "send_email"], None),
    ("What does the word 'ephemeral' mean?", ["multiply", "convert_currency"], None),
    ("Thanks, that's all for today!", list(TOOLS), None),
    ("Summarize: the cat sat on the mat and slept all day.", ["send_email", "search_web", "multiply"], None),
    ("Weather forecast for Paris tomorrow?", list(TOOLS), "get_weather"),
]


def tool_eval(generator: Any) -> dict[str, Any]:
    rows = []
    for question, names, expected in QUESTIONS:
        gen = generator.generate(
            [{"role": "user", "content": question}],
            temperature=0,
            max_tokens=40,
            tools=[TOOLS[n] for n in names],
        )
        chosen = gen.tool_calls[0]["name"] if gen.tool_calls else None
        rows.append({"question": question, "tools": names, "expected": expected, "chosen": chosen})
    correct = sum(r["expected"] == r["chosen"] for r in rows)
    return {"accuracy": correct / len(rows), "correct": correct, "total": len(rows), "rows": rows}


def run_child(mode: str, cache_dir: str, args: argparse.Namespace) -> dict[str, Any]:
    cmd = [
        sys.executable,
        __file__,
        "--child",
        mode,
        "--cache-dir",
        cache_dir,
        "--threads",
        str(args.threads),
        "--decode-tokens",
        str(args.decode_tokens),
        "--prompt-tokens",
        str(args.prompt_tokens),
    ]
    if args.tools:
        cmd.append("--tools")
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    result: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
    return result


def served(cache_dir: str, args: argparse.Namespace) -> dict[str, float]:
    """Decode and prefill tokens/s measured over HTTP against ``workersai-local`` in its own process."""
    import os
    import socket

    import httpx

    from workersai.local import LOCAL_ACCOUNT_ID

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="workersai-lm-serve-") as data:
        os.symlink(cache_dir, Path(data) / "lm-cache")
        token = "bench-token"
        cmd = [sys.executable, "-m", "workersai.local", "--port", str(port), "--token", token]
        cmd += ["--data-dir", data, "--generator", "smollm2", "--lm-threads", str(args.threads)]
        server = subprocess.Popen([*cmd, "--log-level", "warning"], stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}/client/v4/accounts/{LOCAL_ACCOUNT_ID}/ai/run/@cf/meta/llama-3.3-70b-instruct-fp8-fast"
            headers = {"Authorization": f"Bearer {token}"}
            with httpx.Client(timeout=120, headers=headers) as http:
                for _ in range(200):
                    try:
                        http.get(f"http://127.0.0.1:{port}/")
                        break
                    except httpx.TransportError:
                        time.sleep(0.1)
                ask = "Write a long story about a lighthouse keeper and her cat."
                body = {"messages": [{"role": "user", "content": ask}], "temperature": 0, "max_tokens": 8}
                http.post(url, json=body).raise_for_status()  # loads the model
                body.update(max_tokens=args.decode_tokens + 1, stream=True)
                stamps: list[float] = []
                usage: dict[str, Any] = {}
                with http.stream("POST", url, json=body) as response:
                    for line in response.iter_lines():
                        if not line.startswith("data: ") or line == "data: [DONE]":
                            continue
                        event = json.loads(line[6:])
                        if event.get("response"):
                            stamps.append(time.perf_counter())
                        usage = event.get("usage") or usage
                decode = (usage["completion_tokens"] - 1) / (stamps[-1] - stamps[0])
                words = " ".join(
                    str(w) for w in np.random.default_rng(1).integers(100, 999, args.prompt_tokens // 4)
                )
                long = {"messages": [{"role": "user", "content": words}], "temperature": 0, "max_tokens": 1}
                start = time.perf_counter()
                answer = http.post(url, json=long)
                elapsed = time.perf_counter() - start
                prefill = answer.json()["result"]["usage"]["prompt_tokens"] / elapsed
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "decode_tok_s": decode,
        "prefill_tok_s": prefill,
        "prompt_tokens": float(answer.json()["result"]["usage"]["prompt_tokens"]),
    }


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--decode-tokens", type=int, default=64)
    p.add_argument("--prompt-tokens", type=int, default=256)
    p.add_argument("--tools", action="store_true", help="also measure tool-choice accuracy")
    p.add_argument("--child", choices=["load", "run"], help=argparse.SUPPRESS)
    p.add_argument("--cache-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.child:
        print(json.dumps(child(args)))
        return
    with tempfile.TemporaryDirectory(prefix="workersai-lm-bench-") as cache:
        cold = run_child("load", cache, args)
        warm = run_child("run", cache, args)
        serving = served(cache, args)
    gb = 1e9
    cpu = platform.processor() or platform.machine()
    print(f"SmolLM2-135M-Instruct in numpy, {args.threads} BLAS thread(s), {cpu}")
    print()
    print("| measure | value | limit measured in this run | fraction |")
    print("|---|---|---|---|")
    print(
        f"| decode | {warm['decode_tok_s']:.1f} tok/s | {warm['decode_limit_tok_s']:.1f} tok/s "
        f"({warm['weight_bytes'] / 1e6:.0f} MB/token at {max(warm['bandwidth'].values()) / gb:.1f} GB/s) "
        f"| {warm['decode_tok_s'] / warm['decode_limit_tok_s']:.0%} |"
    )
    print(
        f"| prefill ({args.prompt_tokens} tokens) | {warm['prefill_tok_s']:.0f} tok/s | "
        f"{warm['prefill_limit_tok_s']:.0f} tok/s ({warm['flops_per_token'] / 1e6:.0f} MFLOP/token at "
        f"{warm['gemm_flop_s'] / gb:.1f} GFLOP/s) "
        f"| {warm['prefill_tok_s'] / warm['prefill_limit_tok_s']:.0%} |"
    )
    print(
        f"| decode, served over HTTP | {serving['decode_tok_s']:.1f} tok/s | | "
        f"{serving['decode_tok_s'] / warm['decode_limit_tok_s']:.0%} |"
    )
    print(
        f"| prefill, served ({serving['prompt_tokens']:.0f}-token prompt, time to answer) | "
        f"{serving['prefill_tok_s']:.0f} tok/s | | "
        f"{serving['prefill_tok_s'] / warm['prefill_limit_tok_s']:.0%} |"
    )
    print(f"| load, empty cache | {cold['load_s']:.2f} s | | |")
    print(f"| load, warm cache | {warm['load_s']:.2f} s | | |")
    print(f"| peak RSS | {warm['peak_rss_mb']:.0f} MB | | |")
    print()
    print(
        "read bandwidth probes: " + ", ".join(f"{k} {v / gb:.1f} GB/s" for k, v in warm["bandwidth"].items())
    )
    if "tools" in warm:
        t = warm["tools"]
        print(f"\ntool choice: {t['correct']}/{t['total']} ({t['accuracy']:.0%})")
        for r in t["rows"]:
            mark = "ok " if r["expected"] == r["chosen"] else "BAD"
            print(
                f"  {mark} {r['question']!r} tools={r['tools']} expected={r['expected']} chose={r['chosen']}"
            )


if __name__ == "__main__":
    main()
