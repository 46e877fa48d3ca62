"""The errors form one tree a user catches by meaning (``workersai.errors``): every "not found" is a
``NotFound``, checked against the emulator over HTTP for each kind of resource."""

from __future__ import annotations

import asyncio
import uuid

import pytest

import workersai
from workersai import (
    BadInput,
    BatchNotFound,
    CapacityExceeded,
    Conflict,
    DatabaseNotFound,
    IndexAlreadyExists,
    IndexNotFound,
    InstanceNotFound,
    ModelNotFound,
    NotFound,
    RateLimited,
    WorkersAI,
    WorkersAIError,
)
from workersai.errors import error_for_code, narrowed

EMBED = "@cf/baai/bge-small-en-v1.5"

# Every error class the package exported before the tree was rearranged: each is still importable
# from ``workersai`` (and from the module it used to live in).
OLD_NAMES = [
    "APIConnectionError",
    "APITimeoutError",
    "AuthenticationError",
    "BadInput",
    "BatchItemFailed",
    "BatchNotFound",
    "BatchTimeout",
    "BindingError",
    "BindingUnsupported",
    "CapacityExceeded",
    "ConfigurationError",
    "Conflict",
    "DailyQuotaExceeded",
    "DeadlineExceeded",
    "DimensionMismatch",
    "IndexAlreadyExists",
    "IndexNotFound",
    "InstanceNotFound",
    "ModelNotFound",
    "MutationTimeout",
    "NotFound",
    "RateLimited",
    "RequestTimeout",
    "RequestTooLarge",
    "ResponseFormatError",
    "ServerError",
    "StreamInterrupted",
    "TermsNotAgreed",
    "WorkersAIError",
]


@pytest.mark.parametrize("name", OLD_NAMES)
def test_every_error_name_is_still_importable(name: str) -> None:
    cls = getattr(workersai, name)
    assert issubclass(cls, WorkersAIError)


def test_old_homes_still_export_their_errors() -> None:
    from workersai.ai_search import InstanceNotFound as FromAISearch
    from workersai.batch import BatchNotFound as FromBatch

    assert FromAISearch is InstanceNotFound and FromBatch is BatchNotFound


def test_every_not_found_is_a_not_found() -> None:
    missing = [n for n in workersai.__all__ if n.endswith("NotFound")]
    assert set(missing) >= {
        "ModelNotFound",
        "IndexNotFound",
        "InstanceNotFound",
        "BatchNotFound",
        "DatabaseNotFound",
    }
    assert all(issubclass(getattr(workersai, n), NotFound) for n in missing)
    assert issubclass(BatchNotFound, BadInput)  # what it was before: code catching BadInput still works
    assert issubclass(IndexAlreadyExists, Conflict)


def test_capacity_exceeded_stays_a_rate_limit() -> None:
    """3040 is a 429 refused before the work: retried, a reason to fall back, and caught by ``except
    RateLimited``; only the pacer tells it apart (see the class docstring)."""
    from workersai.fallback import FALLBACK_ERRORS
    from workersai.retry import is_retryable, is_unsent

    exc = error_for_code("Capacity temporarily exceeded", code=3040, status=429)
    assert isinstance(exc, CapacityExceeded) and isinstance(exc, RateLimited)
    assert is_retryable(exc) and is_unsent(exc) and isinstance(exc, FALLBACK_ERRORS)
    assert "pacer" in (CapacityExceeded.__doc__ or "")


def test_narrowed_keeps_a_not_found_that_names_what_is_missing() -> None:
    with pytest.raises(ModelNotFound), narrowed(NotFound, InstanceNotFound):
        raise ModelNotFound("no such model", status=400, code=5007)
    with pytest.raises(InstanceNotFound), narrowed(NotFound, InstanceNotFound):
        raise NotFound("HTTP 404", status=404)


def _model(client: WorkersAI) -> None:
    client.embed(["x"], model="@cf/baai/no-such-model")


def _index(client: WorkersAI) -> None:
    client.vectorize.get_index(f"missing-{uuid.uuid4().hex[:8]}")


def _instance(client: WorkersAI) -> None:
    client.ai_search.get_instance(f"missing-{uuid.uuid4().hex[:8]}")


def _batch(client: WorkersAI) -> None:
    asyncio.run(client.batch_job(EMBED, "no-such-request").astatus())


def _database(client: WorkersAI) -> None:
    client.d1.get_database(str(uuid.uuid4()))


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (_model, ModelNotFound),
        (_index, IndexNotFound),
        (_instance, InstanceNotFound),
        (_batch, BatchNotFound),
        (_database, DatabaseNotFound),
    ],
    ids=["model", "index", "ai-search-instance", "batch", "d1-database"],
)
def test_one_except_catches_every_missing_resource(client: WorkersAI, call, kind) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(NotFound) as caught:
        call(client)
    assert type(caught.value) is kind
