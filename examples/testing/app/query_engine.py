"""A LlamaIndex query engine over Vectorize."""

from __future__ import annotations

from typing import Any

from llama_index.core import Document, StorageContext, VectorStoreIndex

from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding

MODEL = "@cf/meta/llama-3.1-8b-instruct-fast"


def query_engine(texts: list[str], index_name: str) -> Any:
    store = VectorizeVectorStore(index_name)
    store.create_index(dimensions=768)  # WorkersAIEmbedding's default model: bge-base-en-v1.5
    index = VectorStoreIndex.from_documents(
        [Document(text=t, id_=f"passage-{i}") for i, t in enumerate(texts)],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=WorkersAIEmbedding(),
    )
    return index.as_query_engine(llm=WorkersAI(model=MODEL, max_tokens=80), similarity_top_k=2)
