"""The API token never shows; the emulator checks it; ids cannot escape their URL path."""

from __future__ import annotations

import logging

import httpx
import pytest

from workersai import AuthenticationError, ConfigurationError, ModelNotFound, WorkersAI
from workersai.local import LocalEmulator

SECRET = "sk-very-secret-token-0123456789"


def test_token_never_in_repr_or_str() -> None:
    client = WorkersAI("acct", SECRET, gateway_token="gw-" + SECRET)
    assert SECRET not in repr(client)
    assert SECRET not in str(client)
    assert "**********" in repr(client)
    assert SECRET not in repr(vars(client))


def test_token_not_in_errors_or_debug_logs(emulator: LocalEmulator, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    with emulator.client(api_token=SECRET, max_retries=0) as client:
        with pytest.raises(AuthenticationError) as info:
            client.embed(["x"])
        with pytest.raises(AuthenticationError) as async_info:
            import asyncio

            asyncio.run(client.aembed(["x"]))
    for text in (str(info.value), repr(info.value), str(async_info.value), caplog.text):
        assert SECRET not in text
    assert "workersai" in caplog.text  # the debug log did run


def test_emulator_rejects_requests_without_a_token(emulator: LocalEmulator) -> None:
    url = f"{emulator.base_url}/accounts/{emulator.account_id}/ai/run/@cf/baai/bge-small-en-v1.5"
    response = httpx.post(url, json={"text": ["x"]})
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == 10000
    response = httpx.post(url, json={"text": ["x"]}, headers={"Authorization": "Basic abc"})
    assert response.status_code == 401


def test_emulator_binds_loopback_by_default(emulator: LocalEmulator) -> None:
    assert emulator.host == "127.0.0.1"
    from workersai.local.cli import parse_args

    assert parse_args([]).host == "127.0.0.1"


@pytest.mark.parametrize(
    "model", ["@cf/../../accounts/x", "@cf/meta/../../../evil", "@cf/a/b?x=1", "@cf/a/b#c"]
)
def test_model_ids_cannot_traverse_paths(model: str) -> None:
    with WorkersAI("acct", "tok") as client, pytest.raises(ModelNotFound):
        client.run(model, {"prompt": "x"})


@pytest.mark.parametrize("account", ["../x", "a/b", "a?b", "a b"])
def test_account_ids_cannot_traverse_paths(account: str) -> None:
    with pytest.raises(ConfigurationError):
        WorkersAI(account, "tok")


def test_missing_configuration_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_ACCOUNT_ID", raising=False)
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with WorkersAI() as client, pytest.raises(ConfigurationError, match="CLOUDFLARE_ACCOUNT_ID"):
        client.embed(["x"])
    with WorkersAI("acct") as client, pytest.raises(ConfigurationError, match="CLOUDFLARE_API_TOKEN"):
        client.embed(["x"])


def test_configuration_from_environment(emulator: LocalEmulator, monkeypatch: pytest.MonkeyPatch) -> None:
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    with WorkersAI() as client:
        assert client.account_id == emulator.account_id
        assert len(client.embed(["from the environment"])) == 1


def test_token_not_in_tracing_params_or_callbacks(
    emulator: LocalEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """What LangChain hands to tracers (ls params, serialized model, invocation params, callbacks)
    and what LlamaIndex serializes never holds the token."""
    from typing import Any

    from langchain_core.callbacks import BaseCallbackHandler

    from langchain_workersai import ChatWorkersAI, WorkersAIEmbeddings
    from llamaindex_workersai import WorkersAI as LlamaWorkersAI
    from llamaindex_workersai import WorkersAIEmbedding

    seen: list[str] = []

    class Recorder(BaseCallbackHandler):
        def on_chat_model_start(self, serialized: Any, messages: Any, **kwargs: Any) -> None:
            seen.append(repr((serialized, messages, kwargs)))

        def on_llm_end(self, response: Any, **kwargs: Any) -> None:
            seen.append(repr((response, kwargs)))

    caplog.set_level(logging.DEBUG)
    conn = {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}
    chat = ChatWorkersAI(max_tokens=5, **conn)
    chat.invoke("hello", config={"callbacks": [Recorder()]})
    embeddings = WorkersAIEmbeddings(**conn)
    li_llm = LlamaWorkersAI(**conn)
    li_embed = WorkersAIEmbedding(**conn)
    texts = [
        *seen,
        repr(chat._get_ls_params()),
        repr(chat._identifying_params),
        repr(chat),
        repr(embeddings),
        li_llm.to_json(),
        repr(li_llm.metadata),
        li_embed.to_json(),
        repr(li_embed),
        caplog.text,
    ]
    assert len(seen) == 2
    for text in texts:
        assert emulator.token not in text


def test_token_with_a_trailing_newline_works_and_never_shows(
    emulator: LocalEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    """A token read from a secret file keeps its newline; it used to go out as an illegal header, be
    retried as a network fault and show in the error and in httpcore's DEBUG log."""
    import asyncio

    caplog.set_level(logging.DEBUG)
    with emulator.client(api_token=emulator.token + "\n", max_retries=0) as client:
        assert len(client.embed(["x"])) == 1
        assert len(asyncio.run(client.aembed(["x"]))) == 1
    assert "workersai" in caplog.text
    assert emulator.token not in caplog.text


def test_token_with_an_inner_newline_is_refused_unshown(emulator: LocalEmulator) -> None:
    with pytest.raises(ConfigurationError) as info:
        emulator.client(api_token=emulator.token + "\nX-Injected: 1")
    assert emulator.token not in str(info.value)
    assert "Injected" not in str(info.value)
