"""The Batch API in the emulator: ``POST /ai/run/{model}?queueRequest=true``.

A submission (``{"requests": [...]}``) is answered at once with ``{"status": "queued", "request_id",
"model"}`` and processed in the background, one batch at a time in arrival order and the requests of a
batch in order, by the same embedding and generation code the direct ``/ai/run`` uses
(:mod:`workersai.local.ai_routes`). A poll (``{"request_id": ...}``) answers ``{"status": "queued" |
"running", "request_id", "model"}`` until the batch is done, then ``{"responses": [{"id", "result",
"success", "external_reference"}], "usage"}`` (the rest-api page's shapes). A request that fails answers
``success: false`` with ``result: {"errors": [{"code", "message"}]}`` (its shape is not documented: chosen
here). Results are kept for :data:`RESULT_TTL_S` seconds after the batch is done (the service documents
no retention), then the id is unknown. The rules are in :mod:`workersai.local.rules.batch`; faults apply
to every submission and poll through ``emu.guarded`` as to any request.

``/__local__/batches`` (``POST {"hold": "queued" | "running" | null}``) holds batches before they start
or before each request is processed, so tests can observe every status without timing anything.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
import weakref
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..catalog import OPENAI, RESPONSES, ModelInfo
from .ai_routes import answer_family, embedding_result, generate, run_completion
from .emulator import Emulator
from .faults import ERRORS
from .responses import envelope, error_response
from .rules import Rejected
from .rules import ai as ai_rules
from .rules import batch as rules
from .wire.legacy import legacy_result
from .wire.responses import responses_object

log = logging.getLogger("workersai.local")

RESULT_TTL_S = 3600.0
"""How long a done batch's responses are kept (seconds after it finished)."""
HOLDS = (None, "queued", "running")


@dataclass
class Job:
    account: str
    """The account in the submission's path: only that account can poll the batch."""
    info: ModelInfo
    requests: list[dict[str, Any]]
    status: str = "queued"
    responses: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"prompt_tokens": 0, "completion_tokens": 0})
    done_at: float | None = None


class BatchQueue:
    """The batches of one emulator and the background worker that runs them."""

    def __init__(self, emu: Emulator) -> None:
        self.emu = emu
        self.jobs: dict[str, Job] = {}
        self.hold: str | None = None
        self._pending: asyncio.Queue[str] | None = None
        self._worker: asyncio.Task[None] | None = None

    async def answer(self, account: str, info: ModelInfo, body: dict[str, Any]) -> Response:
        """A submission or a poll, for ``account`` (the account id in the request's path)."""
        self._expire()
        request_id = rules.request_id(body)
        if request_id is None:
            return self._submit(account, info, rules.submission(body))
        job = self.jobs.get(request_id)
        if job is None or job.account != account or job.info.name != info.name:
            raise rules.unknown(request_id, info.name)
        if job.status != "done":
            return envelope({"status": job.status, "request_id": request_id, "model": info.name})
        usage = {**job.usage, "total_tokens": job.usage["prompt_tokens"] + job.usage["completion_tokens"]}
        return envelope({"responses": job.responses, "usage": usage})

    def _submit(self, account: str, info: ModelInfo, requests: list[dict[str, Any]]) -> Response:
        request_id = str(uuid.uuid4())
        self.jobs[request_id] = Job(account, info, requests)
        if self._pending is None:
            self._pending = asyncio.Queue()
        if self._worker is None or self._worker.done():
            self._worker = asyncio.get_running_loop().create_task(self._work(self._pending))
        self._pending.put_nowait(request_id)
        return envelope({"status": "queued", "request_id": request_id, "model": info.name})

    def _expire(self) -> None:
        now = asyncio.get_running_loop().time()
        for key in [
            k for k, j in self.jobs.items() if j.done_at is not None and now - j.done_at > RESULT_TTL_S
        ]:
            del self.jobs[key]

    async def _held(self, stage: str) -> None:
        while self.hold == stage:
            await asyncio.sleep(0.01)

    async def _work(self, pending: asyncio.Queue[str]) -> None:
        """The worker: batch after batch, each request answered on its own. Nothing one request does
        (a body the checks let through that breaks the generator) stops the worker or leaves a batch
        ``running``: that request gets its own error entry and the rest are answered."""
        while True:
            job = self.jobs.get(await pending.get())
            if job is None:
                continue
            await self._held("queued")
            job.status = "running"
            for i, item in enumerate(job.requests):
                await self._held("running")
                job.responses.append(await self._one(job, i, item))
            job.status, job.done_at = "done", asyncio.get_running_loop().time()

    async def _one(self, job: Job, index: int, item: dict[str, Any]) -> dict[str, Any]:
        body = {k: v for k, v in item.items() if k != "external_reference"}
        answer: dict[str, Any] = {"id": index, "external_reference": item.get("external_reference")}
        try:
            result, prompt, completion = await run_request(self.emu, job.info, body)
        except Rejected as exc:
            error = {"code": exc.code, "message": exc.message}
            return {**answer, "result": {"errors": [error]}, "success": False}
        except Exception:  # an emulator bug: this request's error, as a direct call's 500 would be
            log.exception("batch request %d of %s failed", index, job.info.name)
            _, code, message = ERRORS["500"]
            return {**answer, "result": {"errors": [{"code": code, "message": message}]}, "success": False}
        job.usage["prompt_tokens"] += prompt
        job.usage["completion_tokens"] += completion
        return {**answer, "result": result, "success": True}


async def run_request(emu: Emulator, info: ModelInfo, body: dict[str, Any]) -> tuple[Any, int, int]:
    """One queued request's result as a direct run's ``result`` (never streamed), and its tokens."""
    if info.is_embedding:
        result = await embedding_result(emu, info, body)
        raw = body["text"]
        tokens = sum(emu.extractive.count_tokens(t) for t in ([raw] if isinstance(raw, str) else raw))
        return result, tokens, 0
    request = {**body, "stream": False}
    chat = ai_rules.responses_input(request) if info.family == RESPONSES and "input" in request else request
    out = await generate(emu, info, chat)
    gen = out.gen
    family = answer_family(info, request)
    if family == RESPONSES:
        result = responses_object(info.name, gen, out.reasoning, request, out.max_tokens)
    elif family == OPENAI:
        result = run_completion(info, out, out.reasoning)
    else:
        nested = info.name in ai_rules.NESTED_TOOL_CALL_MODELS
        result = legacy_result(gen, out.reasoning, nested_tool_calls=nested)
    return result, gen.prompt_tokens, gen.completion_tokens


_QUEUES: weakref.WeakKeyDictionary[Emulator, BatchQueue] = weakref.WeakKeyDictionary()


def batch_queue(emu: Emulator) -> BatchQueue:
    """The emulator's batch queue (one per emulator)."""
    queue = _QUEUES.get(emu)
    if queue is None:
        queue = _QUEUES[emu] = BatchQueue(emu)
    return queue


def queued(request: Request) -> bool:
    """Whether an ``/ai/run`` request is for the Batch API (``?queueRequest=true``)."""
    return request.query_params.get("queueRequest", "").lower() == "true"


def batch_control_routes(emu: Emulator) -> list[Route]:
    """``/__local__/batches``: hold batches at a stage (``GET`` shows the hold and the batches' states)."""

    async def batches(request: Request) -> Response:
        queue = batch_queue(emu)
        try:
            emu.check_auth(request)
            if request.method == "POST":
                body = await emu.json_body(request)
                hold = body.get("hold") if isinstance(body, dict) else "?"
                if hold not in HOLDS:
                    raise Rejected(400, 5006, f"hold must be one of {HOLDS}")
                queue.hold = hold
        except Rejected as exc:
            return error_response(exc.status, exc.code, exc.message)
        states: dict[str, int] = {}
        for job in queue.jobs.values():
            states[job.status] = states.get(job.status, 0) + 1
        return envelope({"hold": queue.hold, "batches": states})

    return [Route("/__local__/batches", batches, methods=["GET", "POST"])]
