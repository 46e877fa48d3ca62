"""Every documented error code reaches the user as the right typed error, over real HTTP."""

from __future__ import annotations

import pytest

from workersai import (
    APIConnectionError,
    AuthenticationError,
    BadInput,
    CapacityExceeded,
    DailyQuotaExceeded,
    ModelNotFound,
    RateLimited,
    RequestTimeout,
    RequestTooLarge,
    ResponseFormatError,
    RetryPolicy,
    ServerError,
    TermsNotAgreed,
    WorkersAI,
)
from workersai.errors import WorkersAIError
from workersai.local import LocalEmulator

EMBED = "@cf/baai/bge-small-en-v1.5"


@pytest.mark.parametrize(
    ("fault", "cls", "status", "code", "retryable"),
    [
        ("3040", CapacityExceeded, 429, 3040, True),
        ("3021", RateLimited, 429, 3021, True),
        ("3036", DailyQuotaExceeded, 429, 3036, False),
        ("500", ServerError, 500, None, True),
        ("502", ServerError, 502, None, True),
        ("503", ServerError, 503, None, True),
        ("408", RequestTimeout, 408, 3007, True),
        ("3008", RequestTimeout, 408, 3008, True),
        ("5016", TermsNotAgreed, 403, 5016, False),
    ],
)
def test_injected_errors_map_to_typed_errors(
    emulator: LocalEmulator,
    fault: str,
    cls: type[WorkersAIError],
    status: int,
    code: int | None,
    retryable: bool,
) -> None:
    emulator.set_faults(error=fault, fail_next=1)
    with emulator.client(max_retries=0) as client, pytest.raises(cls) as info:
        client.embed(["hello"], model=EMBED)
    err = info.value
    assert err.status == status
    assert err.code == code
    assert err.retryable is retryable
    assert err.attempts == 1


def test_html_error_page_is_a_typed_error_not_a_parse_crash(emulator: LocalEmulator) -> None:
    emulator.set_faults(error="502", fail_next=1)
    with emulator.client(max_retries=0) as client, pytest.raises(ServerError) as info:
        client.chat("hi")
    assert "502" in str(info.value)


def test_unknown_model_is_5007(client: WorkersAI) -> None:
    with pytest.raises(ModelNotFound) as info:
        client.run("@cf/nobody/no-such-model", {"prompt": "hi"})
    assert (info.value.status, info.value.code) == (400, 5007)


def test_a_misspelt_model_gets_the_services_5007_with_what_was_meant(client: WorkersAI) -> None:
    """Sent (a well-formed id the catalog lacks: the service decides); the emulator's "No such model"
    answer becomes ModelNotFound naming the bundled catalog's closest id."""
    with pytest.raises(ModelNotFound) as info:
        client.embed(["x"], model="@cf/baai/bge-base-en-v15")
    assert (info.value.status, info.value.code) == (400, 5007)
    assert "No such model @cf/baai/bge-base-en-v15" in str(info.value)
    assert "did you mean '@cf/baai/bge-base-en-v1.5'" in str(info.value)


def test_malformed_model_id_on_the_wire_is_3042(client: WorkersAI) -> None:
    response_error = None
    try:
        client.transport.request("POST", client.account_url("ai/run/not-a-model"), json={"prompt": "x"})
    except ModelNotFound as exc:
        response_error = exc
    assert response_error is not None
    assert (response_error.status, response_error.code) == (404, 3042)


def test_bad_input_is_5006(client: WorkersAI) -> None:
    with pytest.raises(BadInput) as info:
        client.run(EMBED, {"text": []})
    assert (info.value.status, info.value.code) == (400, 5006)
    assert "Bad input" in info.value.message


def test_missing_body_is_3003(client: WorkersAI) -> None:
    with pytest.raises(BadInput) as info:
        client.transport.request("POST", client.run_url(EMBED), content=b"")
    assert (info.value.status, info.value.code) == (400, 3003)


def test_too_large_is_3006(client: WorkersAI) -> None:
    body = b'{"text": "' + b"a" * (11 * 1024 * 1024) + b'"}'
    with pytest.raises(RequestTooLarge) as info:
        client.transport.request("POST", client.run_url(EMBED), content=body)
    assert (info.value.status, info.value.code) == (413, 3006)


def test_wrong_token_is_10000_and_not_retried(emulator: LocalEmulator) -> None:
    with emulator.client(api_token="wrong-token") as client, pytest.raises(AuthenticationError) as info:
        client.embed(["hello"], model=EMBED)
    assert (info.value.status, info.value.code, info.value.attempts) == (401, 10000, 1)
    message = str(info.value)  # names the setting to check and the emulator's token file, never a value
    assert "CLOUDFLARE_API_TOKEN" in message and "--data-dir" in message and "wrong-token" not in message


def test_connection_refused_is_a_connection_error() -> None:
    policy = RetryPolicy(max_retries=1, sleep=lambda s: None)
    base = "http://127.0.0.1:9/client/v4"
    with (
        WorkersAI("acct", "tok", base_url=base, retry_policy=policy) as client,
        pytest.raises(APIConnectionError) as info,
    ):
        client.embed(["x"])
    assert info.value.attempts == 2
    message = str(info.value)  # where nothing answered, and what to check
    assert "nothing answered at http://127.0.0.1:9" in message and "`workersai-local` running" in message
    assert "CLOUDFLARE_API_BASE_URL" in message and "tok" not in message.replace("token", "")


def test_non_envelope_success_is_response_format_error(client: WorkersAI, emulator: LocalEmulator) -> None:
    # The health endpoint answers an envelope; the fault endpoint answers one too. A plain page is not.
    response = client.transport.request("GET", f"{emulator.url}/__local__/health")
    from workersai.transport import unwrap_envelope

    assert unwrap_envelope(response) == {"status": "ok"}
    import httpx

    with pytest.raises(ResponseFormatError):
        unwrap_envelope(httpx.Response(200, text="<html>hi</html>"))
    with pytest.raises(ResponseFormatError):
        unwrap_envelope(httpx.Response(200, json=[1, 2]))


def test_a_base_url_without_client_v4_says_what_the_base_url_must_be(emulator: LocalEmulator) -> None:
    from workersai import ConfigurationError

    root = emulator.base_url.removesuffix("/client/v4")
    client = WorkersAI(account_id=emulator.account_id, api_token=emulator.token, base_url=root)
    with pytest.raises(ConfigurationError) as info:
        client.embed(["hello"], model=EMBED)
    assert info.value.code == 7003 and info.value.status == 400
    assert "the base URL must end with /client/v4" in str(info.value)
    assert info.value.attempts == 1  # a wrong URL is not retried


def test_narrowed_keeps_status_code_and_errors_and_states_them_once() -> None:
    from workersai.ai_search import InstanceNotFound
    from workersai.errors import NotFound, narrowed

    errors = [{"code": 7002, "message": "not found"}]
    with pytest.raises(InstanceNotFound) as caught, narrowed(NotFound, InstanceNotFound):
        raise NotFound("no such instance", status=404, code=7002, errors=errors)
    assert (caught.value.status, caught.value.code, caught.value.errors) == (404, 7002, errors)
    assert str(caught.value) == "no such instance (code=7002, status=404)"
    with pytest.raises(BadInput), narrowed(NotFound, InstanceNotFound):  # other errors pass through
        raise BadInput("bad")
