"""The transport's async clients: one per event loop, reused within it, closed with it."""

from __future__ import annotations

import asyncio
import os

from workersai import WorkersAI
from workersai.local import LocalEmulator

EMBED = "@cf/baai/bge-small-en-v1.5"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_asyncio_run_in_a_loop_leaks_no_socket(emulator: LocalEmulator) -> None:
    """Each ``asyncio.run`` makes and closes a loop; its client used to stay open (one socket and one
    ``AsyncClient`` a call: EMFILE after ~120 calls under ``ulimit -n 256``)."""
    with emulator.client(max_retries=0) as client:
        asyncio.run(client.aembed(["warm up"], model=EMBED))
        before = _open_fds()
        for i in range(200):
            asyncio.run(client.aembed([f"call {i}"], model=EMBED))
        assert _open_fds() - before < 20
        assert len(client.transport._async) == 0


def test_connections_are_reused_within_a_loop(emulator: LocalEmulator) -> None:
    async def calls(client: WorkersAI) -> tuple[int, int, bool]:
        first = await client.transport._async_client()
        await client.aembed(["warm up"], model=EMBED)
        before = _open_fds()
        for i in range(50):
            await client.aembed([f"call {i}"], model=EMBED)
        same = await client.transport._async_client() is first
        return before, _open_fds(), same

    with emulator.client(max_retries=0) as client:
        before, after, same = asyncio.run(calls(client))
    assert same
    assert after - before <= 1


def test_aclose_closes_the_running_loops_client(emulator: LocalEmulator) -> None:
    async def run(client: WorkersAI) -> bool:
        http = await client.transport._async_client()
        await client.aembed(["x"], model=EMBED)
        await client.aclose()
        return http.is_closed

    with emulator.client(max_retries=0) as client:
        assert asyncio.run(run(client))
        assert len(client.transport._async) == 0


def test_a_loop_closed_without_shutdown_is_dropped(emulator: LocalEmulator) -> None:
    """A loop closed by hand (no ``shutdown_asyncgens``) cannot close its client any more: the next
    call forgets it, so neither the loop nor its client is kept alive by the transport."""
    with emulator.client(max_retries=0) as client:
        loop = asyncio.new_event_loop()
        loop.run_until_complete(client.aembed(["x"], model=EMBED))
        loop.close()
        assert len(client.transport._async) == 1
        asyncio.run(client.aembed(["y"], model=EMBED))
        assert len(client.transport._async) == 0


def test_every_client_shares_one_tls_context(emulator: LocalEmulator) -> None:
    """The CA bundle is loaded once a process, not once per client: an async client is made per event
    loop, and ``asyncio.run`` per call would otherwise reload it each time (40-80 ms of CPU)."""

    def context(client: object) -> object:
        return client._transport._pool._ssl_context  # type: ignore[attr-defined]

    async def async_context(client: WorkersAI) -> object:
        return context(await client.transport._async_client())

    with emulator.client() as one, emulator.client() as two:
        contexts = {
            id(context(one.transport.sync_client)),
            id(context(two.transport.sync_client)),
            id(asyncio.run(async_context(one))),
            id(asyncio.run(async_context(two))),
        }
    assert len(contexts) == 1
