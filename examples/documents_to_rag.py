"""Documents to RAG: a folder of PDF, HTML and DOCX files -> Markdown (Workers AI's toMarkdown) -> chunks
-> Vectorize -> an answer with its sources.

The files are made here (fpdf2 and python-docx: `pip install fpdf2 python-docx`) in a temporary folder;
point FOLDER at your own documents instead."""

from __future__ import annotations

import sys
import tempfile
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env
from langchain_core.documents import Document
from langchain_core.prompts import ChatPromptTemplate
from langchain_text_splitters import MarkdownTextSplitter

from langchain_workersai import (
    ChatWorkersAI,
    VectorizeVectorStore,
    WorkersAIEmbeddings,
    WorkersAIMarkdownLoader,
)

QUESTION = "How many times did Mount Etna erupt in 2021?"


def make_documents(folder: Path) -> list[Path]:
    """A PDF, an HTML page and a DOCX, each holding a few facts."""
    from docx import Document as Docx
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("Helvetica", size=12)
    pdf.multi_cell(0, 8, "Volcano report. Mount Etna erupted 12 times in 2021. Etna is on Sicily.")
    pdf.output(str(folder / "volcanoes.pdf"))
    (folder / "rivers.html").write_text(
        "<html><body><h1>Rivers of France</h1><p>The Seine flows through Paris.</p>"
        "<p>The Loire is the longest river in France.</p></body></html>"
    )
    doc = Docx()
    doc.add_heading("Tea guide", level=1)
    doc.add_paragraph("Green tea steeps for 2 minutes at 80 degrees.")
    doc.save(str(folder / "tea.docx"))
    return sorted(folder.iterdir())


def format_docs(docs: list[Document]) -> str:
    return "\n\n".join(f"[{d.metadata['name']}] {d.page_content}" for d in docs)


def main() -> None:
    with cloudflare_env(), tempfile.TemporaryDirectory() as tmp:
        files = make_documents(Path(tmp))
        docs = WorkersAIMarkdownLoader(files).load()
        for doc in docs:
            meta = doc.metadata
            print(f"converted {meta['name']} ({meta['mime_type']}): {meta['tokens']} tokens")
        chunks = MarkdownTextSplitter(chunk_size=300, chunk_overlap=0).split_documents(docs)
        print(f"split into {len(chunks)} chunks")
        store = VectorizeVectorStore.from_documents(
            chunks, WorkersAIEmbeddings(), index_name=f"docs-{uuid.uuid4().hex[:8]}"
        )
        try:
            sources = store.as_retriever(search_kwargs={"k": 2}).invoke(QUESTION)
            prompt = ChatPromptTemplate.from_messages(
                [("system", "Answer only from this context:\n{context}"), ("human", "{question}")]
            )
            chain = prompt | ChatWorkersAI(max_tokens=60)
            answer = chain.invoke({"context": format_docs(sources), "question": QUESTION}).content
            print(f"Q: {QUESTION}\nA: {str(answer).strip()}")
            print("sources:", [d.metadata["name"] for d in sources])
            # Grounding, not wording: the PDF's passage was retrieved first, and an answer came back.
            assert sources[0].metadata["name"] == "volcanoes.pdf" and str(answer).strip(), (answer, sources)
        finally:
            store.client.vectorize.delete_index(store.index_name)


if __name__ == "__main__":
    main()
