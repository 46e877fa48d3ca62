"""Control of a running emulator over HTTP (``/__local__/*``): its fault plan and request counters.

:class:`EmulatorControl` reaches an emulator started anywhere (``workersai-local`` in another terminal,
or :class:`~workersai.local.LocalEmulator` in this process, which is one). It needs only httpx, not the
``local`` extra.
"""

from __future__ import annotations

import threading
from typing import Any

import httpx

from ..transport import shared_tls


class EmulatorControl:
    """The control endpoints of the emulator at ``url`` (``http://host:port``), with its ``token``.

    Its requests share one connection pool (:meth:`close` ends it) and the transports' TLS context: a
    client made per call cost about 23 ms of CPU each (httpx loads its CA bundle for every new client),
    paid twice after every test that cleans up its emulator."""

    _http: httpx.Client | None = None
    _http_lock = threading.Lock()

    def __init__(self, url: str, token: str) -> None:
        self._url = url.rstrip("/")
        self.token = token

    @property
    def url(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"{type(self).__name__}(url={self.url!r})"

    @classmethod
    def find(cls, base_url: str | None, token: str | None, timeout: float = 2.0) -> EmulatorControl | None:
        """The emulator behind ``base_url`` (``.../client/v4``) when it is one, else None (Cloudflare,
        another server, nothing listening)."""
        if not base_url or not token:
            return None
        root = base_url.rstrip("/").removesuffix("/client/v4")
        try:
            response = httpx.get(f"{root}/__local__/health", timeout=timeout)
            is_emulator = response.status_code == 200 and response.json().get("result") == {"status": "ok"}
        except (httpx.HTTPError, ValueError, AttributeError):
            return None
        return cls(root, token) if is_emulator else None

    def set_faults(self, **plan: Any) -> dict[str, Any]:
        """Replace the fault plan (fields of :class:`~workersai.local.faults.FaultPlan`)."""
        return self._call("POST", "faults", json=plan)

    def clear_faults(self) -> dict[str, Any]:
        """Back to no faults; the counters of injected faults and lost answers are returned."""
        return self._call("DELETE", "faults")

    def hold_batches(self, stage: str | None) -> dict[str, Any]:
        """Hold Batch API batches before they start (``"queued"``), before each of their requests
        (``"running"``), or let them run (``None``); answers the hold and the batches per status."""
        return self._call("POST", "batches", json={"hold": stage})

    def set_rate_limits(self, window_s: float = 60.0, scale: float = 1.0) -> dict[str, Any]:
        """Enforce each model's requests per minute from now on (as ``--rate-limits``), with the minute
        shortened to ``window_s`` and the limits multiplied by ``scale``; windows start empty."""
        return self._call("POST", "rate-limits", json={"window_s": window_s, "scale": scale})

    def clear_rate_limits(self) -> None:
        """No rate limits from now on."""
        self._call("DELETE", "rate-limits")

    def stats(self, *, reset: bool = False) -> dict[str, int]:
        """Request counters (``max_in_flight`` is the most requests served at once; ``rate_limited`` the
        requests answered 429/3021 by ``--rate-limits``)."""
        return {k: int(v) for k, v in self._call("DELETE" if reset else "GET", "stats").items()}

    def script(
        self,
        model: str | None = None,
        *,
        text: str | None = None,
        tool_calls: list[dict[str, Any]] | None = None,
        reasoning: str | None = None,
        json: Any = None,
        error: str | int | None = None,
        cut_after: int | None = None,
        contains: str | None = None,
        last_role: str | None = None,
        path: str | None = None,
        times: int | None = 1,
    ) -> dict[str, Any]:
        """Say what ``model`` (None: any model) answers next (:mod:`workersai.local.scripts`): ``text``,
        ``tool_calls`` (``[tool_call("get_weather", city="Lyon")]``), a ``reasoning`` block, a ``json``
        object, or an ``error`` (``"3040"``); ``cut_after`` drops a stream after that many frames. Only
        for requests whose messages contain ``contains``, whose last message has role ``last_role``,
        whose path ends with ``path``; used ``times`` times (None: always). ValueError names the fix
        for a script that cannot be answered (an unknown model, a malformed tool call)."""
        fields = {
            "model": model,
            "text": text,
            "tool_calls": tool_calls,
            "reasoning": reasoning,
            "json": json,
            "error": error,
            "cut_after": cut_after,
            "contains": contains,
            "last_role": last_role,
            "path": path,
        }
        payload = {k: v for k, v in fields.items() if v is not None}
        payload["times"] = times
        [added] = self._result("POST", "scripts", json=payload)
        result: dict[str, Any] = added
        return result

    def scripts(self) -> list[dict[str, Any]]:
        """The scripts in force, in the order they are tried."""
        result: list[dict[str, Any]] = self._result("GET", "scripts")
        return result

    def clear_scripts(self) -> None:
        """No scripted answers from now on: every request is generated."""
        self._call("DELETE", "scripts")

    def reset(self) -> None:
        """No scripts, no fault plan, an empty request log (one request)."""
        self._call("POST", "reset")

    def requests(
        self,
        model: str | None = None,
        path: str | None = None,
        method: str | None = None,
        limit: int | None = None,
    ) -> list[dict[str, Any]]:
        """The requests the emulator served, oldest first (:mod:`workersai.local.request_log`), only
        those that named ``model``, went to ``path`` (the whole path, its end, or a glob) with
        ``method``; ``limit``: only the most recent ones. Each is a dict: ``method``, ``path``,
        ``model``, ``status``, ``latency_ms``, ``prompt_tokens``, ``completion_tokens``, ``body``
        (parsed JSON when whole), ``headers`` (chosen ones, never a token), ``time``."""
        query = {"model": model, "path": path, "method": method, "limit": limit}
        params = {k: v for k, v in query.items() if v is not None}
        result: list[dict[str, Any]] = self._result("GET", "requests", params=params)
        return result

    def clear_requests(self) -> None:
        """Forget the requests served so far."""
        self._call("DELETE", "requests")

    def _call(self, method: str, what: str, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] = self._result(method, what, **kwargs) or {}
        return result

    def close(self) -> None:
        """Close the connections to the control endpoints (a later call opens new ones)."""
        with self._http_lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def _client(self) -> httpx.Client:
        with self._http_lock:
            if self._http is None:
                self._http = httpx.Client(timeout=httpx.Timeout(5.0), verify=shared_tls())
            return self._http

    def _result(self, method: str, what: str, **kwargs: Any) -> Any:
        response = self._client().request(
            method,
            f"{self.url}/__local__/{what}",
            headers={"Authorization": f"Bearer {self.token}"},
            **kwargs,
        )
        if response.status_code == 400:  # a bad plan, script or query: the emulator says what to fix
            errors = response.json().get("errors") or [{}]
            raise ValueError(errors[0].get("message", response.text))
        response.raise_for_status()
        return response.json()["result"]
