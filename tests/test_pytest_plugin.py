"""The pytest plugin (workersai/local/pytest_plugin.py), run as a user's suite would run it (pytester):
its fixtures, the per-test reset, the fault markers, async tests under pytest-asyncio and anyio, and
one emulator per pytest-xdist worker."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import shutil
from pathlib import Path

import pytest

from tests.timing import HTTP_TIMEOUT_S
from workersai.local.install import cache_dir

pytest_plugins = ["pytester"]

PLUGIN = "workersai.local.pytest_plugin"
ROOT = Path(__file__).parent.parent
WEIGHTS_CACHE = cache_dir().parent
"""Where install-models unpacked the weights, read before pytester moves ``HOME``."""


@pytest.fixture(autouse=True)
def _weights(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(WEIGHTS_CACHE))


def plugin_args(*others: str) -> list[str]:
    """Run with only this plugin and ``others`` (every installed plugin costs each pytest process
    seconds of CPU): ``-p workersai``, the entry point's name, where the installed package registers
    it, else the module (an editable install made before the entry point existed; ``make install``
    redoes it). Needs ``PYTEST_DISABLE_PLUGIN_AUTOLOAD`` (the ``only_named_plugins`` fixture)."""
    registered = any(ep.name == "workersai" for ep in importlib.metadata.entry_points(group="pytest11"))
    plugins = ["workersai" if registered else PLUGIN, *others]
    return [arg for name in plugins for arg in ("-p", name)] + ["-p", "no:cacheprovider"]


@pytest.fixture
def only_named_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The runs below are subprocesses (in process, pytester would drop the modules they import first
    when it restores ``sys.modules``, and the suite's later tests would see second copies of their
    classes), loading only the plugins they name."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")


def test_the_entry_point_is_installed() -> None:
    """``pip install workersai[local]`` is enough: the installed package registers the plugin with
    pytest (``pytest11``); this fails in an environment installed before the entry point existed."""
    declared = '[project.entry-points.pytest11]\nworkersai = "workersai.local.pytest_plugin"'
    assert declared in (ROOT / "pyproject.toml").read_text()
    found = [ep for ep in importlib.metadata.entry_points(group="pytest11") if ep.name == "workersai"]
    assert found, "the workersai pytest11 entry point is not installed: run `make install` (pip install -e .)"
    assert found[0].load() is importlib.import_module(PLUGIN)


SUITE = """
import os

import httpx
import pytest

from workersai.local import tool_call

LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"


def test_env_client_script_and_requests(workersai_emulator, workersai_client):
    assert os.environ["CLOUDFLARE_API_BASE_URL"] == workersai_emulator.base_url
    assert os.environ["CLOUDFLARE_API_TOKEN"] == workersai_emulator.token
    workersai_emulator.script(LLAMA, tool_calls=[tool_call("get_weather", city="Lyon")], times=None)
    answer = workersai_client.chat("Weather?", model=LLAMA, max_tokens=8)
    assert answer.tool_calls[0].arguments == {"city": "Lyon"}
    assert [r["model"] for r in workersai_emulator.requests()] == [LLAMA]
    workersai_client.vectorize.create_index("left-behind", dimensions=3, metric="cosine")


def test_reset_between_tests(workersai_emulator, workersai_client):
    assert workersai_emulator.scripts() == [] and workersai_emulator.requests() == []
    assert [i.name for i in workersai_client.vectorize.list_indexes()] == []
    assert not workersai_client.chat("Hi", model=LLAMA, max_tokens=8).tool_calls


@pytest.mark.workersai_capacity_errors(LLAMA, times=2)
def test_capacity_marker(workersai_emulator, workersai_client, workersai_faults):
    assert workersai_client.chat("Hi", model=LLAMA, max_tokens=4).attempts == 3
    assert workersai_faults.clear() == 2


@pytest.mark.workersai_cut_stream(after=1)
@pytest.mark.workersai_latency(1)
def test_cut_stream_marker(workersai_client, workersai_faults):
    from workersai import StreamInterrupted

    assert workersai_faults.plan == {"cut_stream_after": 1, "latency_ms": 1}
    with pytest.raises(StreamInterrupted):
        list(workersai_client.stream_chat("Hi", model=LLAMA, max_tokens=8))


def test_faults_fixture(workersai_client, workersai_faults):
    from workersai import CapacityExceeded

    workersai_faults.capacity_errors(LLAMA)
    with pytest.raises(CapacityExceeded):
        workersai_client.with_options(max_retries=0).chat("Hi", model=LLAMA)
    assert workersai_client.chat("Hi", model="@cf/qwen/qwen3-30b-a3b-fp8", max_tokens=4).text


@pytest.mark.asyncio
async def test_asyncio(workersai_emulator, workersai_client):
    workersai_emulator.script(text="async")
    assert (await workersai_client.achat("Hi", model=LLAMA)).text == "async"


@pytest.mark.anyio
async def test_anyio(workersai_emulator):
    workersai_emulator.script(text="anyio")
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{workersai_emulator.base_url}/accounts/{workersai_emulator.account_id}/ai/run/{LLAMA}",
            headers={"Authorization": f"Bearer {workersai_emulator.token}"},
            json={"prompt": "Hi"},
        )
    assert response.json()["result"]["response"] == "anyio"


@pytest.fixture
def anyio_backend():
    return "asyncio"


@pytest.mark.workersai_capacity_errors(model=LLAMA, times="twice")
def test_bad_marker_arguments_fail_this_test_only(workersai_emulator):
    pass
"""


@pytest.mark.slow
@pytest.mark.usefixtures("only_named_plugins")
def test_fixtures_reset_markers_and_async(pytester: pytest.Pytester) -> None:
    """A user's suite: the fixtures, the reset between tests, the markers (a bad one fails its test
    with the emulator's message, not the session), async tests under pytest-asyncio and anyio."""
    pytester.makepyfile(test_user_suite=SUITE)
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    plugins = plugin_args("pytest_asyncio.plugin", "anyio.pytest_plugin")
    result = pytester.runpytest_subprocess(*plugins, timeout=HTTP_TIMEOUT_S * 4)
    result.assert_outcomes(passed=7, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*fail_next must be a whole number*",
            "workersai-local: emulator started in * s (once per session)",
        ]
    )


@pytest.mark.slow
@pytest.mark.usefixtures("only_named_plugins")
def test_one_emulator_per_xdist_worker(pytester: pytest.Pytester) -> None:
    """Two workers, two emulators (their ports differ), each test sees only its own requests."""
    pytester.makepyfile(
        """
        import json, os

        import pytest

        @pytest.mark.parametrize("n", range(4))
        def test_port(workersai_emulator, workersai_client, n):
            workersai_client.vectorize.list_indexes()
            assert len(workersai_emulator.requests()) == 1
            with open(f"port-{os.environ['PYTEST_XDIST_WORKER']}-{n}", "w") as f:
                json.dump(workersai_emulator.port, f)
        """
    )
    plugins = plugin_args("xdist.plugin")
    result = pytester.runpytest_subprocess(*plugins, "-n", "2", timeout=HTTP_TIMEOUT_S * 4)
    result.assert_outcomes(passed=4)
    result.stdout.fnmatch_lines(["workersai-local: 2 emulators (one per xdist worker) started in *"])
    ports: dict[str, set[int]] = {}
    for path in pytester.path.glob("port-*"):
        worker = path.name.split("-")[1]
        ports.setdefault(worker, set()).add(json.loads(path.read_text()))
    assert len(ports) == 2 and all(len(p) == 1 for p in ports.values())
    assert len(set.union(*ports.values())) == 2


@pytest.mark.slow
@pytest.mark.usefixtures("only_named_plugins")
def test_the_sample_project_passes(pytester: pytest.Pytester) -> None:
    """examples/testing, a user's project with its own conftest.py and tests (a LangChain RAG chain, a
    LangGraph agent, a LlamaIndex query engine, an ingestion job), passes with the plugin's fixtures
    only, loaded through the installed package's entry point."""
    shutil.copytree(ROOT / "examples" / "testing", pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_subprocess(*plugin_args("asyncio"), timeout=HTTP_TIMEOUT_S * 4)
    result.assert_outcomes(passed=7)
