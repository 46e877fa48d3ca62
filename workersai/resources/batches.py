"""The Batch API (:mod:`workersai.batch`): queue requests, take up a queued job, embed in batches."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ResponseFormatError, WorkersAIError
from ..paths import path
from ..transport import unwrap_envelope
from ..validation import check_model
from .base import DEFAULT_EMBEDDING_MODEL, JSON_HEADERS, MAX_EMBEDDING_BATCH, Pooling
from .embeddings import Embeddings

if TYPE_CHECKING:  # imported where used: calling the Batch API, not with the package
    import httpx

    from ..batch import BatchJob, BatchResponse


class Batches(Embeddings):
    """The Batch API, sync and async; :meth:`embed_batch` embeds through it."""

    def _queue_request(
        self, model: str, requests: Sequence[Mapping[str, Any]]
    ) -> tuple[str, bytes, Mapping[str, str]]:
        """The URL, body and query of a Batch API submission."""
        from ..batch import QUEUE_PARAMS, submission_body

        check_model(model, use_catalog=False)
        return self.account_url(path("ai/run/{model}", model=model)), submission_body(requests), QUEUE_PARAMS

    def _queued(self, model: str, response: httpx.Response) -> BatchJob:
        """The job a submission's answer names."""
        from ..batch import BatchJob, read_queued

        return BatchJob(self._whole(), model, read_queued(unwrap_envelope(response))[0])

    def queue(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchJob:
        """Queue ``requests`` (each the model's input, optionally with an ``external_reference``) on the
        Batch API; the :class:`~workersai.batch.BatchJob` to wait for. At most 10 MB as sent.

        The submission is retried only when the service cannot have queued it (429s, connections
        never made): a lost answer after it was sent raises rather than risk queuing the batch twice."""
        url, body, params = self._queue_request(model, requests)
        response = self.transport.request(
            "POST", url, content=body, params=params, headers=JSON_HEADERS, retry="unsent"
        )
        return self._queued(model, response)

    async def aqueue(self, model: str, requests: Sequence[Mapping[str, Any]]) -> BatchJob:
        """Async twin of :meth:`queue`."""
        url, body, params = self._queue_request(model, requests)
        response = await self.transport.arequest(
            "POST", url, content=body, params=params, headers=JSON_HEADERS, retry="unsent"
        )
        return self._queued(model, response)

    def batch_job(self, model: str, request_id: str) -> BatchJob:
        """The job queued earlier as ``request_id`` (e.g. by another process); no request is made."""
        from ..batch import BatchJob

        check_model(model, use_catalog=False)
        return BatchJob(self._whole(), model, request_id)

    def _embed_batch_requests(
        self, texts: Sequence[str], model: str, pooling: Pooling | None, batch_size: int
    ) -> tuple[list[list[str]], list[list[dict[str, Any]]]]:
        """The texts in requests of ``batch_size`` (each referenced by its index), packed into batches
        under 10 MB."""
        from ..batch import pack

        chunks = self._embedding_batches(texts, model, batch_size)
        requests = [
            {**self._embed_inputs(c, pooling), "external_reference": str(i)} for i, c in enumerate(chunks)
        ]
        return chunks, pack(requests)

    def _batch_vectors(
        self, model: str, chunks: list[list[str]], responses: list[BatchResponse]
    ) -> list[list[float]]:
        from ..batch import results

        found = {r.external_reference: r for r in responses}
        out: list[list[float]] = []
        for i, chunk in enumerate(chunks):
            response = found.get(str(i))
            if response is None:
                raise ResponseFormatError(f"the batch has no response for request {i}")
            out.extend(self._vectors(model, chunk, results([response])[0]))
        return out

    def embed_batch(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> list[list[float]]:
        """Embed any number of texts through the Batch API: requests of 100 texts, as few batches as
        the 10 MB limit allows, polled until done; the vectors in input order.

        An error raised once a batch is queued names the queued batches (its ``queued_request_ids``
        and message): take them up with :meth:`batch_job` instead of queuing the texts again."""
        from ..batch import name_queued

        chunks, batches = self._embed_batch_requests(texts, model, pooling, batch_size)
        jobs: list[BatchJob] = []
        try:
            jobs.extend(self.queue(model, b) for b in batches)
            responses = [r for job in jobs for r in job.wait(timeout, poll_interval)]
            return self._batch_vectors(model, chunks, responses)
        except WorkersAIError as exc:
            name_queued(exc, model, [job.request_id for job in jobs])
            raise

    async def aembed_batch(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        timeout: float = 3600.0,
        poll_interval: float = 1.0,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed_batch` (the batches polled together: the first to fail stops
        the others' polling)."""
        from ..batch import await_all, name_queued

        chunks, batches = self._embed_batch_requests(texts, model, pooling, batch_size)
        jobs: list[BatchJob] = []
        try:
            for b in batches:
                jobs.append(await self.aqueue(model, b))
            waited = await await_all([job.await_(timeout, poll_interval) for job in jobs])
            return self._batch_vectors(model, chunks, [r for part in waited for r in part])
        except WorkersAIError as exc:
            name_queued(exc, model, [job.request_id for job in jobs])
            raise
