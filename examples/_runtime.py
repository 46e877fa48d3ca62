"""Where the examples run: against Cloudflare when CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are
set, otherwise against a local emulator started for the duration of the example."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from workersai import WorkersAI


@contextmanager
def workers_ai_client() -> Iterator[WorkersAI]:
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        with WorkersAI() as client:
            print(f"using Cloudflare at {client.base_url}")
            yield client
        return
    from workersai.local import LocalEmulator

    with LocalEmulator() as emulator, emulator.client() as client:
        print(f"using the local emulator at {emulator.base_url}")
        yield client
