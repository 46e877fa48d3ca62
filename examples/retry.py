"""Retry: ride out Workers AI's 'capacity temporarily exceeded' (429, code 3040) with backoff that
honours Retry-After. Locally, the emulator injects a burst of three 3040s first."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import ChatWorkersAI, with_workersai_retry
from workersai import RetryPolicy


def main() -> None:
    with cloudflare_env() as emulator:
        if emulator is not None:
            emulator.set_faults(error="3040", fail_next=3, retry_after=0.2)
        waits: list[float] = []

        def sleep(seconds: float) -> None:
            waits.append(seconds)
            import time

            time.sleep(seconds)

        llm = ChatWorkersAI(max_retries=0, max_tokens=20)  # the runnable does the retrying
        robust = with_workersai_retry(llm, RetryPolicy(max_retries=5, sleep=sleep))
        answer = robust.invoke("Say hello")
        print(f"answer after {len(waits)} retries (waited {waits}): {answer.content}")
        if emulator is not None:
            assert waits == [0.2, 0.2, 0.2]


if __name__ == "__main__":
    main()
