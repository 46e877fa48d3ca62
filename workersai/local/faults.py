"""Fault injection for the emulator: latency, error bursts and rates, Retry-After, cut streams.

A :class:`FaultPlan` is set at start-up (``workersai-local --fault-...``), replaced at run time through
``POST /__local__/faults`` (JSON body with the same fields; ``DELETE`` resets), or given for one request
in the ``x-workersai-local-faults`` header (JSON). Errors are drawn from the real service's:

=========  ======  =====  ==================================================
name       status  code   body
=========  ======  =====  ==================================================
3040       429     3040   capacity temporarily exceeded (retryable)
3021       429     3021   per-minute rate limit (retryable)
3036       429     3036   daily free neurons used up (not retryable)
500        500     -      JSON envelope, internal error
502, 503   same    -      an HTML error page, as the edge sends
408        408     3007   request timeout
3008       408     3008   request aborted
5016       403     5016   model terms not agreed
reset      -       -      the connection drops mid-response
reset-after  -     -      the request is served (a write applied or queued), then the connection drops
502-after  502     -      the request is served (a write applied or queued), then a 502 page comes back
not-json   200     -      a plain-text body
html-200   200     -      an HTML page
no-result  200     -      ``{"success": true}`` with no ``result``
wrong-shape 200    -      ``{"success": true, "result": [1, 2, 3]}``
=========  ======  =====  ==================================================

The ``-after`` kinds are "applied, but the answer was lost": the handler runs to completion first, so
a client that retries repeats a request the service has already carried out. They replace only
successful answers; :attr:`FaultInjector.lost_answers` counts them.

A busy model (``busy_ms``) is the service's capacity queue: a request to it waits that long (at most
:data:`MAX_QUEUE_MS`, on the event loop's clock) before it is served, or, when its body asks
``options.rejectIfBusy``, is refused at once with 429/3040 "Capacity temporarily exceeded, please try
again." (developers.cloudflare.com/workers-ai/features/reject-if-busy/, "Handle capacity errors").
``models`` limits the plan's failures (errors, cut streams, a busy queue) to requests that name one of
those models (in the path, or in the body of ``/ai/v1/*``), so a primary can be busy while its fallback
answers; ``latency_ms`` and ``token_interval_ms`` (the round trip, the generation speed) apply to every
request in the plan's scope.

A dropped connection is an exception the server logs; :class:`InjectedFaultLog` makes that one line
("injected fault: ...") instead of a traceback, so a run with faults keeps a readable log.
"""

from __future__ import annotations

import json
import logging
import math
import random
import threading
from dataclasses import asdict, dataclass, fields
from typing import Any

ERRORS: dict[str, tuple[int, int | None, str]] = {
    "3040": (429, 3040, "Capacity temporarily exceeded, please try again."),
    "3021": (429, 3021, "Rate limited: too many requests per minute."),
    "3036": (
        429,
        3036,
        "You have used up your daily free allocation of 10,000 neurons, please upgrade to Cloudflare's "
        "Workers Paid plan if you would like to continue usage.",
    ),
    "500": (500, None, "Internal server error"),
    "502": (502, None, "Bad gateway"),
    "503": (503, None, "Service unavailable"),
    "408": (408, 3007, "Request timeout"),
    "3008": (408, 3008, "Request aborted"),
    "5016": (403, 5016, "You must agree to the model's license terms before using it."),
    "reset": (0, None, "connection reset"),
    "reset-after": (0, None, "connection reset after the request was served"),
    "502-after": (502, None, "Bad gateway"),
    # Malformed answers with status 200, as a broken proxy or upstream might send them:
    "not-json": (200, None, "upstream said hello"),
    "html-200": (200, None, "Please enable cookies."),
    "no-result": (200, None, "an envelope without result"),
    "wrong-shape": (200, None, "a result of the wrong shape"),
}


MAX_QUEUE_MS = 60_000.0
"""The longest a busy model holds a request in its queue here (the service states no bound)."""

AFTER_HANDLER = {"reset-after": "reset", "502-after": "502"}
"""Faults applied after the handler ran, and the answer each sends instead of the real one."""


@dataclass
class FaultPlan:
    """What faults to inject. ``scope`` limits them to paths under ``ai``, ``vectorize``, ``ai-search``
    or ``all``."""

    latency_ms: float = 0.0
    error: str = "3040"
    error_rate: float = 0.0
    fail_next: int = 0
    retry_after: float | None = None
    cut_stream_after: int | None = None
    token_interval_ms: float = 0.0
    scope: str = "all"
    seed: int | None = None
    busy_ms: float = 0.0
    models: list[str] | None = None

    def __post_init__(self) -> None:
        # Every field is checked for its type too: a plan comes from JSON (a header, a POST body), and a
        # badly typed one is the caller's error (400), never a failure of the request it rides on.
        for name in ("latency_ms", "error_rate", "token_interval_ms"):
            _check_number(name, getattr(self, name))
        # retry_after may be any finite number: a Retry-After of 0 or less is one of the answers a
        # client must survive (it never shortens the backoff), so the emulator can send one.
        if self.retry_after is not None and (
            isinstance(self.retry_after, bool)
            or not isinstance(self.retry_after, (int, float))
            or not math.isfinite(self.retry_after)
        ):
            raise ValueError("retry_after must be a finite number")
        for name in ("fail_next", "cut_stream_after", "seed"):
            value = getattr(self, name)
            if (value is not None or name == "fail_next") and (
                isinstance(value, bool) or not isinstance(value, int) or (name != "seed" and value < 0)
            ):
                raise ValueError(f"{name} must be a whole number >= 0")
        if not isinstance(self.busy_ms, (int, float)) or not 0 <= self.busy_ms <= MAX_QUEUE_MS:
            raise ValueError(f"busy_ms must be between 0 and {MAX_QUEUE_MS}")
        if self.models is not None and (
            not isinstance(self.models, list) or not all(isinstance(m, str) for m in self.models)
        ):
            raise ValueError("models must be a list of model names")
        if not isinstance(self.error, str) or self.error not in ERRORS:
            raise ValueError(f"unknown fault {self.error!r}; one of {sorted(ERRORS)}")
        if not 0.0 <= self.error_rate <= 1.0:
            raise ValueError("error_rate must be between 0 and 1")
        if not isinstance(self.scope, str) or self.scope not in ("all", "ai", "vectorize", "ai-search"):
            raise ValueError("scope must be all, ai, vectorize or ai-search")

    @classmethod
    def from_json(cls, data: Any) -> FaultPlan:
        if not isinstance(data, dict):
            raise ValueError("fault plan must be a JSON object")
        known = {f.name for f in fields(cls)}
        unknown = set(data) - known
        if unknown:
            raise ValueError(f"unknown fault fields {sorted(unknown)}")
        return cls(**data)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _check_number(name: str, value: Any) -> None:
    """A finite number >= 0 (not a bool), or ValueError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ValueError(f"{name} must be a number >= 0")


@dataclass
class Decision:
    """What to do to one request."""

    latency_ms: float = 0.0
    error: str | None = None
    retry_after: float | None = None
    cut_stream_after: int | None = None
    token_interval_ms: float = 0.0
    busy_ms: float = 0.0


class FaultInjector:
    """Holds the active plan and decides, request by request, which fault applies."""

    def __init__(self, plan: FaultPlan | None = None) -> None:
        self._lock = threading.Lock()
        self.injected = 0
        self.lost_answers = 0
        self.set(plan or FaultPlan())

    def set(self, plan: FaultPlan) -> None:
        with self._lock:
            self.plan = plan
            self._remaining = plan.fail_next
            self._rng = random.Random(plan.seed)

    def answer_lost(self) -> None:
        """Count one answer replaced after its request was served."""
        with self._lock:
            self.lost_answers += 1

    def fails_only(self, header: str | None) -> list[str] | None:
        """The models the plan's failures are limited to (the header's plan, else the active one)."""
        plan = FaultPlan.from_json(json.loads(header)) if header else self.plan
        return plan.models

    def decide(self, area: str, header: str | None, model: str | None = None) -> Decision:
        """The faults for one request; ``model`` is the model its path names (None: not known yet, or
        not a model route), checked against the plan's ``models``."""
        plan = self.plan
        if header:
            plan = FaultPlan.from_json(json.loads(header))
            one_off = True
        else:
            one_off = False
        if plan.scope not in ("all", area):
            return Decision()
        if plan.models is not None and model not in plan.models:
            # Another model: the round trip and the generation speed apply, the failures do not.
            return Decision(latency_ms=plan.latency_ms, token_interval_ms=plan.token_interval_ms)
        decision = Decision(
            latency_ms=plan.latency_ms,
            retry_after=plan.retry_after,
            cut_stream_after=plan.cut_stream_after,
            token_interval_ms=plan.token_interval_ms,
            busy_ms=plan.busy_ms,
        )
        with self._lock:
            if one_off:
                fail = (
                    plan.fail_next > 0
                    or plan.error_rate >= 1.0
                    or (plan.error_rate > 0 and random.random() < plan.error_rate)
                )
            elif self._remaining > 0:
                self._remaining -= 1
                fail = True
            else:
                fail = plan.error_rate > 0 and self._rng.random() < plan.error_rate
            if fail:
                self.injected += 1
                decision.error = plan.error
        return decision


INJECTED = "injected"
"""How the message of every exception raised to inject a fault (a reset, a cut stream) begins."""


class InjectedFaultLog(logging.Filter):
    """Turns the server's traceback for an injected connection drop into one line; other records pass."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        if isinstance(exc, ConnectionResetError) and str(exc).startswith(INJECTED):
            record.msg, record.args = "injected fault: %s", (str(exc).removeprefix(INJECTED).strip(),)
            record.exc_info, record.exc_text = None, None
        return True
