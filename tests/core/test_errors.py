"""Error classification: which answers are retried."""

from __future__ import annotations

import httpx
import pytest

from workersai import Conflict, IndexAlreadyExists, WorkersAI, WorkersAIError

from .conftest import Wire, error

CONFLICTS = [
    (error(409, 3002, 'vectorize.index.duplicate_name - Index name "docs"'), IndexAlreadyExists),
    (error(409, 40020, "metadata index for 'kind' already exists"), Conflict),
    (httpx.Response(409, text="conflict"), Conflict),
]


@pytest.mark.parametrize(("answer", "cls"), CONFLICTS)
def test_409_is_not_retried(
    wire: Wire, core: WorkersAI, answer: httpx.Response, cls: type[WorkersAIError]
) -> None:
    """A 409 is a lasting conflict (an index or metadata index exists already): retrying repeats it."""
    wire.answer = lambda request: answer
    with pytest.raises(cls) as info:
        core.run("@cf/meta/llama-3.1-8b-instruct-fast", {"prompt": "x"})
    assert info.value.retryable is False
    assert info.value.status == 409
    assert len(wire.requests) == 1
