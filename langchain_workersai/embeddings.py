"""``WorkersAIEmbeddings``: Workers AI embedding models for LangChain."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field

from workersai import DEFAULT_EMBEDDING_MODEL
from workersai.settings import ClientSettings


class WorkersAIEmbeddings(ClientSettings, Embeddings):
    """Cloudflare Workers AI embeddings (``@cf/baai/bge-base-en-v1.5`` by default, 768 dimensions).

    Texts are sent 100 a request (the service's limit; lower it with ``batch_size``), several
    requests at once, and come back in order as plain Python floats.

    With ``batch_api=True`` documents are embedded through Workers AI's asynchronous Batch API
    (queued, then polled every ``batch_poll_interval`` seconds for at most ``batch_timeout``): for
    bulk loads that need no answer right away. Queries are always embedded directly.

    .. code-block:: python

        from langchain_workersai import WorkersAIEmbeddings

        embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5")
        vectors = embeddings.embed_documents(["first", "second"])
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    model: str = Field(default=DEFAULT_EMBEDDING_MODEL, alias="model_name")
    batch_size: int = Field(default=100, ge=1, le=100)
    pooling: Literal["mean", "cls"] | None = None
    batch_api: bool = False
    batch_poll_interval: float = Field(default=1.0, ge=0)
    batch_timeout: float = Field(default=3600.0, ge=0)

    def _options(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "pooling": self.pooling,
            "batch_size": self.batch_size,
            "gateway": self.gateway_options(),
        }

    def _batch_options(self) -> dict[str, Any]:
        """The Batch API's options (AI Gateway settings do not apply to queued batches)."""
        options = {k: v for k, v in self._options().items() if k != "gateway"}
        return {**options, "timeout": self.batch_timeout, "poll_interval": self.batch_poll_interval}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self.batch_api:
            return self.workers_ai.embed_batch(texts, **self._batch_options())
        return self.call_client({}).embed(texts, **self._options())

    def embed_query(self, text: str) -> list[float]:
        return self.call_client({}).embed([text], **self._options())[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        if self.batch_api:
            return await self.workers_ai.aembed_batch(texts, **self._batch_options())
        return await self.call_client({}).aembed(texts, **self._options())

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.call_client({}).aembed([text], **self._options()))[0]
