"""Web page to RAG: render a page with Browser Run, keep its Markdown in Vectorize, answer from it.

A small intranet page is served on 127.0.0.1 (``http.server`` on a thread); Browser Run renders it in a
headless browser (the page's own script adds a section, so an HTML fetch would miss it) and answers its
Markdown, which is split by heading into Vectorize; a question is then answered from the closest
sections. Against the local emulator the browser is Debian's Chromium (``make browser``); against
Cloudflare (CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN set), whose browsers cannot reach your
127.0.0.1, the same page is sent as ``html=`` instead.
"""

from __future__ import annotations

import functools
import http.server
import sys
import tempfile
import threading
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env, is_local
from langchain_core.documents import Document

from langchain_workersai import BrowserRunLoader, ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings

PAGE = """<html><head><title>Travel policy</title></head><body>
<h1>Travel policy</h1>
<h2>Booking flights</h2><p>Book economy class through the travel desk at least two weeks ahead.</p>
<h2>Hotels</h2><p>Hotels up to 180 euros a night are approved without a manager's sign-off.</p>
<h2>Meals</h2><p>The daily meal allowance is 45 euros, receipts not needed.</p>
<script>
document.body.insertAdjacentHTML("beforeend",
  "<h2>Expense reports</h2><p>File your expense report within 30 days of returning, with every receipt.</p>");
</script>
</body></html>"""
QUESTION = "How many days do I have to file an expense report after a trip?"


def serve(html: str) -> tuple[http.server.ThreadingHTTPServer, str]:
    """The page on 127.0.0.1, on a thread: its server and URL."""
    root = tempfile.mkdtemp(prefix="web-to-rag-")
    Path(root, "travel.html").write_text(html)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/travel.html"


def sections(page: Document) -> list[Document]:
    """The page's Markdown split at its ``## `` headings, each part keeping the page's metadata."""
    parts = page.page_content.split("\n## ")
    return [
        Document(page_content=(part if i == 0 else "## " + part).strip(), metadata=dict(page.metadata))
        for i, part in enumerate(parts)
        if part.strip()
    ]


def main() -> None:
    server, url = serve(PAGE)
    try:
        with cloudflare_env():
            if is_local():
                [page] = BrowserRunLoader([url]).load()  # the emulator's browser loads the local page
            else:
                markdown = BrowserRunLoader([url]).client.browser.markdown(html=PAGE)
                page = Document(page_content=markdown, metadata={"source": url, "mode": "markdown"})
            chunks = sections(page)
            print(f"rendered {page.metadata['source']}: {len(page.page_content)} characters of Markdown")
            print(f"sections: {[c.page_content.splitlines()[0] for c in chunks]}")
            store = VectorizeVectorStore.from_documents(
                chunks, WorkersAIEmbeddings(), index_name=f"web-{uuid.uuid4().hex[:8]}"
            )
            try:
                found = store.similarity_search(QUESTION, k=2)
                context = "\n\n".join(d.page_content for d in found)
                messages = [
                    ("system", f"Answer only from this page:\n{context}"),
                    ("human", QUESTION),
                ]
                answer = ChatWorkersAI(max_tokens=60, temperature=0).invoke(messages).content
                print(f"Q: {QUESTION}\nA: {str(answer).strip()}")
                print("sources:", [d.page_content.splitlines()[0] for d in found])
                # Grounding, not wording: the section the page's script wrote was rendered and retrieved.
                assert any("within 30 days" in d.page_content for d in found), found
                assert str(answer).strip(), answer
            finally:
                store.client.vectorize.delete_index(store.index_name)
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
