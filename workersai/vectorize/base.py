"""What every Vectorize operation shares: the request plumbing and the two runners.

:class:`VectorizeBase` sends one :class:`~..flows.Call` (``_do`` / ``_ado``), sends a write through its
index's :class:`~.consistency.MutationLog` (``_send`` / ``_asend``), and drives a flow to its end
(``_run`` / ``_arun``); the operations (:mod:`.indexes`, :mod:`.client`) only build calls and flows.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from ..flows import Call, Flow, Request, Sendable, arun, run
from ..paths import path
from ..transport import unwrap_envelope
from . import results, writes
from .batching import Batch, Wait
from .checks import check_index_name
from .consistency import Mutation, MutationLog, log_for
from .results import IndexInfo

if TYPE_CHECKING:
    from ..client import WorkersAI

T = TypeVar("T")


class VectorizeBase:
    """The parent client's account, pool and retries, and how operations run over them.

    ``poll_interval`` is how often a waited write asks the index how far it has applied mutations.
    """

    def __init__(self, client: WorkersAI, *, poll_interval: float = 0.05) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self._dimensions: dict[str, int] = {}
        self._indexed: dict[str, dict[str, str]] = {}  # metadata indexes by index, read on a filter miss

    # -- running --------------------------------------------------------------------------------
    def _url(self, relative: str) -> str:
        return self.client.account_url("vectorize/v2/indexes" + relative)

    def _log(self, name: str) -> MutationLog:
        return log_for(self._url(path("/{index}", index=name)))

    @staticmethod
    def _options(call: Call[Any]) -> dict[str, Any]:
        headers = {"Content-Type": call.content_type} if call.content_type else None
        return {
            "json": call.json,
            "content": call.content,
            "params": call.params,
            "headers": headers,
        }

    def _do(self, call: Call[T]) -> T:
        response = self.client.transport.request(call.method, self._url(call.path), **self._options(call))
        return call.parse(unwrap_envelope(response))

    async def _ado(self, call: Call[T]) -> T:
        response = await self.client.transport.arequest(
            call.method, self._url(call.path), **self._options(call)
        )
        return call.parse(unwrap_envelope(response))

    def _send(self, item: Sendable) -> Any:
        if isinstance(item, Mutation):
            return item.log.send(item, self._do)
        return self._do(item)

    async def _asend(self, item: Sendable) -> Any:
        if isinstance(item, Mutation):
            return await item.log.asend(item, self._ado)
        return await self._ado(item)

    def _run(self, flow: Flow[T], source: Iterable[Any] = ()) -> T:
        return run(flow, self._send, source=source, concurrency=self.client.max_concurrency)

    async def _arun(self, flow: Flow[T], source: Iterable[Any] | AsyncIterable[Any] = ()) -> T:
        return await arun(flow, self._asend, source=source, concurrency=self.client.max_concurrency)

    def _info(self, name: str) -> Call[IndexInfo]:
        check_index_name(name)
        return Call("GET", path("/{index}/info", index=name), results.model(IndexInfo))

    def _mutate(self, name: str, call: Call[str], wait: bool, timeout: float) -> Flow[str]:
        return writes.mutate(
            self._log(name),
            call,
            wait=wait,
            info=self._info(name),
            index=name,
            timeout=timeout,
            poll_interval=self.poll_interval,
        )

    def _batched(
        self, name: str, route: str, content_type: str, wait: Wait, timeout: float
    ) -> Flow[list[str]]:
        """The flow that posts each batch of its source to ``path``, waited on as ``wait`` says."""

        def call_for(batch: Batch) -> Call[str]:
            return Call(
                "POST",
                path("/{index}/" + route, index=name),
                results.mutation_id,
                content=batch.body,
                content_type=content_type,
            )

        return writes.write(
            self._log(name),
            call_for,
            wait=wait,
            concurrency=self.client.max_concurrency,
            info=self._info(name),
            index=name,
            timeout=timeout,
            poll_interval=self.poll_interval,
        )


def single(call: Call[T]) -> Flow[T]:
    """The flow of one request."""
    result: T = yield Request(call)
    return result
