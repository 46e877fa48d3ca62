"""A misspelt model id: the service's "No such model" answer carries the bundled catalog's closest ids
(issue #26). The rule stays: a well-formed id the catalog lacks is sent, and the service decides."""

from __future__ import annotations

import pytest

from workersai import ModelNotFound, WorkersAI
from workersai.catalog import did_you_mean, suggestion_for

from .conftest import Wire, error

TYPO = "@cf/meta/llama-3.3-70b-instruct-fp8"
MEANT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"


def test_the_closest_catalog_ids_best_first() -> None:
    assert did_you_mean(TYPO)[0] == MEANT
    assert did_you_mean("@cf/baai/bge-base-en-v15")[0] == "@cf/baai/bge-base-en-v1.5"
    assert did_you_mean("@cf/example/nothing-like-it") == []
    assert did_you_mean(MEANT) == []  # a catalog id is not misspelt


def test_the_model_is_read_from_the_path_or_the_body() -> None:
    assert MEANT in suggestion_for(f"/client/v4/accounts/a/ai/run/{TYPO}")
    assert MEANT in suggestion_for(
        "/client/v4/accounts/a/ai/v1/chat/completions", f'{{"model": "{TYPO}"}}'.encode()
    )
    assert suggestion_for(f"/client/v4/accounts/a/ai/run/{MEANT}") == ""


def test_the_services_no_such_model_error_says_what_was_meant(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: error(400, 5007, f"No such model {TYPO} or task")
    with pytest.raises(ModelNotFound) as caught:
        core.chat("hi", model=TYPO)
    assert len(wire.requests) == 1  # sent: the service decides, not the catalog
    assert f"did you mean {MEANT!r}" in str(caught.value)
    assert caught.value.code == 5007


def test_an_unknown_id_with_nothing_close_keeps_the_services_words(wire: Wire, core: WorkersAI) -> None:
    wire.answer = lambda request: error(400, 5007, "No such model @cf/example/brand-new or task")
    with pytest.raises(ModelNotFound) as caught:
        core.chat("hi", model="@cf/example/brand-new")
    assert str(caught.value).startswith("No such model @cf/example/brand-new or task")
    assert "did you mean" not in str(caught.value)


def test_a_malformed_id_is_refused_with_the_id_it_resembles(wire: Wire, core: WorkersAI) -> None:
    with pytest.raises(ModelNotFound, match=f"did you mean {MEANT!r}"):
        core.chat("hi", model="llama-3.3-70b-instruct-fp8-fast")
    assert wire.requests == []
