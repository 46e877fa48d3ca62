"""``WorkersAIEmbeddings``: Workers AI embedding models for LangChain."""

from __future__ import annotations

from typing import Literal

from langchain_core.embeddings import Embeddings
from pydantic import ConfigDict, Field

from workersai import DEFAULT_EMBEDDING_MODEL
from workersai.settings import ClientSettings


class WorkersAIEmbeddings(ClientSettings, Embeddings):
    """Cloudflare Workers AI embeddings (``@cf/baai/bge-base-en-v1.5`` by default, 768 dimensions).

    Texts are sent 100 a request (the service's limit; lower it with ``batch_size``), several
    requests at once, and come back in order as plain Python floats.

    .. code-block:: python

        from langchain_workersai import WorkersAIEmbeddings

        embeddings = WorkersAIEmbeddings(model="@cf/baai/bge-small-en-v1.5")
        vectors = embeddings.embed_documents(["first", "second"])
    """

    model_config = ConfigDict(populate_by_name=True, arbitrary_types_allowed=True, protected_namespaces=())

    model: str = Field(default=DEFAULT_EMBEDDING_MODEL, alias="model_name")
    batch_size: int = Field(default=100, ge=1, le=100)
    pooling: Literal["mean", "cls"] | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return self.workers_ai.embed(
            texts, model=self.model, pooling=self.pooling, batch_size=self.batch_size
        )

    def embed_query(self, text: str) -> list[float]:
        return self.embed_documents([text])[0]

    async def aembed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        return await self.workers_ai.aembed(
            texts, model=self.model, pooling=self.pooling, batch_size=self.batch_size
        )

    async def aembed_query(self, text: str) -> list[float]:
        return (await self.aembed_documents([text]))[0]
