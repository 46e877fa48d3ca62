"""A second process that drives mixed load (embeddings, chat, streams, Vectorize) at the emulator
named by the CLOUDFLARE_* environment variables, for a number of seconds; prints ok=N failed=N."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from workersai import RetryPolicy, WorkersAI


async def main(seconds: float) -> None:
    ok = failed = 0
    errors: list[str] = []
    policy = RetryPolicy(max_retries=6, initial_backoff=0.01, max_backoff=0.2)
    async with WorkersAI(retry_policy=policy) as client:
        index = f"load-{uuid.uuid4().hex[:8]}"
        await client.vectorize.acreate_index(index, dimensions=384)
        deadline = time.monotonic() + seconds
        n = 0

        async def one(i: int) -> None:
            nonlocal ok, failed
            try:
                kind = i % 4
                if kind == 0:
                    vectors = await client.aembed([f"load text {i}"], model="@cf/baai/bge-small-en-v1.5")
                    await client.vectorize.aupsert(index, [{"id": f"v{i}", "values": vectors[0]}])
                elif kind == 1:
                    await client.achat("hello", max_tokens=5)
                elif kind == 2:
                    async for _ in client.astream_chat("hello", max_tokens=5):
                        pass
                else:
                    await client.vectorize.aquery(index, [0.1] * 384, top_k=3)
                ok += 1
            except Exception as exc:  # counted, and reported below
                failed += 1
                errors.append(f"{type(exc).__name__}: {exc}")

        while time.monotonic() < deadline:
            await asyncio.gather(*(one(n + k) for k in range(16)))
            n += 16
        await client.vectorize.adelete_index(index)
    print(f"ok={ok} failed={failed}")
    for line in errors[:5]:
        print(line, file=sys.stderr)


if __name__ == "__main__":
    asyncio.run(main(float(sys.argv[1])))
