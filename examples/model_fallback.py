"""Model fallback: try the 70B model, fall back to Llama 3.2 3B on capacity or model errors (never on bad
input). Locally, the emulator makes the 70B model refuse with 3040 for the whole run.

The fallback is taken at once: the 70B model is sent one request, with `options.rejectIfBusy` (a busy
model refuses instead of queueing), and no retries: retrying is for the last model of the chain. After
5 refusals in a row the 70B model's breaker opens and calls go straight to the 3B model for 15 s."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import ChatWorkersAI, get_workersai_callback, with_model_fallbacks

BIG = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
SMALL = "@cf/meta/llama-3.2-3b-instruct"


def main() -> None:
    with cloudflare_env() as emulator:
        if emulator is not None:
            emulator.set_faults(error="3040", error_rate=1.0, models=[BIG])
        before = emulator.stats() if emulator is not None else {}
        big = ChatWorkersAI(model=BIG, max_tokens=10)  # default retries: turned off inside the chain
        small = ChatWorkersAI(model=SMALL, max_tokens=10)
        chain = with_model_fallbacks(big, small)
        with get_workersai_callback() as usage:
            answers = [chain.invoke("Name a fruit.") for _ in range(6)]
        for answer in answers:
            meta = answer.response_metadata
            print(
                f"answered by {meta['model_name']} after {meta['attempts']} request(s), "
                f"{meta['fallbacks']} fallback(s): {answer.content}"
            )
        big_usage = usage.by_model.get(BIG)
        if big_usage is not None:
            print(
                f"{BIG}: {big_usage.capacity_errors} capacity errors, left {big_usage.fallbacks} times, "
                f"skipped {big_usage.skipped} times by its breaker"
            )
        if emulator is not None:
            after = emulator.stats()
            sent = {m: after.get(f"requests:{m}", 0) - before.get(f"requests:{m}", 0) for m in (BIG, SMALL)}
            print(f"requests sent: {sent[BIG]} to {BIG}, {sent[SMALL]} to {SMALL}")
            assert all(a.response_metadata["model_name"] == SMALL for a in answers)
            assert sent == {BIG: 5, SMALL: 6}  # the sixth call skipped the 70B model


if __name__ == "__main__":
    main()
