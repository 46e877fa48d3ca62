"""The Cloudflare envelope and the emulator's canned responses: success and error envelopes, the JSON
renderer for large float arrays, and the answers an injected fault sends instead of the handler's."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.types import Receive, Scope, Send

from .faults import ERRORS, INJECTED, Decision
from .rules import Rejected

ApiError = Rejected
"""An error answered in the Cloudflare envelope (the rules' :class:`~workersai.local.rules.Rejected`)."""


class FastJSONResponse(JSONResponse):
    """A JSON response rendered by orjson (embedding answers are megabytes of floats)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)


def envelope(result: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"result": result, "success": True, "errors": [], "messages": []}
    return FastJSONResponse(body, status, headers)


def error_response(
    status: int, code: int | None, message: str, headers: dict[str, str] | None = None
) -> Response:
    error: dict[str, Any] = {"message": message}
    if code is not None:
        error = {"code": code, "message": message}
    body = {"result": None, "success": False, "errors": [error], "messages": []}
    return JSONResponse(body, status, headers)


class ResetResponse(Response):
    """Starts a response and drops the connection before its body is complete."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"1000")]})
        await send({"type": "http.response.body", "body": b'{"result": ', "more_body": True})
        raise ConnectionResetError(f"{INJECTED} connection reset")


def fault_response(decision: Decision) -> Response:
    assert decision.error is not None
    status, code, message = ERRORS[decision.error]
    headers = {"retry-after": f"{decision.retry_after:g}"} if decision.retry_after is not None else None
    if decision.error == "reset":
        return ResetResponse()
    if decision.error == "not-json":
        return Response(message, 200, media_type="text/plain")
    if decision.error == "html-200":
        return HTMLResponse(f"<html><body><p>{message}</p></body></html>", 200)
    if decision.error == "no-result":
        return JSONResponse({"success": True, "errors": [], "messages": []})
    if decision.error == "wrong-shape":
        return JSONResponse({"success": True, "errors": [], "messages": [], "result": [1, 2, 3]})
    if status in (502, 503):
        page = f"<html><head><title>{status} {message}</title></head><body><h1>{message}</h1></body></html>"
        return HTMLResponse(page, status, headers)
    return error_response(status, code, message, headers)
