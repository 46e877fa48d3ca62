"""Everything that crosses between Python and JavaScript, in one place (Cloudflare Python Workers run
Python in Pyodide, and their bindings are JavaScript objects).

- Arguments go to JavaScript as a JSON round trip (``JSON.parse`` of the Python value's JSON): plain JS
  objects and arrays that JavaScript owns. A Python dict handed over as it is would arrive as a borrowed
  ``PyProxy``, which a binding cannot serialize and which dies with the call.
- Results come back the same way (``JSON.stringify``, then ``json.loads``): plain Python values, owned by
  Python, with no ``JsProxy`` left to leak or destroy.
- A stream (``env.AI.run(..., {stream: true})`` answers a ``ReadableStream`` of SSE bytes) is read with
  its reader, chunk by chunk, as bytes; the reader is cancelled if the caller stops early.
- What a binding throws arrives as ``pyodide.ffi.JsException``: :func:`thrown` gives its name and message.

Outside Pyodide (plain CPython: unit tests with bindings written in Python) the same functions pass
Python values through, copied by the same JSON round trip, so the mapping code above them is the same.
"""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

IN_PYODIDE = sys.platform == "emscripten"

if IN_PYODIDE:  # pragma: no cover - runs under Pyodide (tests/pyodide)
    import js  # type: ignore[import-not-found]
    from pyodide.ffi import JsException, JsProxy  # type: ignore[import-not-found]
else:
    js = None
    JsException = JsProxy = None


def _is_js(value: Any) -> bool:
    return JsProxy is not None and isinstance(value, JsProxy)


def to_js(value: Any) -> Any:
    """A JavaScript copy of a JSON-able Python value (a fresh Python copy outside Pyodide)."""
    text = json.dumps(value, ensure_ascii=False, allow_nan=False)
    if IN_PYODIDE:  # pragma: no cover
        return js.JSON.parse(text)
    return json.loads(text)


def js_array(items: list[Any]) -> Any:
    """A JavaScript array of JavaScript objects as they are (D1 prepared statements for ``batch``, which
    a JSON copy would lose); the list itself outside Pyodide."""
    if IN_PYODIDE:  # pragma: no cover
        array = js.Array.new()
        for item in items:
            array.push(item)
        return array
    return list(items)


def call_spread(target: Any, method: str, args: list[Any]) -> Any:
    """``target[method](...args)`` with ``args`` as JavaScript values (``D1PreparedStatement.bind``): in
    Pyodide through ``Function.prototype.apply`` on a JSON copy, so a Python ``None`` arrives as ``null``
    (called directly, Pyodide would pass ``undefined``, which D1 refuses with ``D1_TYPE_ERROR``)."""
    if IN_PYODIDE:  # pragma: no cover
        return getattr(target, method).apply(target, to_js(args))
    return getattr(target, method)(*to_js(args))


def to_py(value: Any) -> Any:
    """A Python copy of what a binding answered (JSON-able: objects, arrays, numbers, strings, null)."""
    if value is None:
        return None
    if _is_js(value):  # pragma: no cover
        text = js.JSON.stringify(value)
        return None if text is None else json.loads(text)
    return json.loads(json.dumps(value))


@dataclass(frozen=True)
class Blob:
    """Outside Pyodide, what stands for a JavaScript ``Blob``: bytes and a MIME ``type``."""

    data: bytes
    type: str

    async def arrayBuffer(self) -> bytes:
        return self.data


def markdown_documents(files: list[tuple[str, bytes, str]]) -> Any:
    """``env.AI.toMarkdown``'s first argument: a JS array of ``{name, blob}`` (``MarkdownDocument`` in
    @cloudflare/workers-types), each ``blob`` a JS ``Blob`` of the file's bytes with its MIME type. The
    bytes are copied into a ``Uint8Array`` (``JsBuffer.assign``): nothing Python-owned crosses over."""
    if not IN_PYODIDE:
        return [{"name": name, "blob": Blob(bytes(data), mime)} for name, data, mime in files]
    documents = js.Array.new()  # pragma: no cover - the rest runs under Pyodide
    for name, data, mime in files:  # pragma: no cover
        array = js.Uint8Array.new(len(data))
        array.assign(data)
        document = js.Object.new()
        document.name = name
        document.blob = js.Blob.new(js.Array.of(array), to_js({"type": mime}))
        documents.push(document)
    return documents  # pragma: no cover


def is_stream(value: Any) -> bool:
    """Whether a binding answered a stream: a JS ``ReadableStream``, or (outside Pyodide) an async
    iterable of bytes."""
    if _is_js(value):  # pragma: no cover
        return hasattr(value, "getReader")
    return hasattr(value, "__aiter__")


async def stream_bytes(value: Any) -> AsyncGenerator[bytes, None]:
    """The bytes of a stream from :func:`is_stream`, chunk by chunk."""
    if not _is_js(value):
        async for part in value:
            yield bytes(part)
        return
    reader = value.getReader()  # pragma: no cover - the rest runs under Pyodide
    done = False
    try:
        while True:
            chunk = await reader.read()
            if chunk.done:
                done = True
                return
            data = chunk.value
            yield data.encode() if isinstance(data, str) else bytes(data.to_bytes())
    finally:
        if not done:
            await reader.cancel()
        reader.releaseLock()


async def response_bytes(response: Any) -> bytes:
    """The body of a ``Response`` a binding answered: ``bytes()`` (the Python Workers wrapper's, or a
    JavaScript ``Response``'s ``Uint8Array``), else ``arrayBuffer()``. A JavaScript buffer is copied
    whole with ``to_bytes()``: ``bytes()`` of its ``JsProxy`` would iterate it, one call across the FFI
    a byte (0.3 s a megabyte under Pyodide 314.0.7 in Node 20, measured; ``to_bytes()`` 1 ms)."""
    if hasattr(response, "bytes"):
        data = await response.bytes()
    else:
        data = await response.arrayBuffer()  # pragma: no cover - a Response without bytes()
    return bytes(data.to_bytes()) if hasattr(data, "to_bytes") else bytes(data)


def thrown(exc: BaseException) -> tuple[str, str] | None:
    """``(name, message)`` of an error a binding threw (a JS ``Error``); None for a Python error of our
    own. Outside Pyodide, a Python stand-in for a binding raises an exception whose class is named as the
    JS error (``InferenceUpstreamError``, ``Error``)."""
    if JsException is not None and isinstance(exc, JsException):  # pragma: no cover
        return str(getattr(exc, "name", "Error")), str(getattr(exc, "message", exc))
    if not IN_PYODIDE and type(exc).__name__ in JS_ERROR_NAMES:
        return type(exc).__name__, str(exc)
    return None


JS_ERROR_NAMES = frozenset({"Error", "TypeError", "InferenceUpstreamError", "AiInternalError"})
"""What workerd's bindings throw: ``InferenceUpstreamError`` / ``AiInternalError`` (``ai-api.ts``), a plain
``Error`` (``vectorize-api.ts``), ``TypeError`` for arguments they cannot take."""
