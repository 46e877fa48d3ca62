"""A LangChain RAG chain: Vectorize retrieval, then a chat model answering from the context."""

from __future__ import annotations

from langchain_core.documents import Document
from langchain_core.output_parsers import StrOutputParser
from langchain_core.prompts import ChatPromptTemplate
from langchain_core.runnables import Runnable, RunnablePassthrough

from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings

MODEL = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
PROMPT = ChatPromptTemplate.from_messages(
    [("system", "Answer only from this context:\n{context}"), ("human", "{question}")]
)


def load(texts: list[str], index_name: str) -> VectorizeVectorStore:
    """The texts in a new Vectorize index (the CLOUDFLARE_* variables say where)."""
    return VectorizeVectorStore.from_texts(texts, WorkersAIEmbeddings(), index_name=index_name)


def rag_chain(store: VectorizeVectorStore) -> Runnable[str, str]:
    def context(docs: list[Document]) -> str:
        return "\n".join(d.page_content for d in docs)

    retriever = store.as_retriever(search_kwargs={"k": 2})
    return (
        {"context": retriever | context, "question": RunnablePassthrough()}
        | PROMPT
        | ChatWorkersAI(model=MODEL, max_tokens=80)
        | StrOutputParser()
    )
