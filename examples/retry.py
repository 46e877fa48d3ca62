"""Retry: ride out Workers AI's 'capacity temporarily exceeded' (429, code 3040) with backoff; a
Retry-After can only lengthen a wait. Locally, the emulator injects a burst of three 3040s first.

The wrapper owns the retry budget: `with_workersai_retry(llm, RetryPolicy(max_retries=5))` sends at most
6 requests, because it wraps a copy of the model that does not retry on its own (a model's default is 3
retries). The same holds for `llm.with_retry(...)`. A retry wrapper around a whole chain cannot see the
model: give that model `max_retries=0`."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import ChatWorkersAI, with_workersai_retry
from workersai import RetryPolicy


def main() -> None:
    with cloudflare_env() as emulator:
        if emulator is not None:
            emulator.set_faults(error="3040", fail_next=3, retry_after=0.2)
        before = emulator.stats()["requests"] if emulator is not None else 0
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            time.sleep(seconds)

        llm = ChatWorkersAI(max_tokens=20)  # its own retries are turned off inside the wrapper
        robust = with_workersai_retry(llm, RetryPolicy(max_retries=5, sleep=sleep))
        answer = robust.invoke("Say hello")
        print(
            f"answer after {len(waits)} retries (waited {[round(w, 2) for w in waits]} s): {answer.content}"
        )
        print(f"requests sent: {len(waits) + 1}; answered by {answer.response_metadata['model_name']}")
        if emulator is not None:
            counted = emulator.stats()["requests"] - before
            print(f"requests the emulator received: {counted}")
            assert counted == 4 and len(waits) == 3
            assert all(w >= 0.2 for w in waits)  # Retry-After 0.2 s; the backoff may be longer


if __name__ == "__main__":
    main()
