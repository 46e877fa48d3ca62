"""Settings are cleaned when the client is built; no header value reaches an error or a log."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import httpx
import pytest

from workersai import APIConnectionError, BadInput, ConfigurationError, WorkersAI

from .conftest import ACCOUNT, BASE_URL, TOKEN, Wire

EMBED = "@cf/baai/bge-small-en-v1.5"


def _embedding(request: httpx.Request) -> httpx.Response:
    return httpx.Response(200, json={"result": {"shape": [1, 2], "data": [[0.5, 0.5]]}, "success": True})


@pytest.mark.parametrize("padding", ["\n", "\r\n", " ", "\t\n"])
def test_surrounding_whitespace_is_stripped(wire: Wire, padding: str) -> None:
    """A token read from a secret file ends with a newline; account and URL too, when pasted."""
    wire.answer = _embedding
    with wire.client(
        account_id=padding + ACCOUNT + padding,
        api_token=TOKEN + padding,
        base_url=" " + BASE_URL + padding,
        gateway_token=padding + "gw-" + TOKEN + padding,
    ) as client:
        assert client.embed(["x"], model=EMBED) == [[0.5, 0.5]]
    request = wire.requests[0]
    assert request.headers["authorization"] == f"Bearer {TOKEN}"
    assert request.headers["cf-aig-authorization"] == f"Bearer gw-{TOKEN}"
    assert str(request.url) == f"{BASE_URL}/accounts/{ACCOUNT}/ai/run/{EMBED}"


def test_tokens_from_the_environment_are_stripped(wire: Wire, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CLOUDFLARE_API_TOKEN", TOKEN + "\n")
    monkeypatch.setenv("CLOUDFLARE_ACCOUNT_ID", ACCOUNT + "\n")
    client = WorkersAI(base_url=BASE_URL)
    assert client.account_id == ACCOUNT
    assert client.transport.headers["Authorization"] == f"Bearer {TOKEN}"


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("api_token", "tok-secret\ninjected: header"),
        ("api_token", "tok-secret\x00rest"),
        ("api_token", "tok secret"),
        ("api_token", "tok-sécret"),
        ("gateway_token", "gw-secret\r\nX: y"),
        ("account_id", "acct\nsecret"),
        ("base_url", "https://api.test/cl ient/v4"),
        ("base_url", "https://api.test/\nsecret"),
        ("gateway_id", "gw\tsecret"),
        ("gateway_id", "gw/../secret"),
    ],
)
def test_inner_whitespace_or_controls_are_refused_without_echo(setting: str, value: str) -> None:
    options = {"account_id": ACCOUNT, "api_token": TOKEN, setting: value}
    with pytest.raises(ConfigurationError) as info:
        WorkersAI(**options)  # type: ignore[arg-type]
    for text in (str(info.value), repr(info.value), repr(info.value.args)):
        assert "secret" not in text and "sécret" not in text
    assert "sec" not in str(info.value)


def test_empty_token_counts_as_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CLOUDFLARE_API_TOKEN", raising=False)
    with WorkersAI(ACCOUNT, " \n") as client, pytest.raises(ConfigurationError, match="no API token"):
        client.embed(["x"], model=EMBED)


SECRET = "sk-very-secret-token-0123456789"


def _raise(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def test_malformed_request_error_is_typed_not_retried_and_quotes_no_header(
    wire: Wire, caplog: pytest.LogCaptureFixture
) -> None:
    """What httpcore raises for a header value HTTP does not allow quotes the value."""
    caplog.set_level(logging.DEBUG)
    wire.answer = _raise(httpx.LocalProtocolError(f"Illegal header value b'Bearer {SECRET}\\n'"))
    with wire.client(api_token=SECRET) as client:
        with pytest.raises(BadInput) as info:
            client.embed(["x"], model=EMBED)
        with pytest.raises(BadInput) as async_info:
            asyncio.run(client.aembed(["x"], model=EMBED))
    assert len(wire.requests) == 2  # once each: a malformed request is not a network fault
    for error in (info.value, async_info.value):
        assert error.retryable is False
        for text in (str(error), repr(error), repr(error.args)):
            assert SECRET not in text
    assert SECRET not in caplog.text


def test_connection_error_message_never_holds_a_header_value(wire: Wire) -> None:
    wire.answer = _raise(httpx.ConnectError(f"refused while sending Bearer {SECRET}"))
    with wire.client(api_token=SECRET) as client, pytest.raises(APIConnectionError) as info:
        client.run(EMBED, {"text": ["x"]})
    assert info.value.attempts == 3
    assert SECRET not in str(info.value)
    assert "refused while sending" in str(info.value)


def test_unsupported_scheme_is_a_configuration_error() -> None:
    client = WorkersAI(ACCOUNT, SECRET, base_url="ftp://api.test")
    with client, pytest.raises(ConfigurationError) as info:
        client.run(EMBED, {"text": ["x"]})
    assert SECRET not in str(info.value)
    assert info.value.retryable is False


@pytest.mark.parametrize(
    "where", ["langchain-chat", "langchain-embeddings", "llamaindex-llm", "llamaindex-embedding"]
)
def test_a_misspelt_keyword_is_a_type_error_naming_it_without_the_token(where: str) -> None:
    from langchain_workersai import ChatWorkersAI, WorkersAIEmbeddings
    from llamaindex_workersai import WorkersAI, WorkersAIEmbedding

    cls = {
        "langchain-chat": ChatWorkersAI,
        "langchain-embeddings": WorkersAIEmbeddings,
        "llamaindex-llm": WorkersAI,
        "llamaindex-embedding": WorkersAIEmbedding,
    }[where]
    with pytest.raises(TypeError) as info:
        cls(modle="@cf/meta/llama-3.2-3b-instruct", account_id="a" * 32, api_token="sekrit-token-value")
    assert "unknown keyword arguments: 'modle'" in str(info.value)
    assert "sekrit" not in str(info.value) and "sekrit" not in repr(info.value)
    if where.startswith("langchain"):
        assert "(did you mean 'model'?)" in str(info.value)
