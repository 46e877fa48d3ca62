"""Model fallback: try the 70B model, fall back to Llama 3.2 3B on capacity or model errors (never on bad
input). Locally, the emulator makes the first request fail with 3040."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import ChatWorkersAI, with_model_fallbacks


def main() -> None:
    with cloudflare_env() as emulator:
        if emulator is not None:
            emulator.set_faults(error="3040", fail_next=1)
        big = ChatWorkersAI(model="@cf/meta/llama-3.3-70b-instruct-fp8-fast", max_retries=0, max_tokens=30)
        small = ChatWorkersAI(model="@cf/meta/llama-3.2-3b-instruct", max_tokens=30)
        chain = with_model_fallbacks(big, small)
        answer = chain.invoke("Name a fruit.")
        used = answer.response_metadata["model_name"]
        print(f"answered by {used}: {answer.content}")
        if emulator is not None:
            assert used == "@cf/meta/llama-3.2-3b-instruct"


if __name__ == "__main__":
    main()
