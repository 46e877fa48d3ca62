"""Checks made before any request."""

from __future__ import annotations

import pytest

from workersai import ConfigurationError, ModelNotFound
from workersai.validation import check_account_id, check_model


@pytest.mark.parametrize("model", ["@cf/meta/llama-3.1-8b-instruct\n", "@cf/a/b\r\n", " @cf/a/b"])
def test_model_id_with_a_trailing_newline_is_refused(model: str) -> None:
    with pytest.raises(ModelNotFound):
        check_model(model, use_catalog=False)


def test_model_id_of_the_right_form_passes() -> None:
    assert check_model("@cf/meta/llama-3.1-8b-instruct", use_catalog=False)
    assert check_model("@hf/thebloke/mistral-7b-instruct-v0.1-awq", use_catalog=False)


@pytest.mark.parametrize("account", ["abc\n", "abc\r\n", "a" * 65, ""])
def test_account_id_must_match_whole(account: str) -> None:
    with pytest.raises(ConfigurationError):
        check_account_id(account)
