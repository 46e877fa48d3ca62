"""The Vectorize flows without HTTP: fed answers by hand, or run by the real runners over a fake send."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

import pytest

from workersai import MutationTimeout
from workersai.flows import Call, Collect, Pull, Request, Sleep, Start, arun, iterate, run
from workersai.vectorize import reads, writes
from workersai.vectorize.batching import Batch
from workersai.vectorize.consistency import Mutation, MutationLog, Written, confirm
from workersai.vectorize.results import IndexInfo

INFO: Call[Any] = Call("GET", "/i/info", lambda r: r)


def info(processed: str | None) -> IndexInfo:
    return IndexInfo(dimensions=3, vectorCount=0, processedUpToMutation=processed)


def batch(*ids: str) -> Batch:
    return Batch(b"", list(ids), 3)


def write_flow(log: MutationLog, wait: Any, concurrency: int = 4) -> Any:
    return writes.write(
        log,
        lambda b: Call("POST", "/i/upsert", str, content=",".join(b.ids).encode()),
        wait=wait,
        concurrency=concurrency,
        info=INFO,
        index="i",
        timeout=5,
        poll_interval=0.01,
    )


def test_a_batch_repeating_an_id_in_flight_waits_for_it() -> None:
    flow = write_flow(MutationLog(), wait=False)
    assert isinstance(next(flow), Pull)
    assert isinstance(flow.send(batch("x", "y")), Start)
    assert isinstance(flow.send(0), Pull)  # ticket 0 in flight
    # "x" again: the flow collects the batch that holds it before starting this one.
    assert isinstance(flow.send(batch("z", "x")), Collect)
    assert isinstance(flow.send((0, Written("m0", 1, 2))), Start)
    assert isinstance(flow.send(1), Pull)
    assert isinstance(flow.send(None), Collect)
    with pytest.raises(StopIteration) as end:
        flow.send((1, Written("m1", 3, 4)))
    assert end.value.value == ["m0", "m1"]


def test_a_waited_write_ends_with_a_fence_after_every_other_batch() -> None:
    log = MutationLog()
    flow = write_flow(log, wait=True)
    next(flow)
    assert isinstance(flow.send(batch("a")), Pull)  # looks ahead: is this the last batch?
    assert isinstance(flow.send(batch("b")), Start)  # not last: sent concurrently
    assert isinstance(flow.send(0), Pull)
    op = flow.send(None)  # "b" is the last: first collect what is in flight
    assert isinstance(op, Collect)
    first = Written("m0", 1, 2)
    op = flow.send((0, first))
    assert isinstance(op, Request) and isinstance(op.call, Mutation) and op.call.fence
    fence = Written("m1", 3, 4)
    log._written = {"m0": first, "m1": fence}
    assert isinstance(flow.send(fence), Request)  # info
    assert isinstance(flow.send(info("someone-else")), Sleep)  # not ours: cannot decide yet
    assert isinstance(flow.send(None), Request)
    with pytest.raises(StopIteration) as end:
        flow.send(info("m1"))
    assert end.value.value == ["m0", "m1"]


def test_confirm_uses_the_order_of_this_process_writes() -> None:
    log = MutationLog()
    early, late = Written("early", 1, 2), Written("late", 3, 4)  # late was sent after early's answer
    log._written = {"early": early, "late": late}
    flow = confirm(log, INFO, [early], index="i", timeout=5, poll_interval=0.01)
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(info("late"))


def test_confirm_cannot_order_overlapping_writes() -> None:
    log = MutationLog()
    a, b = Written("a", 1, 4), Written("b", 2, 3)  # b was sent before a's answer came back
    log._written = {"a": a, "b": b}
    flow = confirm(log, INFO, [a], index="i", timeout=5, poll_interval=0.01)
    next(flow)
    assert isinstance(flow.send(info("b")), Sleep)


def test_confirm_times_out_with_the_mutation_named() -> None:
    flow = confirm(MutationLog(), INFO, [Written("mine")], index="i", timeout=0, poll_interval=0.01)
    next(flow)
    with pytest.raises(MutationTimeout, match="mine"):
        flow.send(info("other"))


def test_get_by_ids_keeps_order_across_parallel_parts() -> None:
    ids = [f"v{i}" for i in range(45)]
    flow = reads.get_by_ids(ids, lambda part: Call("POST", "/g", lambda r: r, json=part), concurrency=2)

    def send(call: Call[Any]) -> Any:
        time.sleep(0.01 if call.json[0] == "v0" else 0)  # the first part answers last
        return [{"id": i} for i in call.json]

    assert [v["id"] for v in run(flow, send, concurrency=2)] == ids  # type: ignore[index]


def test_list_ids_emits_every_page() -> None:
    pages = {None: {"ids": ["a", "b"], "next_cursor": "c1"}, "c1": {"ids": ["c"], "next_cursor": None}}
    flow = reads.list_ids(lambda cursor: Call("GET", "/l", lambda r: r, params={"cursor": cursor}))
    from workersai.vectorize.results import IdPage

    def send(call: Call[Any]) -> Any:
        return IdPage(**pages[call.params["cursor"] if call.params else None])  # type: ignore[index]

    assert list(iterate(flow, send)) == ["a", "b", "c"]


def test_an_error_is_thrown_into_the_flow_and_running_requests_finish() -> None:
    started: list[str] = []

    def flow() -> Any:
        yield Start(Call("GET", "/slow", str))
        yield Start(Call("GET", "/fail", str))
        yield Collect()
        yield Collect()

    def send(call: Call[Any]) -> Any:
        started.append(call.path)
        if call.path == "/fail":
            raise ValueError("boom")
        time.sleep(0.05)
        return "ok"

    with pytest.raises(ValueError, match="boom"):
        run(flow(), send, concurrency=2)
    assert sorted(started) == ["/fail", "/slow"]


async def test_the_async_runner_drives_the_same_flow() -> None:
    ids = [f"v{i}" for i in range(45)]
    flow = reads.get_by_ids(ids, lambda part: Call("POST", "/g", lambda r: r, json=part), concurrency=3)

    async def send(call: Call[Any]) -> Any:
        await asyncio.sleep(0.01 if call.json[0] == "v0" else 0)
        return [{"id": i} for i in call.json]

    assert [v["id"] for v in await arun(flow, send, concurrency=3)] == ids  # type: ignore[index]


def test_a_fence_is_sent_alone() -> None:
    """Plain writes overlap each other but never a fence: each is answered before a fence is sent or
    sent after the fence's answer."""
    log = MutationLog()
    spans: dict[str, tuple[float, float]] = {}

    def do(name: str) -> Any:
        def call(_: Any) -> str:
            start = time.monotonic()
            time.sleep(0.02)
            spans[name] = (start, time.monotonic())
            return name

        return call

    def send(name: str, fence: bool) -> None:
        log.send(Mutation(None, log, fence=fence), do(name))

    threads = [threading.Thread(target=send, args=(f"p{i}", False)) for i in range(6)]
    threads += [threading.Thread(target=send, args=(f"f{i}", True)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for fence, (fs, fe) in spans.items():
        if fence.startswith("f"):
            for other, (s, e) in spans.items():
                if other != fence:
                    assert e <= fs or s >= fe, (fence, other)
    stamps = {w.mutation_id: w for w in log._written.values()}
    assert len(stamps) == 9


def test_settle_fences_again_when_a_foreign_write_lands_after_its_fence() -> None:
    """A killed client's last upload can be accepted just after the fence: info then names that
    mutation, never the fence, and settle sends a new fence once info has stayed on it."""
    log = MutationLog()
    fences = iter(["f1", "f2"])

    def fence() -> Call[str]:
        return Call("POST", "/i/delete_by_ids", str, content=next(fences).encode())

    flow = writes.settle(log, fence, INFO, index="i", timeout=5, poll_interval=0.01, quiet=0.0)
    first = next(flow)
    assert isinstance(first, Request) and isinstance(first.call, Mutation) and first.call.fence
    assert first.call.call.content == b"f1"
    assert flow.send(Written("f1", 1, 2)) == Request(INFO)
    assert isinstance(flow.send(info("foreign")), Sleep)  # a new mutation named: wait and see
    again = flow.send(None)
    assert again == Request(INFO)
    second = flow.send(info("foreign"))  # unchanged for `quiet`: fence again
    assert isinstance(second, Request) and isinstance(second.call, Mutation)
    assert second.call.call.content == b"f2"
    assert flow.send(Written("f2", 3, 4)) == Request(INFO)
    with pytest.raises(StopIteration):
        flow.send(info("f2"))


def test_settle_times_out_when_nothing_is_applied() -> None:
    flow = writes.settle(
        MutationLog(),
        lambda: Call("POST", "/i/delete_by_ids", str),
        INFO,
        index="i",
        timeout=0.0,
        poll_interval=0.01,
    )
    next(flow)
    flow.send(Written("f1", 1, 2))
    with pytest.raises(MutationTimeout, match="not all applied"):
        flow.send(info("older"))
