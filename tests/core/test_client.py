"""The client's construction."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from workersai import WorkersAI


def test_vectorize_is_built_once_with_the_client() -> None:
    """It used to be built lazily by a property, so two threads could each build one."""
    client = WorkersAI("acct", "tok")
    assert "vectorize" in vars(client)
    with ThreadPoolExecutor(8) as pool:
        seen = set(pool.map(lambda _: id(client.vectorize), range(64)))
    assert seen == {id(client.vectorize)}
    assert client.vectorize.client is client


def test_pacing_is_on_against_cloudflare_and_off_elsewhere_unless_asked() -> None:
    from workersai.pacing import PacingPolicy

    token = "t" * 40
    account = "0123456789abcdef0123456789abcdef"
    assert WorkersAI(account, token).pacer is not None  # api.cloudflare.com: the catalog's limits hold
    local = "http://127.0.0.1:8787/client/v4"
    assert WorkersAI(account, token, base_url=local).pacer is None  # the emulator may have no limits
    assert WorkersAI(account, token, base_url=local, pace=True).pacer is not None
    assert WorkersAI(account, token, base_url=local, pace=PacingPolicy()).pacer is not None
    assert WorkersAI(account, token, pace=False).pacer is None
