"""Python stand-ins for a Worker's `env.AI` and Vectorize bindings, forwarding to the emulator over
HTTP: bindings.mjs in Python, for the binding path in plain CPython (where LlamaIndex runs: it cannot
load under Pyodide here, see test_cpython_bindings.py). They answer and throw as workerd's bindings do;
test_workerd_contract.py holds them to workerd's own, call for call.

What they throw is named as the JS errors (``InferenceUpstreamError``, ``Error``), which is how
:func:`workersai.jsbridge.thrown` recognises a binding's error outside Pyodide.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx


class InferenceUpstreamError(Exception):
    """What ``env.AI.run`` throws (workerd ai-api.ts)."""


class Error(Exception):
    """What a Vectorize binding throws (workerd vectorize-api.ts)."""


def _first_error(body: bytes) -> tuple[int | None, str]:
    try:
        errors = json.loads(body).get("errors") or []
    except ValueError:
        errors = []
    if errors:
        return errors[0].get("code"), errors[0].get("message", "")
    return None, body.decode(errors="replace")


class _Api:
    def __init__(self, base_url: str, account_id: str, token: str) -> None:
        self.base = f"{base_url}/accounts/{account_id}"
        self.headers = {"authorization": f"Bearer {token}"}


class Ai(_Api):
    """``env.AI``: ``run(model, inputs, options?)`` answers the raw result, or the SSE body as an async
    iterator of bytes when the answer is not JSON; ``options.queueRequest`` queues a Batch API batch."""

    lastRequestHttpStatusCode: int | None = None

    async def run(self, model: str, inputs: dict[str, Any], options: dict[str, Any] | None = None) -> Any:
        client = httpx.AsyncClient(timeout=60)
        # workerd's ai-api.ts sends the options beside the inputs; the Batch API's is queueRequest.
        params = {"queueRequest": "true"} if (options or {}).get("queueRequest") else None
        request = client.build_request(
            "POST", f"{self.base}/ai/run/{model}", json=inputs, params=params, headers=self.headers
        )
        response = await client.send(request, stream=True)
        self.lastRequestHttpStatusCode = response.status_code
        if response.status_code >= 400:
            body = await response.aread()
            await response.aclose()
            await client.aclose()
            code, message = _first_error(body)
            raise InferenceUpstreamError(message if code is None else f"{code}: {message}")
        if response.headers.get("content-type", "").startswith("application/json"):
            body = await response.aread()
            await response.aclose()
            await client.aclose()
            return json.loads(body)["result"]

        async def stream() -> AsyncIterator[bytes]:
            try:
                async for part in response.aiter_bytes():
                    yield part
            finally:
                await response.aclose()
                await client.aclose()

        return stream()

    def toMarkdown(self, files: Any = None, options: dict[str, Any] | None = None) -> Any:
        """``env.AI.toMarkdown(files, {conversionOptions})`` answers the conversions (one object for one
        document, a list for a list); ``env.AI.toMarkdown()`` the service with ``supported()``
        (@cloudflare/workers-types ``ToMarkdownService``)."""
        if files is None:
            return _ToMarkdownService(self)
        return self._to_markdown(files, options or {})

    async def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            response = await client.request(method, f"{self.base}/{path}", headers=self.headers, **kwargs)
        self.lastRequestHttpStatusCode = response.status_code
        if response.status_code >= 400:
            code, message = _first_error(response.content)
            raise InferenceUpstreamError(message if code is None else f"{code}: {message}")
        return response.json()["result"]

    async def _to_markdown(self, files: Any, options: dict[str, Any]) -> Any:
        documents = files if isinstance(files, list) else [files]
        parts = []
        for document in documents:
            blob = document["blob"]  # a Blob: bytes from arrayBuffer(), the MIME type as .type
            parts.append(("files", (document["name"], await blob.arrayBuffer(), blob.type)))
        data = {"conversionOptions": json.dumps(options["conversionOptions"])} if options else None
        result = await self._request("POST", "ai/tomarkdown", files=parts, data=data)
        return result if isinstance(files, list) else result[0]


class _ToMarkdownService:
    def __init__(self, ai: Ai) -> None:
        self.ai = ai

    async def supported(self) -> Any:
        return await self.ai._request("GET", "ai/tomarkdown/supported")


class VectorizeIndex(_Api):
    """A Vectorize v2 index binding: ``query``, ``insert``, ``upsert``, ``getByIds``, ``deleteByIds``,
    ``describe``."""

    def __init__(self, base_url: str, account_id: str, token: str, index: str) -> None:
        super().__init__(base_url, account_id, token)
        self.index = index

    async def _send(self, operation: str, method: str, path: str, **kwargs: Any) -> Any:
        async with httpx.AsyncClient(timeout=60) as client:
            url = f"{self.base}/vectorize/v2/indexes/{self.index}/{path}"
            response = await client.request(
                method, url, headers={**self.headers, **kwargs.pop("headers", {})}, **kwargs
            )
        if response.status_code != 200:
            code, message = _first_error(response.content)
            if code is None:
                raise Error(f"{operation}_ERROR: Status + {response.status_code}")
            raise Error(f"{operation}_ERROR (code = {code}): {message}")
        return response.json()["result"]

    async def describe(self) -> Any:
        return await self._send("INDEX_GET", "GET", "info")

    async def query(self, vector: list[float], options: dict[str, Any] | None = None) -> Any:
        opts = dict(options or {})
        if isinstance(opts.get("returnMetadata"), bool):
            opts["returnMetadata"] = "all" if opts["returnMetadata"] else "none"
        return await self._send("VECTOR_QUERY", "POST", "query", json={**opts, "vector": list(vector)})

    def _ndjson(self, vectors: list[dict[str, Any]]) -> dict[str, Any]:
        body = "\n".join(json.dumps({**v, "values": list(v["values"])}) for v in vectors)
        return {"content": body.encode(), "headers": {"content-type": "application/x-ndjson"}}

    async def insert(self, vectors: list[dict[str, Any]]) -> Any:
        return await self._send("VECTOR_INSERT", "POST", "insert", **self._ndjson(vectors))

    async def upsert(self, vectors: list[dict[str, Any]]) -> Any:
        return await self._send("VECTOR_UPSERT", "POST", "upsert", **self._ndjson(vectors))

    async def getByIds(self, ids: list[str]) -> Any:
        return await self._send("VECTOR_GET", "POST", "get_by_ids", json={"ids": list(ids)})

    async def deleteByIds(self, ids: list[str]) -> Any:
        return await self._send("VECTOR_DELETE", "POST", "delete_by_ids", json={"ids": list(ids)})
