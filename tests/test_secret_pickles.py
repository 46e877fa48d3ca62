"""Pickles of the four model classes leave the API token out (as LangChain's and LlamaIndex's own
serialization leave secrets out): an unpickled object reads it again from ``CLOUDFLARE_API_TOKEN``, or,
without it, its first request raises :class:`~workersai.errors.ConfigurationError`."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from langchain_workersai import ChatWorkersAI, WorkersAIEmbeddings
from llamaindex_workersai import WorkersAI as LlamaIndexWorkersAI
from llamaindex_workersai import WorkersAIEmbedding
from workersai import ConfigurationError
from workersai.local import LocalEmulator

EMBED = "@cf/baai/bge-small-en-v1.5"
# A token of its own (the emulator takes any bearer token equal to its own; this one is only pickled).
SECRET = "pickle-me-not-7f3a9c2e"


def _embed(model: Any) -> list[float]:
    if isinstance(model, WorkersAIEmbeddings):
        return model.embed_query("hello")
    if isinstance(model, WorkersAIEmbedding):
        return model.get_query_embedding("hello")
    if isinstance(model, ChatWorkersAI):
        return [float(len(str(model.invoke("hi").content)))]
    return [float(len(model.complete("hi").text))]


MODELS = [
    pytest.param(lambda conn: ChatWorkersAI(max_tokens=3, **conn), id="ChatWorkersAI"),
    pytest.param(lambda conn: WorkersAIEmbeddings(model=EMBED, **conn), id="WorkersAIEmbeddings"),
    pytest.param(lambda conn: LlamaIndexWorkersAI(max_tokens=3, **conn), id="llamaindex.WorkersAI"),
    pytest.param(lambda conn: WorkersAIEmbedding(model_name=EMBED, **conn), id="WorkersAIEmbedding"),
]


@pytest.mark.parametrize("make", MODELS)
def test_a_pickle_holds_no_token_and_reads_it_again_from_the_environment(
    make: Any, emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    conn = {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}
    model = make(conn)
    before = pickle.dumps(model)
    assert emulator.token.encode() not in before
    assert _embed(model)  # the core client (its httpx clients, the token in their headers) is built now
    after = pickle.dumps(model)
    assert emulator.token.encode() not in after

    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", emulator.token)
    restored = pickle.loads(after)
    assert restored.api_token.get_secret_value() == emulator.token
    assert restored.base_url == emulator.base_url and restored.account_id == emulator.account_id
    assert _embed(restored)  # a real request with the token read again

    monkeypatch.delenv("CLOUDFLARE_API_TOKEN")
    without = pickle.loads(after)
    assert without.api_token is None
    with pytest.raises(ConfigurationError, match="CLOUDFLARE_API_TOKEN"):
        _embed(without)


@pytest.mark.parametrize("make", MODELS)
def test_a_token_given_in_code_is_not_pickled_either(make: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    model = make({"account_id": "acct", "api_key": SECRET, "base_url": "http://127.0.0.1:9"})
    model.workers_ai  # noqa: B018 - builds and caches the core client
    data = pickle.dumps(model)
    assert SECRET.encode() not in data
    assert pickle.loads(data).api_token is None
