"""Run the emulator in a background thread on a free port: for tests, examples and benchmarks.

::

    with LocalEmulator() as emu:
        client = emu.client()
        client.embed(["hello"])
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import uvicorn

from ..client import WorkersAI
from .app import EmulatorConfig, create_app
from .control import EmulatorControl
from .embeddings import Embedder
from .faults import FaultPlan
from .scripts import Script

LOCAL_ACCOUNT_ID = "0123456789abcdef0123456789abcdef"


class LocalEmulator(EmulatorControl):
    """A running ``workersai-local`` on 127.0.0.1, started and stopped by this object; its faults and
    counters are controlled over HTTP like any other emulator's (:class:`EmulatorControl`).

    With ``record_dir``, it forwards every Cloudflare API request to ``upstream`` and writes each
    exchange there; its :meth:`client` and :meth:`env` then carry the upstream's credentials,
    ``upstream_account_id`` and ``upstream_token`` (default: ``$CLOUDFLARE_ACCOUNT_ID`` and
    ``$CLOUDFLARE_API_TOKEN`` when it is made). With ``replay_dir``, it answers from such a directory
    (:mod:`.record_routes`)."""

    def __init__(
        self,
        *,
        token: str | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        data_dir: str | Path | None = None,
        faults: FaultPlan | None = None,
        mutation_delay_ms: float = 50.0,
        gateway_token: str | None = None,
        embedder: Embedder | None = None,
        body_timeout_s: float = 30.0,
        generator: str | None = None,
        rate_limits: bool = False,
        rate_window_s: float = 60.0,
        rate_scale: float = 1.0,
        serve_deprecated: bool = False,
        today: dt.date | None = None,
        api_rate_limit: bool = False,
        api_rate_quota: int = 1200,
        api_rate_window_s: float = 300.0,
        clock: Callable[[], float] = time.monotonic,
        record_dir: str | Path | None = None,
        replay_dir: str | Path | None = None,
        upstream: str = "https://api.cloudflare.com",
        upstream_account_id: str | None = None,
        upstream_token: str | None = None,
    ) -> None:
        self.token = token or secrets.token_urlsafe(24)
        self.host = host
        self._port = port
        self.account_id = LOCAL_ACCOUNT_ID
        self._client_token = self.token
        if record_dir is not None:  # clients send the user's own credentials, forwarded upstream
            self.account_id = (
                upstream_account_id or os.environ.get("CLOUDFLARE_ACCOUNT_ID") or LOCAL_ACCOUNT_ID
            )
            self._client_token = upstream_token or os.environ.get("CLOUDFLARE_API_TOKEN") or self.token
        self.config = EmulatorConfig(
            token=self.token,
            gateway_token=gateway_token,
            faults=faults or FaultPlan(),
            data_dir=Path(data_dir) if data_dir is not None else None,
            mutation_delay_ms=mutation_delay_ms,
            body_timeout_s=body_timeout_s,
            rate_limits=rate_limits,
            rate_window_s=rate_window_s,
            rate_scale=rate_scale,
            serve_deprecated=serve_deprecated,
            today=today,
            api_rate_limit=api_rate_limit,
            api_rate_quota=api_rate_quota,
            api_rate_window_s=api_rate_window_s,
            clock=clock,
            record_dir=Path(record_dir) if record_dir is not None else None,
            replay_dir=Path(replay_dir) if replay_dir is not None else None,
            upstream=upstream,
        )
        if generator is not None:  # else EmulatorConfig's default: $WORKERSAI_LOCAL_GENERATOR or "auto"
            self.config.generator = generator
        self._embedder = embedder
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The value for ``base_url`` / ``CLOUDFLARE_API_BASE_URL``."""
        return f"{self.url}/client/v4"

    def start(self) -> LocalEmulator:
        # proto=IPPROTO_TCP, not the default 0: asyncio turns Nagle's algorithm off (TCP_NODELAY) only on
        # connections whose socket says it is TCP (base_events._set_nodelay checks sock.proto). Without
        # it, uvicorn's two writes per response (head, then body) met the client's delayed ACK and every
        # request took 44 ms on Linux instead of about 1 ms. The listening socket gets TCP_NODELAY as well,
        # which Linux passes on to the connections it accepts.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self._port))
        self.port = sock.getsockname()[1]
        app = create_app(self.config, self._embedder)
        self.app = app
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="on", timeout_keep_alive=30
        )
        self._server = uvicorn.Server(config)
        server = self._server

        def serve() -> None:
            asyncio.run(server.serve(sockets=[sock]))

        self._thread = threading.Thread(target=serve, name="workersai-local", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("workersai-local did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=15)
        self._server = None
        self._thread = None
        self.close()

    def __enter__(self) -> LocalEmulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script(
        self,
        model: str | None = None,
        *,
        when: Callable[[dict[str, Any]], bool] | None = None,
        **answer: Any,
    ) -> dict[str, Any]:
        """As :meth:`EmulatorControl.script`, and ``when``: a predicate on the request's body (a dict)
        that must hold too (in this process only: it cannot go over HTTP)."""
        if when is None:
            return super().script(model, **answer)
        times = answer.pop("times", 1)
        fields = {"model": model, **answer}
        script = Script.from_json({**{k: v for k, v in fields.items() if v is not None}, "times": times})
        script.when = when
        return self.app.state.emulator.scripts.add(script).to_json()  # type: ignore[no-any-return]

    def env(self) -> dict[str, str]:
        """Environment variables that point any client at this emulator."""
        return {
            "CLOUDFLARE_ACCOUNT_ID": self.account_id,
            "CLOUDFLARE_API_TOKEN": self._client_token,
            "CLOUDFLARE_API_BASE_URL": self.base_url,
        }

    def client(self, **kwargs: Any) -> WorkersAI:
        """A :class:`WorkersAI` client for this emulator (keyword arguments override the defaults)."""
        kwargs.setdefault("account_id", self.account_id)
        kwargs.setdefault("api_token", self._client_token)
        kwargs.setdefault("base_url", self.base_url)
        if kwargs.get("gateway_route") == "url":  # the older gateway URL form, served at this emulator
            kwargs.setdefault("gateway_url", self.url)
        return WorkersAI(**kwargs)


def emulator_env_or_none() -> dict[str, str] | None:
    """The Cloudflare settings from the environment when both are set, else None (use the emulator)."""
    if os.environ.get("CLOUDFLARE_ACCOUNT_ID") and os.environ.get("CLOUDFLARE_API_TOKEN"):
        return {k: os.environ[k] for k in ("CLOUDFLARE_ACCOUNT_ID", "CLOUDFLARE_API_TOKEN")}
    return None
