"""A streaming SSE endpoint (starlette) that relays ChatWorkersAI.astream as `data:` frames and ends
with `data: [DONE]`; the example serves it on a free local port and reads it back with httpx."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import httpx
import uvicorn
from _runtime import cloudflare_env, corpus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from langchain_workersai import ChatWorkersAI


def create_app(llm: ChatWorkersAI) -> Starlette:
    async def chat(request: Request) -> StreamingResponse:
        question = (await request.json())["question"]

        async def events() -> AsyncIterator[str]:
            messages = [("system", " ".join(corpus())), ("human", question)]
            async for chunk in llm.astream(messages):
                if chunk.content:
                    yield f"data: {json.dumps({'text': chunk.content})}\n\n"
            yield "data: [DONE]\n\n"

        return StreamingResponse(events(), media_type="text/event-stream")

    return Starlette(routes=[Route("/chat", chat, methods=["POST"])])


def main() -> None:
    with cloudflare_env():
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(ChatWorkersAI(max_tokens=60)), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        frames = []
        with httpx.stream(
            "POST", f"http://127.0.0.1:{port}/chat", json={"question": "What does error 3040 mean?"}
        ) as response:
            for line in response.iter_lines():
                if line.startswith("data: "):
                    frames.append(line[6:])
                    if frames[-1] != "[DONE]":
                        print(json.loads(frames[-1])["text"], end="", flush=True)
        print(f"\n{len(frames) - 1} text frames, then {frames[-1]}")
        server.should_exit = True
        thread.join()
        assert frames[-1] == "[DONE]" and len(frames) > 5


if __name__ == "__main__":
    main()
