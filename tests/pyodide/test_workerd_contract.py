"""The emulated bindings (bindings.mjs, used under Pyodide) against workerd's own: the same calls, sent
to `env.AI` / `env.VECTORIZE` as Cloudflare's binding code implements them (workerd's wrapped bindings of
cloudflare-internal:ai-api and :vectorize-api, from the pinned `workerd` npm package) with a translator
in front of the emulator, and to the emulated bindings in Node, answer the same values and throw the
same errors. This keeps the stand-ins honest about what a binding returns and throws.

Two indexes, one per side, receive the same writes; ids such as mutation ids differ and are compared by
shape.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.pyodide.test_pyodide import HERE, NODE, _setup
from workersai import WorkersAI
from workersai.local import LocalEmulator

WORKERD = HERE / "node_modules" / ".bin" / "workerd"
CHAT = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EMBED = "@cf/baai/bge-small-en-v1.5"

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the contract test needs Node 20+"
)

Caller = Callable[[str, str, list[Any]], dict[str, Any]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _caller(port: int) -> Caller:
    def call(target: str, method: str, args: list[Any]) -> dict[str, Any]:
        answer = httpx.post(
            f"http://127.0.0.1:{port}/", json={"target": target, "method": method, "args": args}, timeout=60
        )
        answer.raise_for_status()
        out: dict[str, Any] = answer.json()
        return out

    return call


def _wait_listening(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


@pytest.fixture(scope="module")
def sides(emulator: LocalEmulator, _admin: WorkersAI) -> Iterator[tuple[Caller, Caller, str, str]]:
    """(workerd's bindings, the emulated ones, their index names)."""
    _setup()
    if not WORKERD.exists():
        pytest.skip("the workerd npm package has no binary for this platform")
    real, fake = f"wd-{uuid.uuid4().hex[:8]}", f"fk-{uuid.uuid4().hex[:8]}"
    for name in (real, fake):
        _admin.vectorize.create_index(name, dimensions=3, metric="cosine")
        _admin.vectorize.create_metadata_index(name, "topic", "string", wait=True)
    port = _free_port()
    config = (HERE / "workerd" / "config.capnp").read_text()
    for key, value in {
        "EMULATOR_PORT": str(emulator.port),
        "PORT": str(port),
        "BASE_URL": emulator.base_url,
        "ACCOUNT_ID": emulator.account_id,
        "TOKEN": emulator.token,
        "INDEX": real,
    }.items():
        config = config.replace(f"@{key}@", value)
    with tempfile.NamedTemporaryFile("w", suffix=".capnp", dir=HERE / "workerd", delete=False) as f:
        f.write(config)
    workerd = subprocess.Popen(
        [str(WORKERD), "serve", f.name], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    env = {**os.environ, **emulator.env(), "WORKERSAI_CONTRACT_INDEX": fake}
    node = subprocess.Popen(
        [str(NODE), "contract.mjs"],
        cwd=HERE,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert node.stdout is not None
        line = node.stdout.readline()
        assert line.startswith("PORT "), line + node.communicate()[0]
        _wait_listening(port, workerd)
        yield _caller(port), _caller(int(line.split()[1])), real, fake
    finally:
        for proc in (workerd, node):
            proc.terminate()
            proc.wait(timeout=10)
        Path(f.name).unlink()
        for name in (real, fake):
            _admin.vectorize.delete_index(name)


def _text(stream: str) -> str:
    """The answer text of an SSE body (frames carry random padding: compared by text)."""
    out = []
    for line in stream.splitlines():
        data = line.removeprefix("data:").strip()
        if line.startswith("data:") and data != "[DONE]":
            out.append(json.loads(data).get("response", ""))
    return "".join(out)


AI_CALLS = [
    [EMBED, {"text": ["Paris is in France.", "The Seine"]}],
    [CHAT, {"messages": [{"role": "user", "content": "Context: Paris is the capital of France. Capital?"}]}],
    ["@cf/nobody/no-such-model", {"prompt": "hi"}],
    [EMBED, {"text": []}],
    [CHAT, {"prompt": 3}],
]


@pytest.mark.parametrize("args", AI_CALLS, ids=["embed", "chat", "unknown-model", "empty-text", "bad-prompt"])
def test_ai_run_answers_and_throws_as_workerds(
    sides: tuple[Caller, Caller, str, str], args: list[Any]
) -> None:
    real, fake, _, _ = sides
    assert fake("AI", "run", args) == real("AI", "run", args)


def test_ai_run_streams_as_workerds(sides: tuple[Caller, Caller, str, str]) -> None:
    real, fake, _, _ = sides
    args = [CHAT, {"prompt": "Tell me about the Seine in Paris.", "stream": True}]
    got, want = fake("AI", "run", args), real("AI", "run", args)
    assert set(got["value"]) == set(want["value"]) == {"stream"}
    assert _text(got["value"]["stream"]) == _text(want["value"]["stream"]) != ""


def test_vectorize_answers_and_throws_as_workerds(
    sides: tuple[Caller, Caller, str, str], _admin: WorkersAI
) -> None:
    real, fake, real_index, fake_index = sides

    def both(method: str, *args: Any) -> tuple[dict[str, Any], dict[str, Any]]:
        return real("VECTORIZE", method, list(args)), fake("VECTORIZE", method, list(args))

    def written(method: str, *args: Any) -> None:
        want, got = both(method, *args)
        assert set(want) == set(got) == {"value"} and set(want["value"]) == set(got["value"]) == {
            "mutationId"
        }
        _admin.vectorize.wait_for_mutation(real_index, want["value"]["mutationId"])
        _admin.vectorize.wait_for_mutation(fake_index, got["value"]["mutationId"])

    vectors = [
        {"id": "a", "values": [1.0, 0.0, 0.0], "metadata": {"topic": "geo", "n": 1}},
        {"id": "b", "values": [0.0, 1.0, 0.0], "namespace": "ns", "metadata": {"topic": "bio"}},
    ]
    written("upsert", vectors)
    written("insert", [{"id": "c", "values": [0.6, 0.8, 0.0]}, {"id": "a", "values": [0.0, 0.0, 1.0]}])
    want, got = both("describe")
    assert set(want["value"]) == set(got["value"])
    for key in ("dimensions", "vectorCount"):
        assert want["value"][key] == got["value"][key]
    for args in (
        ([1.0, 0.0, 0.0], {"topK": 3, "returnMetadata": "all", "returnValues": True}),
        ([1.0, 0.0, 0.0], {"topK": 3, "returnMetadata": True, "filter": {"topic": "geo"}}),
        ([0.0, 1.0, 0.0], {"topK": 2, "namespace": "ns"}),
        ([1.0, 0.0], {"topK": 1}),
        ([1.0, 0.0, 0.0], {"topK": 3, "filter": {"topic": {"$bad": 1}}}),
    ):
        want, got = both("query", *args)
        assert got == want, args
    assert both("getByIds", ["a", "b", "zz"])[0] == both("getByIds", ["a", "b", "zz"])[1]
    written("deleteByIds", ["a"])
    want, got = both("getByIds", ["a", "c"])
    assert got == want and [v["id"] for v in got["value"]] == ["c"]
