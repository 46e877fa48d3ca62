"""Creates whose answer was lost (issue #25, item 6, creates): the emulator serves the create, then drops
the connection (``reset-after``); the client's retry meets "already exists". The D1 database, AI Search
instance and Vectorize index are then read back and returned, not refused. A name taken at the first
attempt, or after a retry the service refused before doing anything (429), still raises.

The lost-answer tests fail on 9d8d072 (the retry's "already exists" was raised)."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from workersai import BadInput, Conflict, IndexAlreadyExists, NotFound, WorkersAI, WorkersAIError
from workersai.local import LocalEmulator


@dataclass(frozen=True)
class Resource:
    """How to create, count and remove one kind of resource, and how the service refuses a taken name."""

    create: Callable[[WorkersAI, str], Any]
    acreate: Callable[[WorkersAI, str], Any]
    named: Callable[[WorkersAI, str], int]
    remove: Callable[[WorkersAI, str], None]
    taken: type[WorkersAIError]
    key: Callable[[Any], str]


def _remove_database(client: WorkersAI, name: str) -> None:
    for db in client.d1.list_databases(name):
        client.d1.delete_database(db.uuid)


def _remove_instance(client: WorkersAI, name: str) -> None:
    with contextlib.suppress(NotFound):
        client.ai_search.delete_instance(name)


def _remove_index(client: WorkersAI, name: str) -> None:
    with contextlib.suppress(NotFound):
        client.vectorize.delete_index(name)


RESOURCES = {
    "d1": Resource(
        create=lambda c, n: c.d1.create_database(n),
        acreate=lambda c, n: c.d1.acreate_database(n),
        named=lambda c, n: len([d for d in c.d1.list_databases(n) if d.name == n]),
        remove=_remove_database,
        taken=BadInput,  # 7502, "A database with that name already exists"
        key=lambda r: r.name,
    ),
    "ai-search": Resource(
        create=lambda c, n: c.ai_search.create_instance(n),
        acreate=lambda c, n: c.ai_search.acreate_instance(n),
        named=lambda c, n: len([i for i in c.ai_search.list_instances() if i.id == n]),
        remove=_remove_instance,
        taken=Conflict,
        key=lambda r: r.id,
    ),
    "vectorize": Resource(
        create=lambda c, n: c.vectorize.create_index(n, dimensions=3, metric="cosine"),
        acreate=lambda c, n: c.vectorize.acreate_index(n, dimensions=3, metric="cosine"),
        named=lambda c, n: len([i for i in c.vectorize.list_indexes() if i.name == n]),
        remove=_remove_index,
        taken=IndexAlreadyExists,
        key=lambda r: r.name,
    ),
}


@contextlib.contextmanager
def resource_name(client: WorkersAI, resource: Resource) -> Iterator[str]:
    name = f"lost-{uuid.uuid4().hex[:10]}"
    try:
        yield name
    finally:
        resource.remove(client, name)


def _create(resource: Resource, client: WorkersAI, name: str, use_async: bool) -> Any:
    return asyncio.run(resource.acreate(client, name)) if use_async else resource.create(client, name)


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", list(RESOURCES))
def test_a_create_whose_answer_was_lost_returns_the_resource(
    emulator: LocalEmulator, client: WorkersAI, kind: str, use_async: bool
) -> None:
    resource = RESOURCES[kind]
    with resource_name(client, resource) as name:
        lost_before = emulator.set_faults(error="reset-after", fail_next=1, scope="all")["lost_answers"]
        created = _create(resource, client, name, use_async)
        assert emulator.clear_faults()["lost_answers"] == lost_before + 1  # the first answer was lost
        assert resource.key(created) == name
        assert resource.named(client, name) == 1


@pytest.mark.parametrize("use_async", [False, True], ids=["sync", "async"])
@pytest.mark.parametrize("kind", list(RESOURCES))
def test_a_name_taken_before_the_create_still_raises(
    emulator: LocalEmulator, client: WorkersAI, kind: str, use_async: bool
) -> None:
    """Taken at the first attempt, or at a retry after a 429 (refused before anything was done): the
    service's refusal is raised, whoever took the name."""
    resource = RESOURCES[kind]
    with resource_name(client, resource) as name:
        resource.create(client, name)
        with pytest.raises(resource.taken) as first:
            _create(resource, client, name, use_async)
        assert first.value.attempts == 1 and not first.value.after_lost_answer
        emulator.set_faults(error="3040", fail_next=1, scope="all")
        with pytest.raises(resource.taken) as after_429:
            _create(resource, client, name, use_async)
        emulator.clear_faults()
        assert after_429.value.attempts == 2 and not after_429.value.after_lost_answer
        assert resource.named(client, name) == 1
