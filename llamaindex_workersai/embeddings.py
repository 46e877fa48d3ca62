"""``WorkersAIEmbedding``: Workers AI embedding models for LlamaIndex."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from llama_index.core.base.embeddings.base import BaseEmbedding, Embedding
from llama_index.core.callbacks.schema import CBEventType, EventPayload
from llama_index.core.instrumentation.events.embedding import EmbeddingEndEvent, EmbeddingStartEvent
from llama_index_instrumentation import get_dispatcher
from pydantic import Field

from workersai import DEFAULT_EMBEDDING_MODEL
from workersai.settings import ClientSettings

dispatcher = get_dispatcher(__name__)


class WorkersAIEmbedding(ClientSettings, BaseEmbedding):
    """Cloudflare Workers AI embeddings (``@cf/baai/bge-base-en-v1.5`` by default, 768 dimensions).

    ``embed_batch_size`` (at most 100, the service's limit) is the number of texts a request; a batch
    of many texts is sent as several such requests at once.

    With ``batch_api=True`` text (document) embeddings go through Workers AI's asynchronous Batch API
    (queued, then polled every ``batch_poll_interval`` seconds for at most ``batch_timeout``): for
    bulk ingestion that needs no answer right away. Queries are always embedded directly.
    """

    model_name: str = Field(default=DEFAULT_EMBEDDING_MODEL)
    embed_batch_size: int = Field(default=100, gt=0, le=100)
    pooling: Literal["mean", "cls"] | None = None
    batch_api: bool = False
    batch_poll_interval: float = Field(default=1.0, ge=0)
    batch_timeout: float = Field(default=3600.0, ge=0)

    @classmethod
    def class_name(cls) -> str:
        return "WorkersAIEmbedding"

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model_name,
            "pooling": self.pooling,
            "batch_size": self.embed_batch_size,
            "gateway": self.gateway_options(),
        }

    def _batch_options(self) -> dict[str, Any]:
        """The Batch API's options (AI Gateway settings do not apply to queued batches)."""
        options = {k: v for k, v in self._options().items() if k != "gateway"}
        return {**options, "timeout": self.batch_timeout, "poll_interval": self.batch_poll_interval}

    def _embed(self, texts: list[str], *, query: bool = False) -> list[list[float]]:
        if self.batch_api and not query:
            return self.workers_ai.embed_batch(texts, **self._batch_options())
        return self.call_client({}).embed(texts, **self._options())

    async def _aembed(self, texts: list[str], *, query: bool = False) -> list[list[float]]:
        if self.batch_api and not query:
            return await self.workers_ai.aembed_batch(texts, **self._batch_options())
        return await self.call_client({}).aembed(texts, **self._options())

    def _get_query_embedding(self, query: str) -> Embedding:
        return self._embed([query], query=True)[0]

    async def _aget_query_embedding(self, query: str) -> Embedding:
        return (await self._aembed([query], query=True))[0]

    def _get_text_embedding(self, text: str) -> Embedding:
        return self._embed([text])[0]

    async def _aget_text_embedding(self, text: str) -> Embedding:
        return (await self._aembed([text]))[0]

    def _get_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return self._embed(texts)

    async def _aget_text_embeddings(self, texts: list[str]) -> list[Embedding]:
        return await self._aembed(texts)

    def _plain_batch(self, texts: list[str]) -> bool:
        """Whether a batch can skip the base class's one-request-at-a-time loop (no cache, no rate
        limiter configured)."""
        return bool(texts) and self.embeddings_cache is None and self.rate_limiter is None

    def _emit_events(self, texts: list[str], vectors: list[Embedding]) -> None:
        """The events LlamaIndex emits around each batch of ``embed_batch_size`` texts."""
        model_dict = self.to_payload()
        size = self.embed_batch_size
        for start in range(0, len(texts), size):
            chunk, embeddings = texts[start : start + size], vectors[start : start + size]
            dispatcher.event(EmbeddingStartEvent(model_dict=model_dict))
            with self.callback_manager.event(
                CBEventType.EMBEDDING, payload={EventPayload.SERIALIZED: model_dict}
            ) as event:
                event.on_end(payload={EventPayload.CHUNKS: chunk, EventPayload.EMBEDDINGS: embeddings})
            dispatcher.event(EmbeddingEndEvent(chunks=chunk, embeddings=embeddings))

    def _rounds(self, texts: list[str], show_progress: bool) -> Iterator[list[str]]:
        """``texts`` in rounds of as many texts as the client sends at once, under a tqdm bar when
        ``show_progress`` (one round, and no bar, otherwise)."""
        if not show_progress:
            yield texts
            return
        from tqdm.auto import tqdm

        step = self.embed_batch_size * self.workers_ai.max_concurrency
        with tqdm(total=len(texts), desc="Embedding with Workers AI", unit="text") as bar:
            for start in range(0, len(texts), step):
                yield texts[start : start + step]
                bar.update(len(texts[start : start + step]))

    def get_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """Embeddings of ``texts``: ``embed_batch_size`` texts a request, the requests sent
        concurrently (LlamaIndex's base class sends them one after another). Events are emitted per
        batch as usual; ``show_progress`` shows a tqdm bar."""
        if not self._plain_batch(texts):
            return super().get_text_embedding_batch(texts, show_progress=show_progress, **kwargs)
        vectors = [v for part in self._rounds(texts, show_progress) for v in self._embed(part)]
        self._emit_events(texts, vectors)
        return vectors

    async def aget_text_embedding_batch(
        self, texts: list[str], show_progress: bool = False, **kwargs: Any
    ) -> list[Embedding]:
        """Async twin of :meth:`get_text_embedding_batch`."""
        if not self._plain_batch(texts):
            return await super().aget_text_embedding_batch(texts, show_progress=show_progress, **kwargs)
        vectors = [v for part in self._rounds(texts, show_progress) for v in await self._aembed(part)]
        self._emit_events(texts, vectors)
        return vectors
