"""AI Search RAG over a folder of Markdown files, in LangChain and in LlamaIndex.

The files under ``examples/data/ai_search`` are uploaded to a new AI Search instance, which chunks,
embeds and indexes them; LangChain's ``AISearchRetriever`` and ``AISearchChain`` and LlamaIndex's
``AISearchQueryEngine`` then answer questions from them, each answer with the files it came from.

Against the emulator the folder can also be indexed at start:
``workersai-local --ai-search handbook=examples/data/ai_search``.
"""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from langchain_workersai import AISearchChain, AISearchRetriever
from llamaindex_workersai import AISearchQueryEngine
from workersai import WorkersAI

FOLDER = Path(__file__).parent / "data" / "ai_search"


def upload_folder(client: WorkersAI, instance: str) -> None:
    for path in sorted(FOLDER.rglob("*.md")):
        key = path.relative_to(FOLDER).as_posix()
        item = client.ai_search.upload(instance, key, path.read_bytes())
        print(f"uploaded {key}: {item.status}, {item.chunks_count} chunks")


def main() -> None:
    with cloudflare_env(), WorkersAI() as client:
        instance = f"handbook-{uuid.uuid4().hex[:8]}"
        client.ai_search.create_instance(instance, chunk_size=96, chunk_overlap=10, score_threshold=0.3)
        try:
            upload_folder(client, instance)

            # LangChain: the chunks as Documents, then an answer with its sources.
            retriever = AISearchRetriever(instance=instance, client=client, max_num_results=3)
            docs = retriever.invoke("Which team do new engineers get a buddy from?")
            print("\n[LangChain retriever]")
            for doc in docs:
                print(f"  {doc.metadata['score']:.3f} {doc.metadata['filename']}: {doc.page_content[:60]!r}")
            assert (
                docs[0].metadata["filename"] == "handbook/onboarding.md" and "Kestrel" in docs[0].page_content
            )

            chain = AISearchChain(instance=instance, client=client)
            out = chain.invoke("How many days of paid leave do employees get?")
            print("\n[LangChain AISearchChain]")
            print("A:", out["answer"])
            print("sources:", [d.metadata["filename"] for d in out["sources"]])
            # Grounding, not wording: the answer's sources are the leave policy (a small local model
            # words its answer its own way).
            assert out["answer"].strip() and out["sources"][0].metadata["filename"] == "handbook/leave.md"

            # LlamaIndex: a query engine whose response carries its source nodes.
            engine = AISearchQueryEngine(instance, client=client, max_num_results=3)
            response = engine.query(
                "Within how many minutes must a severity-one incident get its first update?"
            )
            print("\n[LlamaIndex AISearchQueryEngine]")
            print("A:", response.response)
            print("sources:", [n.node.metadata["filename"] for n in response.source_nodes])
            assert str(response).strip()
            assert response.source_nodes[0].node.metadata["filename"] == "ops/incidents.md"
            assert "15 minutes" in response.source_nodes[0].node.get_content()

            stats = client.ai_search.stats(instance)
            print(f"\nindexed files: {stats.completed}")
        finally:
            client.ai_search.delete_instance(instance)


if __name__ == "__main__":
    main()
