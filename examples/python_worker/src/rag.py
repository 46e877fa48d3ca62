"""The Worker's work, apart from its entry point so it can run anywhere a binding can be given: answer
a question from the documents in the bound Vectorize index, with the bound Workers AI models.

``env.AI`` and ``env.VECTORIZE`` are the bindings declared in wrangler.toml; the client runs on them (no
account id or API token), async only. tests/pyodide runs this function under Pyodide with emulated
bindings.
"""

from __future__ import annotations

from typing import Any

from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate

from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings
from workersai import WorkersAI

INDEX = "docs"  # the index bound as VECTORIZE in wrangler.toml
CHAT_MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
EMBEDDING_MODEL = "@cf/baai/bge-small-en-v1.5"

PROMPT = ChatPromptTemplate.from_messages(
    [("system", "Answer in one sentence from the context.\nContext: {context}"), ("human", "{question}")]
)


async def answer(env: Any, question: str, index: str = INDEX) -> dict[str, Any]:
    """The answer to ``question`` and the ids of the documents it was drawn from."""
    client = WorkersAI(binding=env.AI, vectorize_binding=env.VECTORIZE)
    store = VectorizeVectorStore(
        index, WorkersAIEmbeddings(model=EMBEDDING_MODEL, client=client), client=client
    )
    docs = await store.asimilarity_search(question, k=2)
    context = "\n".join(d.page_content for d in docs)
    chain = PROMPT | ChatWorkersAI(model=CHAT_MODEL, client=client) | StrOutputParser()
    text = await chain.ainvoke({"context": context, "question": question})
    return {"answer": text, "sources": [d.id for d in docs]}
