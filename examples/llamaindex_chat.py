"""A LlamaIndex chat engine over the bundled corpus: follow-up questions use the conversation."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env, corpus
from llama_index.core import Document, Settings, StorageContext, VectorStoreIndex

from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding


def main() -> None:
    Settings.tokenizer = str.split  # keep LlamaIndex offline (its default tokenizer downloads)
    with cloudflare_env():
        store = VectorizeVectorStore(f"li-chat-{uuid.uuid4().hex[:8]}")
        store.create_index(dimensions=768)
        index = VectorStoreIndex.from_documents(
            [Document(text=line) for line in corpus()],
            storage_context=StorageContext.from_defaults(vector_store=store),
            embed_model=WorkersAIEmbedding(),
        )
        chat = index.as_chat_engine(chat_mode="context", llm=WorkersAI(max_tokens=60), similarity_top_k=2)
        first = chat.chat("How does Workers AI bill?")
        print("user: How does Workers AI bill?\nassistant:", first)
        print("user: And how many are free each day?\nassistant: ", end="")
        streamed = chat.stream_chat("And how many neurons are free each day?")
        text = "".join(streamed.response_gen)
        print(text)
        print("sources:", [n.node.get_content()[:40] for n in streamed.source_nodes])
        # Grounding, not wording: both turns answered, the follow-up retrieved the passage on free neurons.
        assert str(first).strip() and text.strip(), (str(first), text)
        assert any("10,000 free neurons" in n.node.get_content() for n in streamed.source_nodes)
        assert len(chat.chat_history) == 4
        store.client.vectorize.delete_index(store.index_name)


if __name__ == "__main__":
    main()
