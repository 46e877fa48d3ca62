"""Which earlier attempts make a create's "already exists" its own doing (``after_lost_answer``), with
scripted answers: a 502 page (no Cloudflare code) may have been served; a 429, or a 5xx that names the
taken-name code, is the service's answer and is not."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from workersai import BadInput

from .conftest import Wire, envelope, error

DB = {"uuid": str(uuid.UUID(int=3)), "name": "notes", "created_at": "2026-01-01T00:00:00Z"}
TAKEN = (400, 7502, "A database with that name already exists")


def scripted(*answers: httpx.Response) -> Wire:
    queue: Iterator[httpx.Response] = iter(answers)
    return Wire(answer=lambda request: next(queue))


def test_taken_after_a_502_page_reads_the_database_back() -> None:
    wire = scripted(httpx.Response(502, text="<html>Bad gateway</html>"), error(*TAKEN), envelope([DB]))
    with wire.client() as client:
        assert client.d1.create_database("notes").uuid == DB["uuid"]
    assert [r.method for r in wire.requests] == ["POST", "POST", "GET"]
    assert wire.requests[2].url.params["name"] == "notes"


@pytest.mark.parametrize(
    "first",
    [error(429, 3040, "Capacity temporarily exceeded"), error(500, 7502, "Internal error")],
    ids=["429", "500-with-code"],
)
def test_taken_after_an_answer_that_names_its_error_raises(first: httpx.Response) -> None:
    wire = scripted(first, error(*TAKEN))
    with wire.client() as client, pytest.raises(BadInput, match="already exists") as caught:
        client.d1.create_database("notes")
    assert not caught.value.after_lost_answer and caught.value.attempts == 2
    assert [r.method for r in wire.requests] == ["POST", "POST"]


def test_taken_after_a_lost_answer_with_another_database_of_that_name_missing_raises() -> None:
    """The listing does not hold exactly one database of that name: the refusal stands."""
    wire = scripted(httpx.Response(502, text="bad gateway"), error(*TAKEN), envelope([]))
    with wire.client() as client, pytest.raises(BadInput, match="already exists") as caught:
        client.d1.create_database("notes")
    assert caught.value.after_lost_answer
