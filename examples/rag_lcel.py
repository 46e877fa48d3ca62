"""RAG with LCEL: ingest a small bundled corpus into Vectorize, retrieve, answer with the context, and
stream the answer."""

from __future__ import annotations

import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env, corpus
from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import RunnablePassthrough

from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings

QUESTION = "How do Vectorize writes become visible?"


def format_docs(docs: list[Document]) -> str:
    return "\n".join(d.page_content for d in docs)


def main() -> None:
    with cloudflare_env():
        store = VectorizeVectorStore.from_texts(
            corpus(), WorkersAIEmbeddings(), index_name=f"rag-{uuid.uuid4().hex[:8]}"
        )
        print(f"ingested {len(corpus())} passages into {store.index_name}")
        retriever = store.as_retriever(search_kwargs={"k": 2})
        prompt = ChatPromptTemplate.from_messages(
            [("system", "Answer only from this context:\n{context}"), ("human", "{question}")]
        )
        chain = (
            {"context": retriever | format_docs, "question": RunnablePassthrough()}
            | prompt
            | ChatWorkersAI(max_tokens=80)
            | StrOutputParser()
        )
        print(f"Q: {QUESTION}\nA: ", end="")
        answer = ""
        for piece in chain.stream(QUESTION):
            answer += piece
            print(piece, end="", flush=True)
        print()
        sources = retriever.invoke(QUESTION)
        print("sources:", [d.page_content[:40] for d in sources])
        # Grounding, not wording: an answer, and the context held the passage on mutations.
        assert answer.strip() and any("mutation id" in d.page_content for d in sources), answer
        store.client.vectorize.delete_index(store.index_name)


if __name__ == "__main__":
    main()
