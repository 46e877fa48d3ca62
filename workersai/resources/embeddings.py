"""Embeddings (``embed``, ``embed_raw``: batched, sent ``max_concurrency`` at a time) and reranking."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar

from .. import jsonlib
from ..catalog import EMBEDDING_TASK
from ..gateway import GatewayOptions
from ..raw_vectors import RawVector, rows_from_body, rows_from_parsed, vectors_from_result
from ..rerank import DEFAULT_RERANK_MODEL, RerankRequest, RerankResult
from ..transport import unwrap_envelope
from ..usage import estimate_tokens, record_usage
from ..validation import check_model, check_texts
from .base import DEFAULT_EMBEDDING_MODEL, JSON_HEADERS, MAX_EMBEDDING_BATCH, ClientBase, Pooling

if TYPE_CHECKING:
    import httpx

V = TypeVar("V")


class Embeddings(ClientBase):
    """Embeddings and reranking, sync and async."""

    def _embedding_batches(self, texts: Sequence[str], model: str, batch_size: int) -> list[list[str]]:
        check_model(model, EMBEDDING_TASK, use_catalog=self.validate_models)
        items = check_texts(texts)
        size = max(1, min(batch_size, MAX_EMBEDDING_BATCH))
        return [items[i : i + size] for i in range(0, len(items), size)]

    @staticmethod
    def _embed_inputs(batch: list[str], pooling: Pooling | None) -> dict[str, Any]:
        inputs: dict[str, Any] = {"text": batch}
        if pooling is not None:
            inputs["pooling"] = pooling
        return inputs

    @staticmethod
    def _vectors(model: str, batch: list[str], result: Any) -> list[list[float]]:
        vectors = vectors_from_result(result, len(batch))
        record_usage(model, sum(estimate_tokens(t) for t in batch), estimated=True)
        return vectors

    @classmethod
    def _raw_vectors(cls, model: str, batch: list[str], response: httpx.Response) -> list[RawVector]:
        """The answer's rows as checked JSON bytes, when the fast path is sure of them; otherwise the
        answer is parsed whole and checked as the fast path checks (:mod:`.raw_vectors`)."""
        try:
            rows = rows_from_body(response.content, len(batch))
        except ValueError:
            result = unwrap_envelope(response)
            vectors = cls._vectors(model, batch, result)
            return rows_from_parsed(vectors, result.get("shape"))  # a mapping: _vectors checked it
        record_usage(model, sum(estimate_tokens(t) for t in batch), estimated=True)
        return rows

    def _embed_request(
        self,
        batch: list[str],
        model: str,
        pooling: Pooling | None,
        gateway: GatewayOptions | None,
        extra_body: Mapping[str, Any] | None,
        extra_headers: Mapping[str, str] | None,
        *,
        raw: bool = False,
    ) -> dict[str, Any]:
        """The request of one batch (the transport's keyword arguments), as :meth:`run` sends it. With
        ``raw`` (:meth:`embed_raw`) the body is serialized here, so the answer's bytes are all that is
        parsed."""
        inputs = self._embed_inputs(batch, pooling)
        request = self._run_request(model, inputs, gateway, extra_body, extra_headers)
        if raw:
            request["content"] = jsonlib.dumps(request.pop("json"))
            request["headers"] = {**JSON_HEADERS, **request["headers"]}
        return request

    def _gather(self, batches: list[list[str]], one: Callable[[list[str]], list[V]]) -> list[V]:
        """``one`` over every batch, ``max_concurrency`` at a time, in order."""
        if len(batches) == 1:
            return one(batches[0])
        with ThreadPoolExecutor(min(self.max_concurrency, len(batches))) as pool:
            futures = [pool.submit(contextvars.copy_context().run, one, b) for b in batches]
            return [vector for f in futures for vector in f.result()]

    async def _agather(
        self, batches: list[list[str]], one: Callable[[list[str]], Awaitable[list[V]]]
    ) -> list[V]:
        limit = asyncio.Semaphore(self.max_concurrency)

        async def limited(batch: list[str]) -> list[V]:
            async with limit:
                return await one(batch)

        results = await asyncio.gather(*(limited(b) for b in batches))
        return [vector for part in results for vector in part]

    def embed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[list[float]]:
        """Embed any number of texts, in requests of at most 100 sent ``max_concurrency`` at a time;
        the vectors come back in input order. ``extra_body`` and ``extra_headers`` go into every
        request, as for :meth:`run`."""

        def one(batch: list[str]) -> list[list[float]]:
            request = self._embed_request(batch, model, pooling, gateway, extra_body, extra_headers)
            return self._vectors(model, batch, unwrap_envelope(self.transport.request("POST", **request)))

        return self._gather(self._embedding_batches(texts, model, batch_size), one)

    async def aembed(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[list[float]]:
        """Async twin of :meth:`embed` (at most ``max_concurrency`` requests in flight)."""

        async def one(batch: list[str]) -> list[list[float]]:
            request = self._embed_request(batch, model, pooling, gateway, extra_body, extra_headers)
            response = await self.transport.arequest("POST", **request)
            return self._vectors(model, batch, unwrap_envelope(response))

        return await self._agather(self._embedding_batches(texts, model, batch_size), one)

    def embed_raw(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[RawVector]:
        """:meth:`embed` for vectors that are only written to Vectorize: each comes back as a view of
        its JSON array's bytes in the answer (:class:`~workersai.raw_vectors.RawVector`, checked:
        shape, numbers only), which the Vectorize writes splice into their NDJSON as it is; no float
        is parsed or printed again. The bulk adds of the stores use it."""

        def one(batch: list[str]) -> list[RawVector]:
            request = self._embed_request(batch, model, pooling, gateway, extra_body, extra_headers, raw=True)
            return self._raw_vectors(model, batch, self.transport.request("POST", **request))

        return self._gather(self._embedding_batches(texts, model, batch_size), one)

    async def aembed_raw(
        self,
        texts: Sequence[str],
        *,
        model: str = DEFAULT_EMBEDDING_MODEL,
        pooling: Pooling | None = None,
        batch_size: int = MAX_EMBEDDING_BATCH,
        gateway: GatewayOptions | None = None,
        extra_body: Mapping[str, Any] | None = None,
        extra_headers: Mapping[str, str] | None = None,
    ) -> list[RawVector]:
        """Async twin of :meth:`embed_raw`."""

        async def one(batch: list[str]) -> list[RawVector]:
            request = self._embed_request(batch, model, pooling, gateway, extra_body, extra_headers, raw=True)
            return self._raw_vectors(model, batch, await self.transport.arequest("POST", **request))

        return await self._agather(self._embedding_batches(texts, model, batch_size), one)

    # -- reranking ------------------------------------------------------------------------------
    # The request is checked and built, and its answer read, in :mod:`.rerank`; only the send differs.
    def rerank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        gateway: GatewayOptions | None = None,
    ) -> list[RerankResult]:
        """Score ``texts`` against ``query`` with a reranker (``@cf/baai/bge-reranker-base``) or
        bge-m3's scoring (``model="@cf/baai/bge-m3"``): results best first, each with the text's index
        in ``texts``, its score and the text; at most ``top_k``. Bad input raises ``BadInput`` before
        any request."""
        request = RerankRequest.build(
            query, texts, top_k=top_k, model=model, use_catalog=self.validate_models
        )
        return request.parse(self.run(model, request.payload, gateway=gateway))

    async def arerank(
        self,
        query: str,
        texts: Sequence[str],
        *,
        top_k: int | None = None,
        model: str = DEFAULT_RERANK_MODEL,
        gateway: GatewayOptions | None = None,
    ) -> list[RerankResult]:
        """Async twin of :meth:`rerank`."""
        request = RerankRequest.build(
            query, texts, top_k=top_k, model=model, use_catalog=self.validate_models
        )
        return request.parse(await self.arun(model, request.payload, gateway=gateway))
