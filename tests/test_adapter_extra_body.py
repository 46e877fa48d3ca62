"""Escape hatches: a model input the library does not model reaches the service through
``ChatWorkersAI(model_kwargs=...)`` (langchain-openai's name) and LlamaIndex
``WorkersAI(additional_kwargs=...)`` (llama-index-llms-openai's name).

``max_completion_tokens`` is the probe: neither adapter declares it, and the emulator honours it (its
``token_cap``: the OpenAI-schema model pages list it, ``max_tokens`` being "deprecated in favor of
max_completion_tokens"), so its effect, and its refusal when invalid, can only come from the emulator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

from workersai import BadInput
from workersai.local import LocalEmulator

PROMPT = "Tell me everything you know about the history of the city of Lisbon, at length."


@pytest.fixture
def conn(emulator: LocalEmulator) -> dict[str, Any]:
    return {"account_id": emulator.account_id, "api_key": emulator.token, "base_url": emulator.base_url}


def _langchain(conn: dict[str, Any], extra: dict[str, Any], how: str) -> int:
    from langchain_workersai import ChatWorkersAI

    llm = ChatWorkersAI(model_kwargs=extra, max_retries=0, **conn)
    if how == "stream":
        chunks = list(llm.stream(PROMPT))
        usage = chunks[-1].usage_metadata
    elif how == "async":
        usage = asyncio.run(llm.ainvoke(PROMPT)).usage_metadata
    else:
        usage = llm.invoke(PROMPT).usage_metadata
    assert usage is not None
    return usage["output_tokens"]


def _llamaindex(conn: dict[str, Any], extra: dict[str, Any], how: str) -> int:
    from llama_index.core.base.llms.types import ChatMessage

    from llamaindex_workersai import WorkersAI

    llm = WorkersAI(additional_kwargs=extra, max_retries=0, **conn)
    messages = [ChatMessage(role="user", content=PROMPT)]
    if how == "stream":
        last = list(llm.stream_chat(messages))[-1]
    elif how == "async":
        last = asyncio.run(llm.achat(messages))
    else:
        last = llm.chat(messages)
    return last.additional_kwargs["usage"]["completion_tokens"]


ADAPTERS: dict[str, Callable[[dict[str, Any], dict[str, Any], str], int]] = {
    "langchain": _langchain,
    "llamaindex": _llamaindex,
}


@pytest.mark.parametrize("how", ["sync", "async", "stream"])
@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_an_unmodelled_option_reaches_the_emulator(conn: dict[str, Any], adapter: str, how: str) -> None:
    run = ADAPTERS[adapter]
    assert run(conn, {}, how) > 3  # the emulator's default cap lets it say more
    assert run(conn, {"max_completion_tokens": 3}, how) <= 3
    with pytest.raises(BadInput, match="max_completion_tokens"):  # the emulator's own refusal
        run(conn, {"max_completion_tokens": 0}, how)


def test_the_extra_keys_survive_a_fallback_chain(emulator: LocalEmulator, conn: dict[str, Any]) -> None:
    """The fallback chain copies the client per model (``with_options``): the keys go with it."""
    from llama_index.core.base.llms.types import ChatMessage

    from llamaindex_workersai import WorkersAI

    llm = WorkersAI(
        fallback_models=["@cf/meta/llama-3.1-8b-instruct-fast"],
        additional_kwargs={"max_completion_tokens": 2},
        max_retries=0,
        **conn,
    )
    emulator.set_faults(error="3040", fail_next=1)
    answer = llm.chat([ChatMessage(role="user", content=PROMPT)])
    assert answer.raw["fallbacks"] == 1 and answer.additional_kwargs["usage"]["completion_tokens"] <= 2


@pytest.mark.parametrize("adapter", sorted(ADAPTERS))
def test_a_declared_option_in_the_extra_keys_is_refused(conn: dict[str, Any], adapter: str) -> None:
    from langchain_workersai import ChatWorkersAI
    from llamaindex_workersai import WorkersAI

    with pytest.raises(ValueError, match="temperature"):
        if adapter == "langchain":
            ChatWorkersAI(model_kwargs={"temperature": 0.1}, **conn)
        else:
            WorkersAI(additional_kwargs={"temperature": 0.1}, **conn)
