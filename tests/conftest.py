"""Shared fixtures: one local emulator per test session (per xdist worker), over real HTTP on 127.0.0.1;
the suite's markers, given here by directory, module and fixture rather than test by test."""

from __future__ import annotations

import atexit
import contextlib
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import httpx
import pytest

from tests import figures
from tests.timing import HTTP_TIMEOUT_S
from tests.web_pages import Site
from workersai import IndexNotFound, RetryPolicy, WorkersAI
from workersai.local import LocalEmulator

# Emulators started by the tests generate text with the fast, deterministic extractive generator unless
# a test asks for the language model (LocalEmulator(generator="smollm2")); `make demo` and users get it
# by default.
os.environ.setdefault("WORKERSAI_LOCAL_GENERATOR", "extractive")

_shared: LocalEmulator | None = None


def shared_emulator() -> LocalEmulator:
    """The session's emulator, started on first use (also reachable from the LangChain standard
    suites' class properties, which cannot take fixtures)."""
    global _shared
    if _shared is None:
        _shared = LocalEmulator(data_dir=tempfile.mkdtemp(prefix="workersai-vectorize-")).start()
        atexit.register(_shared.stop)
    return _shared


@pytest.fixture(scope="session")
def emulator() -> LocalEmulator:
    return shared_emulator()


@pytest.fixture(autouse=True)
def _clean_emulator(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every test ends with no fault plan or scripted answer active and without the Vectorize indexes it
    created on the session's emulator, whether it passed, failed or forgot (only if the emulator is in
    use)."""
    if "emulator" not in request.fixturenames:
        yield
        return
    emulator: LocalEmulator = request.getfixturevalue("emulator")
    admin: WorkersAI = request.getfixturevalue("_admin")
    before = {i.name for i in admin.vectorize.list_indexes()}
    yield
    emulator.clear_faults()
    emulator.clear_scripts()
    for index in admin.vectorize.list_indexes():
        if index.name not in before:
            with contextlib.suppress(IndexNotFound):
                admin.vectorize.delete_index(index.name)


@pytest.fixture(autouse=True)
def _fresh_model_health() -> Iterator[None]:
    """Every test starts with a fresh process-wide model health record: a breaker opened by one test's
    capacity errors must not skip a model in the next."""
    from workersai.health import configure_health

    configure_health()
    yield
    configure_health()


@pytest.fixture(scope="session")
def _admin(emulator: LocalEmulator) -> Iterator[WorkersAI]:
    """One client for the housekeeping of every test (a client per test would build its pools anew)."""
    with emulator.client() as admin:
        yield admin


@dataclass
class Sleeps:
    """Records the waits of the retry loop instead of sleeping (no wall clock in tests)."""

    waits: list[float] = field(default_factory=list)

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)

    async def asleep(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def fast_retry(sleeps: Sleeps) -> RetryPolicy:
    return RetryPolicy(max_retries=3, sleep=sleeps, async_sleep=sleeps.asleep)


@dataclass
class RequestLog:
    """Counts the requests a client really sent."""

    requests: list[httpx.Request] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> None:
        self.requests.append(request)

    async def ahook(self, request: httpx.Request) -> None:
        self.requests.append(request)


@contextlib.contextmanager
def ai_search_instance(emulator: LocalEmulator, docs: dict[str, str]) -> Iterator[tuple[WorkersAI, str]]:
    """A client and a new AI Search instance holding ``docs`` (key -> text), deleted afterwards."""
    name = f"t-{uuid.uuid4().hex[:8]}"
    with emulator.client() as client:
        client.ai_search.create_instance(name)
        for key, text in docs.items():
            client.ai_search.upload(name, key, text)
        yield client, name
        client.ai_search.delete_instance(name)


@pytest.fixture
def local_llamaindex_settings() -> Iterator[None]:
    """LlamaIndex's global ``Settings`` kept local and put back after the test: its default tokenizer
    (tiktoken) downloads its vocabulary, and building an index sets the global node parser (with the
    tokenizer of the moment), which later tests would inherit."""
    from llama_index.core import Settings

    saved = Settings._tokenizer, Settings._node_parser, Settings._transformations
    Settings.tokenizer = str.split
    yield
    Settings._tokenizer, Settings._node_parser, Settings._transformations = saved


@pytest.fixture(scope="session")
def site() -> Iterator[Site]:
    """A small web site on 127.0.0.1 for the Browser Run tests, which need a real browser: skipped, with
    the reason, where the emulator has none (``make browser`` installs Debian's chromium when it may)."""
    from workersai.local.browser_engine import missing_browser

    reason = missing_browser()
    if reason:
        pytest.skip(f"no browser for Browser Run: {reason}")
    served = Site()
    yield served
    served.stop()


@pytest.fixture
def request_log() -> RequestLog:
    return RequestLog()


@pytest.fixture
def client(emulator: LocalEmulator, fast_retry: RetryPolicy) -> Iterator[WorkersAI]:
    with emulator.client(retry_policy=fast_retry) as c:
        yield c


@pytest.fixture
def logged_client(
    emulator: LocalEmulator, fast_retry: RetryPolicy, request_log: RequestLog
) -> Iterator[WorkersAI]:
    # httpx's own default timeout (5 s) is too short for 100 embeddings on a busy 2-core machine.
    http = httpx.Client(timeout=HTTP_TIMEOUT_S, event_hooks={"request": [request_log]})
    ahttp = httpx.AsyncClient(timeout=HTTP_TIMEOUT_S, event_hooks={"request": [request_log.ahook]})
    with emulator.client(retry_policy=fast_retry, http_client=http, async_http_client=ahttp) as c:
        yield c
    http.close()


# -- markers (registered with their meaning in pyproject.toml; `make test-fast` deselects some) ----------

_BY_DIRECTORY = {"pyodide": "pyodide", "contract": "contract"}
"""tests/<directory>/ -> its marker."""
_LM_FIXTURES = {"engine", "generator", "lm_cache", "lm"}
"""Fixtures that load the language model (tests/local/conftest.py, tests/local/test_generation_bounds.py)."""
_LM_TESTS = (
    "tests/test_language_model.py::",
    "tests/local/test_generation_bounds.py::test_sigterm_stops_the_emulator_during_a_long_generation",
    "tests/test_examples.py::test_example_runs[",  # every example, with the default generator
    "tests/test_examples.py::test_quickstart_",
)
"""Tests that start an emulator with generator="smollm2" (or the default generator) themselves."""
_BROWSER_FIXTURES = {"chromium", "site"}
"""Fixtures of the tests that drive a real browser: the dashboard's (``chromium``) and Browser Run's."""
_BROWSER_TESTS = ("tests/test_examples.py::test_example_runs[web_to_rag.py]",)
"""Tests that drive it without those fixtures."""
_SLOW_TESTS = (
    "tests/pyodide/test_pyodide.py::",
    "tests/test_examples.py::",
    "tests/test_install_path.py::",
)
"""Tests that start whole processes (an example, a fresh install, Node running Pyodide): seconds each on
an idle machine, whatever they check."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        parts = item.nodeid.split("/")
        if len(parts) > 2 and parts[1] in _BY_DIRECTORY:
            item.add_marker(_BY_DIRECTORY[parts[1]])
        if _LM_FIXTURES & set(getattr(item, "fixturenames", ())) or item.nodeid.startswith(_LM_TESTS):
            item.add_marker("lm")
        if item.nodeid.startswith(_SLOW_TESTS):
            item.add_marker("slow")
        drives_a_browser = _BROWSER_FIXTURES & set(getattr(item, "fixturenames", ()))
        if drives_a_browser or item.nodeid.startswith(_BROWSER_TESTS):
            item.add_marker("browser")
    items.sort(key=_longest_first)
    items[:] = _spread_for_workers(items, int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1")))


_LONGEST = (
    "tests/test_dist.py::",
    "tests/test_reliability.py::test_langchain_ingestion_through_20_percent_faults",
    "tests/test_reliability.py::test_llamaindex_ingestion_through_20_percent_faults",
)
"""The longest tests of all: fresh environments (8 to 16 s each with uv), and the drills that embed 10,000
texts with the session emulator's real encoder (about 30 CPU-seconds for the first; kept together, on one
worker, the others find the texts in the emulator's cache)."""


def _longest_first(item: pytest.Item) -> int:
    """The order tests start in: the longest first, then the other slow ones, then the rest (a stable
    sort: each module's tests stay together, in their order). Under `--dist worksteal` (`make pytest`)
    a worker that runs out of tests takes the rest of another's queue, which by then holds only short
    tests, so no worker is left alone with a minutes-long test at the end."""
    if item.nodeid.startswith(_LONGEST):
        return 0
    return 1 if item.get_closest_marker("slow") else 2


_COST_S = {
    "tests/test_reliability.py::test_langchain": 45,
    "tests/test_install_path.py::": 36,
    "tests/test_dist.py::": 12,
    "tests/test_examples.py::": 10,
    "tests/test_reliability.py::": 9,
    "tests/pyodide/": 2,
}
"""Rough seconds each (idle 2-core machine, 4 workers, 2026-12-07) of the long tests; others count 1."""


def _cost(item: pytest.Item) -> int:
    return next((s for prefix, s in _COST_S.items() if item.nodeid.startswith(prefix)), 1)


def _unit(item: pytest.Item, index: int) -> tuple[str, int]:
    """Long tests that share something stay together: a module (its session or module fixtures: the
    Pyodide harness, the drills' emulator cache), but the examples go three at a time (each runs alone,
    on its worker's language model) and the wheel's environments one at a time."""
    module = item.nodeid.split("::")[0]
    if module == "tests/test_examples.py":
        return module, index // 3
    if module == "tests/test_dist.py":
        return module, index
    return module, 0


def _spread_for_workers(items: list[pytest.Item], workers: int) -> list[pytest.Item]:
    """The order, cut for xdist's first hand-out: `--dist worksteal` gives the first worker the first
    quarter of the list (with 4 workers), the second the next, and later moves tests only from the end
    of a queue. Sorted longest first, every long test sat in the first worker's quarter and ran one after
    another there while the others ran out and stole its short tests: the last 1% of the run took 82 s
    of 4 min 41 s (2026-12-07). Here each worker's share starts with about the same seconds of long
    tests (whole units, longest first to the lightest share), then the short tests, in their order. The
    same list in every worker, as xdist requires."""
    if workers <= 1:
        return items
    units: dict[tuple[str, int], list[pytest.Item]] = {}
    short: list[pytest.Item] = []
    for index, item in enumerate(items):
        if _longest_first(item) == 2 or item.get_closest_marker("skip"):
            short.append(item)
        else:
            units.setdefault(_unit(item, index), []).append(item)
    lanes: list[list[pytest.Item]] = [[] for _ in range(workers)]
    seconds = [0] * workers
    for unit in sorted(units.values(), key=lambda u: -sum(map(_cost, u))):
        lane = seconds.index(min(seconds))
        lanes[lane] += unit
        seconds[lane] += sum(map(_cost, unit))
    # xdist's sizes: the first idle worker takes len // workers, the next len(rest) // (workers - 1), ...
    remaining, sizes = len(items), []
    for i in range(workers):
        sizes.append(remaining // (workers - i))
        remaining -= sizes[-1]
    out: list[pytest.Item] = []
    for lane, size in zip(lanes, sizes, strict=True):
        take = max(0, size - len(lane))
        out += lane + short[:take]
        del short[:take]
    return out + short  # a lane longer than its share pushes the rest to the end


# -- the reliability figures (tests/figures.py), added up across xdist workers --------------------------


def _injected() -> int | None:
    """The faults this process's shared emulator injected (None when it never started one)."""
    return None if _shared is None else int(_shared.clear_faults()["injected"])


def pytest_sessionfinish(session: pytest.Session) -> None:
    figures.finish_worker(session.config, _injected)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: object, error: object) -> None:
    figures.worker_done(node)


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print the figures the reliability tests recorded (quoted in the README)."""
    figures.summary(terminalreporter, _injected)
