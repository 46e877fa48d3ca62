"""Model deprecations: the catalog's dates and replacements, the client's DeprecationWarning, and the
emulator's 410/5028 for a model past its date (with ``today`` and ``serve_deprecated``), over real HTTP."""

from __future__ import annotations

import datetime as dt
import warnings
from collections.abc import Iterator

import httpx
import pytest

from workersai import ModelNotFound, WorkersAI, validation
from workersai.catalog import deprecation, get_model
from workersai.local import LocalEmulator

CHANGELOG_2026_05_08 = [  # developers.cloudflare.com/changelog/post/2026-05-08-planned-model-deprecations/
    "@cf/moonshotai/kimi-k2.5",
    "@hf/meta-llama/meta-llama-3-8b-instruct",
    "@cf/meta/llama-3-8b-instruct",
    "@cf/meta/llama-3-8b-instruct-awq",
    "@cf/meta/llama-3.1-8b-instruct",
    "@cf/meta/llama-3.1-8b-instruct-awq",
    "@cf/meta/llama-3.1-70b-instruct",
    "@cf/meta/llama-2-7b-chat-int8",
    "@cf/meta/llama-2-7b-chat-fp16",
    "@cf/mistral/mistral-7b-instruct-v0.1",
    "@hf/mistral/mistral-7b-instruct-v0.2",
    "@hf/google/gemma-7b-it",
    "@cf/google/gemma-3-12b-it",
    "@hf/nousresearch/hermes-2-pro-mistral-7b",
    "@cf/microsoft/phi-2",
    "@cf/defog/sqlcoder-7b-2",
    "@cf/unum/uform-gen2-qwen-500m",
    "@cf/facebook/bart-large-cnn",
]
LLAMA = "@cf/meta/llama-3.1-8b-instruct"
AFTER = dt.date(2026, 6, 1)
BEFORE = dt.date(2026, 5, 29)


def test_the_catalog_has_the_18_deprecations_each_with_a_current_replacement() -> None:
    assert len(CHANGELOG_2026_05_08) == 18
    for model in CHANGELOG_2026_05_08:
        found = deprecation(model)
        assert found is not None, model
        assert found.date == dt.date(2026, 5, 30)
        assert found.replacement is not None
        replacement = get_model(found.replacement)
        assert replacement is not None and deprecation(found.replacement) is None, found.replacement
    assert deprecation("@cf/kimi/kimi-k2.5") is None
    assert deprecation("@cf/moonshotai/kimi-k2.5").replacement == "@cf/moonshotai/kimi-k2.6"  # type: ignore[union-attr]
    assert deprecation("@cf/meta/llama-3.3-70b-instruct-fp8-fast") is None  # "variants that remain active"


@pytest.fixture
def fresh_warnings(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validation, "_WARNED", set())


def test_a_call_naming_a_deprecated_model_warns_once_naming_the_replacement(
    client: WorkersAI, fresh_warnings: None
) -> None:
    expected = r"llama-3\.1-8b-instruct is deprecated.*2026-05-30.*use @cf/meta/llama-3\.1-8b-instruct-fast"
    with pytest.warns(DeprecationWarning, match=expected), pytest.raises(ModelNotFound):
        client.chat("hi", model=LLAMA, max_tokens=5)  # the emulator, like the service, refuses it today
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(ModelNotFound):
            client.chat("hi", model=LLAMA, max_tokens=5)  # once per model per process
        client.chat("hi", model="@cf/meta/llama-3.1-8b-instruct-fast", max_tokens=5)  # no warning


@pytest.fixture(scope="module")
def after_date() -> Iterator[LocalEmulator]:
    with LocalEmulator(today=AFTER) as emu:
        yield emu


def _run(emu: LocalEmulator, model: str) -> httpx.Response:
    return httpx.post(
        f"{emu.base_url}/accounts/{emu.account_id}/ai/run/{model}",
        json={"prompt": "hi", "max_tokens": 5},
        headers={"Authorization": f"Bearer {emu.token}"},
        timeout=60,
    )


def test_a_model_past_its_date_is_answered_410_5028(after_date: LocalEmulator) -> None:
    answer = _run(after_date, LLAMA)
    assert answer.status_code == 410
    error = answer.json()["errors"][0]
    assert error["code"] == 5028
    assert error["message"] == (
        f"AiError: Model has been deprecated: {LLAMA} was deprecated on 2026-05-30. "
        "See the model catalog for alternatives"
    )
    # A retired model the snapshot describes no further: still 5028, not 5007 (no such model).
    assert _run(after_date, "@cf/meta/llama-2-7b-chat-int8").json()["errors"][0]["code"] == 5028
    # Kimi K2.5 is aliased to K2.6 from the date (the changelog): served.
    assert _run(after_date, "@cf/moonshotai/kimi-k2.5").status_code == 200
    assert _run(after_date, "@cf/meta/llama-3.1-8b-instruct-fast").status_code == 200
    chat = httpx.post(
        f"{after_date.base_url}/accounts/{after_date.account_id}/ai/v1/chat/completions",
        json={"model": LLAMA, "messages": [{"role": "user", "content": "hi"}]},
        headers={"Authorization": f"Bearer {after_date.token}"},
        timeout=60,
    )
    assert chat.status_code == 410 and chat.json()["errors"][0]["code"] == 5028


def test_the_client_raises_model_not_found_for_a_retired_model(
    after_date: LocalEmulator, fresh_warnings: None
) -> None:
    with (
        after_date.client(max_retries=0) as client,
        pytest.warns(DeprecationWarning),
        pytest.raises(ModelNotFound) as info,
    ):
        client.chat("hi", model=LLAMA, max_tokens=5)
    assert (info.value.status, info.value.code, info.value.retryable) == (410, 5028, False)


def test_before_its_date_or_with_serve_deprecated_the_model_is_served() -> None:
    with LocalEmulator(today=BEFORE) as before:
        assert _run(before, LLAMA).status_code == 200
    with LocalEmulator(today=AFTER, serve_deprecated=True) as anyway:
        assert _run(anyway, LLAMA).status_code == 200
