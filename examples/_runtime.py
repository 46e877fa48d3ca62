"""Where the examples run: against Cloudflare when CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are
set, otherwise against a local emulator started for the duration of the example (its address and
token are put in the same environment variables, so every class picks them up unchanged). When those
variables point at a ``workersai-local`` started elsewhere, that emulator is used, and the examples
that show retries and fallbacks inject their faults into it."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from workersai import WorkersAI
from workersai.local.control import EmulatorControl

CORPUS = Path(__file__).parent / "data" / "corpus.txt"


def is_local() -> bool:
    return not (os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"))


@contextmanager
def cloudflare_env() -> Iterator[EmulatorControl | None]:
    """Yields the emulator when running against one (for fault injection), else None."""
    if not is_local():
        running = EmulatorControl.find(
            os.environ.get("CLOUDFLARE_API_BASE_URL"), os.environ.get("CLOUDFLARE_API_TOKEN")
        )
        print(f"using the emulator at {running.url}" if running else "using Cloudflare")
        try:
            yield running
        finally:
            if running is not None:
                running.clear_faults()
        return
    from workersai.local import LocalEmulator

    with LocalEmulator() as emulator:
        saved = {k: os.environ.get(k) for k in emulator.env()}
        os.environ.update(emulator.env())
        print(f"using the local emulator at {emulator.base_url}")
        try:
            yield emulator
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


@contextmanager
def workers_ai_client() -> Iterator[WorkersAI]:
    with cloudflare_env(), WorkersAI() as client:
        yield client


def corpus() -> list[str]:
    return [line.strip() for line in CORPUS.read_text().splitlines() if line.strip()]
