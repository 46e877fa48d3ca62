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
