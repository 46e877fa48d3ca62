"""A Cloudflare Python Worker answering questions over its Vectorize index: ``GET /?q=...``.

Runs only in the Workers runtime (``workers`` is its module); the work itself is :func:`rag.answer`, which
tests/pyodide exercises under Pyodide with emulated bindings. Deploy with ``pywrangler deploy`` (see
README.md here).
"""

from urllib.parse import parse_qs, urlparse

from rag import answer
from workers import Response, WorkerEntrypoint


class Default(WorkerEntrypoint):
    async def fetch(self, request):
        question = parse_qs(urlparse(request.url).query).get("q", [""])[0].strip()
        if not question:
            return Response.json({"error": "ask with ?q=your question"}, status=400)
        return Response.json(await answer(self.env, question))
