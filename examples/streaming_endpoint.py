"""A streaming SSE endpoint (starlette) that relays ChatWorkersAI.astream to a browser with
`workersai.sse_relay.SSEResponse`: `data:` frames of text, an `event: meta` frame naming the model that
answered, and `data: [DONE]` at the end, also when the stream breaks or times out (then after an
`event: error` frame); the model's stream is closed as soon as the browser leaves. The example serves it
on a free local port and reads it back with httpx."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import httpx
import uvicorn
from _runtime import cloudflare_env, corpus
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.routing import Route

from langchain_workersai import ChatWorkersAI
from workersai.sse_relay import SSEResponse

# Generous: the local language model reads the whole corpus before its first token, which takes minutes
# on a busy machine (a test run beside other work). Each of the three waits below (the model's request,
# the relay, the browser's read) gets it; a real server chooses its own.
TIMEOUT_S = 600.0


def create_app(llm: ChatWorkersAI) -> Starlette:
    async def chat(request: Request) -> SSEResponse:
        question = (await request.json())["question"]
        messages = [("system", " ".join(corpus())), ("human", question)]
        return SSEResponse(llm.astream(messages, timeout=TIMEOUT_S), timeout=TIMEOUT_S)

    return Starlette(routes=[Route("/chat", chat, methods=["POST"])])


def main() -> None:
    with cloudflare_env():
        # IPPROTO_TCP: asyncio turns Nagle's algorithm off only for sockets that say they are TCP; with
        # it on, each small SSE frame could wait 40 ms for the client's delayed ACK.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        server = uvicorn.Server(uvicorn.Config(create_app(ChatWorkersAI(max_tokens=60)), log_level="warning"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.01)
        frames, event, meta = [], "message", {}
        with httpx.stream(
            "POST",
            f"http://127.0.0.1:{port}/chat",
            json={"question": "What does error 3040 mean?"},
            timeout=httpx.Timeout(TIMEOUT_S, connect=30.0),
        ) as response:
            for line in response.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data = line[6:]
                    if data == "[DONE]":
                        frames.append(data)
                    elif event == "meta":
                        meta = json.loads(data)
                    elif event == "error":
                        print(f"\n[the stream ended early: {json.loads(data)}]")
                    else:
                        frames.append(data)
                        print(json.loads(data)["text"], end="", flush=True)
                    event = "message"
        print(f"\n{len(frames) - 1} text frames from {meta.get('model')}, then {frames[-1]}")
        server.should_exit = True
        thread.join()
        assert frames[-1] == "[DONE]" and len(frames) > 5


if __name__ == "__main__":
    main()
