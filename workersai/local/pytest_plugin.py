"""The pytest plugin: the local emulator in your own test suite, registered through the ``pytest11``
entry point (installing ``workersai[local]`` is enough; ``-p no:workersai`` turns it off).

Fixtures (all prefixed ``workersai_``, so they never clash with a suite's own):

- ``workersai_emulator``: the session's :class:`~workersai.local.LocalEmulator` (started on first use,
  on a free port, with a temporary data dir and its own token; one per ``pytest-xdist`` worker), with
  ``CLOUDFLARE_ACCOUNT_ID``, ``CLOUDFLARE_API_TOKEN`` and ``CLOUDFLARE_API_BASE_URL`` set for the test,
  and reset around it: no scripts, no faults, an empty request log, and the Vectorize indexes the test
  created deleted afterwards.
- ``workersai_client``: a :class:`~workersai.WorkersAI` client for it (short retry backoffs).
- ``workersai_faults``: :class:`Faults`, the usual faults in one call each (capacity errors on a model,
  latency, a cut stream).
- ``workersai_local``: the session's emulator without the per-test reset (for session fixtures).

Markers, applied when the test starts: ``@pytest.mark.workersai_capacity_errors(model=None,
times=None)``, ``@pytest.mark.workersai_latency(ms)``, ``@pytest.mark.workersai_cut_stream(after)``,
``@pytest.mark.workersai_faults(**plan)`` (any :class:`~workersai.local.faults.FaultPlan`).

Options (``--workersai-generator`` or the ini value ``workersai_generator``): the text generator,
``extractive`` by default (fast and deterministic; ``smollm2`` or ``auto`` for the small language
model); ``workersai_mutation_delay_ms``: how long a Vectorize write takes to apply (default 0 here).

Nothing is imported from the emulator until a fixture is used, so the plugin costs a suite that does
not use it nothing.
"""

from __future__ import annotations

import contextlib
import tempfile
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from workersai import WorkersAI
    from workersai.local import LocalEmulator

__all__ = ["Faults"]

MARKERS = {
    "workersai_capacity_errors": "workersai_capacity_errors(model=None, times=None): the emulator answers "
    "429/3040 (capacity) to that model (None: every model), `times` times (None: always)",
    "workersai_latency": "workersai_latency(ms): every emulator answer takes `ms` milliseconds longer",
    "workersai_cut_stream": "workersai_cut_stream(after): the emulator's streams drop after `after` frames",
    "workersai_faults": "workersai_faults(**plan): any fault plan (the fields of workersai.local.FaultPlan)",
}
FAULTS = pytest.StashKey["Faults"]()
STARTED_IN = pytest.StashKey[float]()
"""Seconds the session's emulator took to start (import and server), for the terminal summary."""


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("workersai", "workersai-local emulator (workersai_* fixtures)")
    group.addoption(
        "--workersai-generator",
        default=None,
        help="text generator of the emulator: extractive (default), smollm2 or auto",
    )
    parser.addini("workersai_generator", "text generator of the emulator", default="extractive")
    parser.addini("workersai_mutation_delay_ms", "milliseconds a Vectorize write takes to apply", default="0")


def pytest_configure(config: pytest.Config) -> None:
    for name, text in MARKERS.items():
        config.addinivalue_line("markers", f"{name}: {text}")


WORKERS_STARTED_IN = pytest.StashKey[list[float]]()
"""Under pytest-xdist, on the controller: the start-up seconds each worker's emulator took."""


def pytest_sessionfinish(session: pytest.Session) -> None:
    """An xdist worker sends its emulator's start-up time to the controller (``workeroutput``)."""
    started = session.config.stash.get(STARTED_IN, None)
    output = getattr(session.config, "workeroutput", None)
    if started is not None and output is not None:
        output["workersai_started_in"] = started


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    started = getattr(node, "workeroutput", {}).get("workersai_started_in")
    if started is not None:
        node.config.stash.setdefault(WORKERS_STARTED_IN, []).append(float(started))


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    started = config.stash.get(STARTED_IN, None)
    if started is not None:
        terminalreporter.write_line(
            f"workersai-local: emulator started in {started:.2f} s (once per session)"
        )
    kept: list[float] = config.stash.get(WORKERS_STARTED_IN, [])
    workers = sorted(kept)
    if workers:
        terminalreporter.write_line(
            f"workersai-local: {len(workers)} emulators (one per xdist worker) started in "
            f"{workers[0]:.2f} to {workers[-1]:.2f} s"
        )


class Faults:
    """The fault plan of the test's emulator, built up a call at a time (each call adds to the plan)."""

    def __init__(self, emulator: LocalEmulator) -> None:
        self._emulator = emulator
        self._plan: dict[str, Any] = {}

    @property
    def plan(self) -> dict[str, Any]:
        return dict(self._plan)

    def set(self, **plan: Any) -> None:
        """Add ``plan`` (fields of :class:`~workersai.local.faults.FaultPlan`) to the plan in force."""
        self._plan.update(plan)
        self._emulator.set_faults(**self._plan)

    def capacity_errors(self, model: str | None = None, times: int | None = None) -> None:
        """429, code 3040 ("Capacity temporarily exceeded") for ``model`` (None: every model), the next
        ``times`` requests (None: every request)."""
        plan: dict[str, Any] = {"error": "3040", "scope": "ai"}
        if times is None:
            plan.update(error_rate=1.0, fail_next=0)
        else:
            plan.update(fail_next=times, error_rate=0.0)
        plan["models"] = [model] if model is not None else None
        self.set(**plan)

    def latency(self, ms: float) -> None:
        """Every answer ``ms`` milliseconds later."""
        self.set(latency_ms=ms)

    def cut_stream(self, after: int) -> None:
        """Streams drop their connection after ``after`` frames."""
        self.set(cut_stream_after=after)

    def clear(self) -> int:
        """No faults; the number injected since the plan was set."""
        self._plan = {}
        return int(self._emulator.clear_faults()["injected"])


def _marker_faults(item: pytest.Item, faults: Faults) -> None:
    for marker in item.iter_markers("workersai_capacity_errors"):
        faults.capacity_errors(*marker.args, **marker.kwargs)
    for marker in item.iter_markers("workersai_latency"):
        faults.latency(*marker.args, **marker.kwargs)
    for marker in item.iter_markers("workersai_cut_stream"):
        faults.cut_stream(*marker.args, **marker.kwargs)
    for marker in item.iter_markers("workersai_faults"):
        faults.set(**marker.kwargs)


@pytest.fixture(scope="session")
def workersai_local(request: pytest.FixtureRequest) -> Iterator[LocalEmulator]:
    """The session's emulator (one per xdist worker), without the per-test reset."""
    config = request.config
    generator = config.getoption("--workersai-generator") or config.getini("workersai_generator")
    delay = float(config.getini("workersai_mutation_delay_ms"))
    started = time.perf_counter()
    from workersai.local import LocalEmulator

    with tempfile.TemporaryDirectory(prefix="workersai-local-") as data_dir:
        emulator = LocalEmulator(data_dir=data_dir, generator=generator, mutation_delay_ms=delay)
        with emulator:
            config.stash[STARTED_IN] = time.perf_counter() - started
            yield emulator


@pytest.fixture(scope="session")
def _workersai_admin(workersai_local: LocalEmulator) -> Iterator[WorkersAI]:
    """The client of the housekeeping between tests (one per session: a client builds its pools)."""
    with workersai_local.client(max_retries=0) as admin:
        yield admin


def _resources(admin: WorkersAI) -> set[tuple[str, str]]:
    """What a test can create and the next test should not see: Vectorize indexes, AI Search
    instances, D1 databases."""
    return (
        {("index", i.name) for i in admin.vectorize.list_indexes()}
        | {("ai_search", i.id) for i in admin.ai_search.list_instances()}
        | {("d1", d.uuid) for d in admin.d1.list_databases()}
    )


def _delete(admin: WorkersAI, kind: str, name: str) -> None:
    from workersai import WorkersAIError

    with contextlib.suppress(WorkersAIError):  # already gone
        if kind == "index":
            admin.vectorize.delete_index(name)
        elif kind == "ai_search":
            admin.ai_search.delete_instance(name)
        else:
            admin.d1.delete_database(name)


@pytest.fixture
def workersai_emulator(
    workersai_local: LocalEmulator,
    _workersai_admin: WorkersAI,
    monkeypatch: pytest.MonkeyPatch,
    request: pytest.FixtureRequest,
) -> Iterator[LocalEmulator]:
    """The session's emulator, reset for this test (no scripts, no faults, an empty request log; the
    indexes, AI Search instances and D1 databases the test created are deleted after it), with the
    ``CLOUDFLARE_*`` variables pointing at it and the test's fault markers applied."""
    emulator = workersai_local
    before = _resources(_workersai_admin)
    emulator.reset()
    for key, value in emulator.env().items():
        monkeypatch.setenv(key, value)
    faults = request.node.stash[FAULTS] = Faults(emulator)
    _marker_faults(request.node, faults)
    yield emulator
    emulator.reset()
    for kind, name in sorted(_resources(_workersai_admin) - before):
        _delete(_workersai_admin, kind, name)
    emulator.clear_requests()


@pytest.fixture
def workersai_faults(workersai_emulator: LocalEmulator, request: pytest.FixtureRequest) -> Faults:
    """The test's fault plan (:class:`Faults`, with its markers' faults); cleared after the test."""
    faults: Faults = request.node.stash[FAULTS]
    return faults


@pytest.fixture
def workersai_client(workersai_emulator: LocalEmulator) -> Iterator[WorkersAI]:
    """A client for the test's emulator, retrying with short backoffs (10 to 50 ms)."""
    from workersai import RetryPolicy

    policy = RetryPolicy(initial_backoff=0.01, max_backoff=0.05, jitter=0)
    with workersai_emulator.client(retry_policy=policy) as client:
        yield client
