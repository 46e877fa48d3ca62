"""A LlamaIndex RAG query engine over the bundled corpus, stored in Vectorize, answering as a stream."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env, corpus
from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex

from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding

QUESTION = "What happens when Workers AI is out of capacity?"


def main() -> None:
    # LlamaIndex's default tokenizer (tiktoken) downloads its vocabulary on first use; a local one
    # keeps this example offline.
    Settings.tokenizer = str.split
    with cloudflare_env():
        embed_model = WorkersAIEmbedding()
        store = VectorizeVectorStore(f"li-rag-{uuid.uuid4().hex[:8]}")
        store.create_index(dimensions=768)
        documents = [Document(text=line, id_=f"passage-{i}") for i, line in enumerate(corpus())]
        index = VectorStoreIndex.from_documents(
            documents,
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=embed_model,
        )
        engine = index.as_query_engine(llm=WorkersAI(max_tokens=80), similarity_top_k=2, streaming=True)
        response = engine.query(QUESTION)
        print(f"Q: {QUESTION}\nA: ", end="")
        answer = ""
        for piece in response.response_gen:  # type: ignore[union-attr]
            answer += piece
            print(piece, end="", flush=True)
        print("\nsources:", [n.node.ref_doc_id for n in response.source_nodes])
        # Grounding, not wording: an answer, from the passage on capacity errors (3040).
        assert answer.strip() and any("3040" in n.node.get_content() for n in response.source_nodes), answer
        store.client.vectorize.delete_index(store.index_name)


if __name__ == "__main__":
    main()
