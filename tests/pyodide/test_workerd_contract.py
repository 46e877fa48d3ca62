"""The emulated bindings against workerd's own: the same calls, sent to `env.AI` / `env.VECTORIZE` as
Cloudflare's binding code implements them (workerd's wrapped bindings of cloudflare-internal:ai-api and
:vectorize-api, from the pinned `workerd` npm package) with a translator in front of the emulator, to
the JS stand-ins used under Pyodide (bindings.mjs, in Node) and to the Python ones (pybindings.py),
answer the same values and throw the same errors. This keeps the stand-ins honest about what a binding
returns and throws.

Three indexes, one per side, receive the same writes; ids such as mutation ids differ and are compared
by shape.
"""

from __future__ import annotations

import asyncio
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

from tests.pyodide import pybindings
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


def _python_caller(emulator: LocalEmulator, index: str) -> Caller:
    """The Python stand-ins behind the same protocol: a stream's value is its text, what they raise is
    ``{name, message}`` as for a JS error."""
    env = {
        "AI": pybindings.Ai(emulator.base_url, emulator.account_id, emulator.token),
        "VECTORIZE": pybindings.VectorizeIndex(emulator.base_url, emulator.account_id, emulator.token, index),
    }

    async def acall(target: str, method: str, args: list[Any]) -> dict[str, Any]:
        try:
            value = await getattr(env[target], method)(*args)
        except (pybindings.InferenceUpstreamError, pybindings.Error) as exc:
            return {"thrown": {"name": type(exc).__name__, "message": str(exc)}}
        if hasattr(value, "__aiter__"):
            value = {"stream": b"".join([part async for part in value]).decode()}
        return {"value": value}

    return lambda target, method, args: asyncio.run(acall(target, method, args))


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
def sides(emulator: LocalEmulator, _admin: WorkersAI) -> Iterator[list[tuple[Caller, str]]]:
    """(caller, its index) of workerd's bindings, the JS stand-ins and the Python ones, in that order."""
    _setup()
    if not WORKERD.exists():
        pytest.skip("the workerd npm package has no binary for this platform")
    real, fake, py = (f"{side}-{uuid.uuid4().hex[:8]}" for side in ("wd", "js", "py"))
    for name in (real, fake, py):
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
        yield [
            (_caller(port), real),
            (_caller(int(line.split()[1])), fake),
            (_python_caller(emulator, py), py),
        ]
    finally:
        for proc in (workerd, node):
            proc.terminate()
            proc.wait(timeout=10)
        Path(f.name).unlink()
        for name in (real, fake, py):
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
def test_ai_run_answers_and_throws_as_workerds(sides: list[tuple[Caller, str]], args: list[Any]) -> None:
    want, *got = [call("AI", "run", args) for call, _ in sides]
    assert got == [want, want]


def test_ai_run_streams_as_workerds(sides: list[tuple[Caller, str]]) -> None:
    args = [CHAT, {"prompt": "Tell me about the Seine in Paris.", "stream": True}]
    answers = [call("AI", "run", args) for call, _ in sides]
    assert all(set(a) == {"value"} and set(a["value"]) == {"stream"} for a in answers), answers
    want, *got = [_text(a["value"]["stream"]) for a in answers]
    assert want != "" and got == [want, want]


def test_ai_run_queues_a_batch_with_the_queue_request_option_as_workerds(
    sides: list[tuple[Caller, str]],
) -> None:
    """``run(model, {requests}, {queueRequest: true})``: workerd's ai-api.ts sends the options beside
    the inputs; each side queues the batch (ids differ: compared by shape), then answers its polls."""
    texts = ["Paris is in France.", "The Seine"]
    queued = [
        call("AI", "run", [EMBED, {"requests": [{"text": texts}]}, {"queueRequest": True}])
        for call, _ in sides
    ]
    for answer in queued:
        assert set(answer) == {"value"} and answer["value"]["status"] == "queued", answer
        assert answer["value"]["model"] == EMBED and isinstance(answer["value"]["request_id"], str)
    done = []
    for (call, _), answer in zip(sides, queued, strict=True):
        poll = [EMBED, {"request_id": answer["value"]["request_id"]}, {"queueRequest": True}]
        for _ in range(600):
            status = call("AI", "run", poll)["value"]
            if "responses" in status:
                break
            time.sleep(0.05)
        done.append([r["result"]["data"] for r in status["responses"]])
    want, *got = done
    assert len(want[0]) == len(texts) and got == [want, want]


def test_vectorize_answers_and_throws_as_workerds(sides: list[tuple[Caller, str]], _admin: WorkersAI) -> None:
    def each(method: str, *args: Any) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        want, *got = [call("VECTORIZE", method, list(args)) for call, _ in sides]
        return want, got

    def written(method: str, *args: Any) -> None:
        answers = [call("VECTORIZE", method, list(args)) for call, _ in sides]
        for answer, (_, index) in zip(answers, sides, strict=True):
            assert set(answer) == {"value"} and set(answer["value"]) == {"mutationId"}, answer
            _admin.vectorize.wait_for_mutation(index, answer["value"]["mutationId"])

    vectors = [
        {"id": "a", "values": [1.0, 0.0, 0.0], "metadata": {"topic": "geo", "n": 1}},
        {"id": "b", "values": [0.0, 1.0, 0.0], "namespace": "ns", "metadata": {"topic": "bio"}},
    ]
    written("upsert", vectors)
    written("insert", [{"id": "c", "values": [0.6, 0.8, 0.0]}, {"id": "a", "values": [0.0, 0.0, 1.0]}])
    want, got = each("describe")
    for answer in [want, *got]:
        assert set(answer["value"]) == set(want["value"])
        assert [answer["value"][k] for k in ("dimensions", "vectorCount")] == [3, 3]
    for args in (
        ([1.0, 0.0, 0.0], {"topK": 3, "returnMetadata": "all", "returnValues": True}),
        ([1.0, 0.0, 0.0], {"topK": 3, "returnMetadata": True, "filter": {"topic": "geo"}}),
        ([0.0, 1.0, 0.0], {"topK": 2, "namespace": "ns"}),
        ([1.0, 0.0], {"topK": 1}),
        ([1.0, 0.0, 0.0], {"topK": 3, "filter": {"topic": {"$bad": 1}}}),
    ):
        want, got = each("query", *args)
        assert got == [want, want], args
    want, got = each("getByIds", ["a", "b", "zz"])
    assert got == [want, want] and [v["id"] for v in want["value"]] == ["a", "b"]
    written("deleteByIds", ["a"])
    want, got = each("getByIds", ["a", "c"])
    assert got == [want, want] and [v["id"] for v in want["value"]] == ["c"]
