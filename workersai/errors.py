"""Typed errors for Workers AI and Vectorize: one tree, to be caught by what went wrong.

::

    WorkersAIError
    ├── BadInput (also ValueError): RequestTooLarge, DimensionMismatch, MetadataTooLarge
    ├── ConfigurationError (also ValueError): BindingUnsupported
    ├── NotFound: ModelNotFound, IndexNotFound, InstanceNotFound, BatchNotFound, DatabaseNotFound
    ├── Conflict: IndexAlreadyExists
    ├── AuthenticationError, TermsNotAgreed, DailyQuotaExceeded
    ├── RateLimited: CapacityExceeded
    ├── RequestTimeout, ServerError, APIConnectionError: APITimeoutError
    ├── DeadlineExceeded (also TimeoutError), MutationTimeout
    └── StreamInterrupted, ResponseFormatError, BindingError

(``BatchTimeout`` and ``BatchItemFailed`` live in :mod:`workersai.batch`, ``TextTooLong`` and
``FilterNotIndexed`` in :mod:`workersai.vectorize`; each is a ``WorkersAIError``.)

Every error carries the HTTP status (None for errors raised before any request), the Cloudflare error
code(s) and message, whether it is worth retrying, the server's ``Retry-After`` (seconds) and, once
the retry loop has given up, how many attempts were made. Messages never contain the API token.
"""

from __future__ import annotations

import email.utils
import json
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    import httpx


class WorkersAIError(Exception):
    """Base class of every error this package raises."""

    retryable: ClassVar[bool] = False
    after_lost_answer: bool = False
    """True when an earlier attempt of the same request lost its answer after it may have reached the
    service (a reset or timeout after sending, a 5xx without a Cloudflare error code): the service may
    have carried that attempt out, so an "already exists" is perhaps this request's own doing (set by
    the retry loop)."""
    queued_request_ids: tuple[str, ...] = ()
    """The Batch API request ids a call queued before it raised (``embed_batch``): take them up with
    ``client.batch_job(model, request_id)`` rather than queuing the work again."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.errors = errors or []
        self.retry_after = retry_after
        self.attempts = 1

    @property
    def codes(self) -> list[int]:
        """Every Cloudflare error code in the response."""
        return [int(e["code"]) for e in self.errors if isinstance(e.get("code"), int)]

    def __str__(self) -> str:
        parts = [self.message]
        if self.code is not None:
            parts.append(f"code={self.code}")
        if self.status is not None:
            parts.append(f"status={self.status}")
        if self.attempts > 1:
            parts.append(f"attempts={self.attempts}")
        return " ".join([parts[0], f"({', '.join(parts[1:])})"]) if len(parts) > 1 else parts[0]


@contextmanager
def narrowed(
    caught: type[WorkersAIError],
    raised: type[WorkersAIError],
    message: Callable[[WorkersAIError], str] = lambda exc: exc.message,
) -> Iterator[None]:
    """Inside the block, a ``caught`` error that is not already a ``raised`` one is raised again as
    ``raised`` (e.g. a 404 on an instance's path as ``InstanceNotFound``), with the same status, code
    and errors and ``message(exc)`` as its message."""
    try:
        yield
    except raised:
        raise
    except caught as exc:
        if type(exc) is not caught and isinstance(exc, NotFound):
            raise  # already says what is missing (a ModelNotFound is not a missing instance)
        raise raised(message(exc), status=exc.status, code=exc.code, errors=exc.errors) from None


class BadInput(WorkersAIError, ValueError):
    """The request is invalid (5006, 3003, or caught by the client before sending)."""


class ConfigurationError(WorkersAIError, ValueError):
    """The client is missing its account id or API token, or was given an invalid one."""


class RequestTooLarge(BadInput):
    """The request body is over the service's size limit (413, 3006)."""


class LimitExceeded(BadInput):
    """A request over a limit the model's page states (Clef's 64 questions, 2-255 options of a
    ``choice``, 2-10 levels of a ``score``; four images), caught before any request. ``limit`` names
    the limit, ``given`` what was sent."""

    def __init__(self, message: str, *, limit: int | None = None, given: int | None = None) -> None:
        super().__init__(message)
        self.limit, self.given = limit, given


class UnsupportedInput(BadInput):
    """An input the model refuses by kind, caught before any request: an unknown question or field
    type, an image that is a remote URL or not PNG/JPEG/WebP, audio or video for a model without it."""


class NotFound(WorkersAIError):
    """A resource does not exist (404 without a more specific code). Every "not found" below is one:
    ``except NotFound`` catches a missing model, index, AI Search instance, batch or D1 database."""


class ModelNotFound(NotFound):
    """No such model (5007, 3042), a model past its deprecation date (5028, HTTP 410), or a model id
    the client's catalog does not know."""


class AuthenticationError(WorkersAIError):
    """The API token is missing, wrong or lacks permission (401/403, 10000)."""


class TermsNotAgreed(WorkersAIError):
    """The model's terms must be accepted first (5016)."""


class DailyQuotaExceeded(WorkersAIError):
    """The free daily neuron allocation is used up (429, 3036). Retrying today will not help."""


class RateLimited(WorkersAIError):
    """Too many requests (429, 3021 per-minute limit)."""

    retryable = True


class CapacityExceeded(RateLimited):
    """Capacity temporarily exceeded (429, 3040); retry after a pause.

    A subclass of :class:`RateLimited` on purpose: both are a 429 the service sent before doing the
    work, and every consumer but one treats them alike: they are retried after a pause
    (:func:`~workersai.retry.is_retryable`), count as proof the request was not carried out
    (``retry.is_unsent``), mark the model busy in its health record (``transport._watched``) and
    move a fallback chain to the next model (:data:`workersai.fallback.FALLBACK_ERRORS`). The one
    difference is the pacer: 3040 is the service's capacity, not this client's sending rate, so
    ``transport._paced`` excludes it by ``isinstance`` before slowing the model's rate. ``except
    RateLimited`` therefore catches both; ``except CapacityExceeded`` only the capacity refusals."""


class RequestTimeout(WorkersAIError):
    """The service timed out or aborted the request (408, 3007 / 3008)."""

    retryable = True


class Conflict(WorkersAIError):
    """A request that conflicts with the resource's state (409), such as a Vectorize index name or a
    metadata index that exists already.

    Not retried: Cloudflare documents no transient 409 (its Vectorize API reference,
    developers.cloudflare.com/api/resources/vectorize/, lists only generic 4XX failures, and the 409s
    seen are lasting states: ``vectorize.index.duplicate_name`` 3002, a metadata index that exists), so
    the same request would only fail again."""


class ServerError(WorkersAIError):
    """An internal error on the service (5xx)."""

    retryable = True


class APIConnectionError(WorkersAIError):
    """The request never got an answer: connection refused, reset or broken.

    ``request_sent`` is False only when the connection could not be made (nothing was sent, so the
    service cannot have acted on the request); after a reset or a timeout it may have.
    """

    retryable = True
    request_sent: bool = True


class APITimeoutError(APIConnectionError):
    """The client's own timeout expired before the service answered."""


class DeadlineExceeded(WorkersAIError, TimeoutError):
    """A call's total time budget (``deadline=``) ran out across its attempts and fallbacks. Neither
    retried nor a reason to fall back (no model is left time); also a ``TimeoutError``."""

    retryable = False


class StreamInterrupted(WorkersAIError):
    """A server-sent event stream ended before ``[DONE]``: the answer is incomplete."""


class ResponseFormatError(WorkersAIError):
    """The service answered with something that is not the documented shape (not JSON, missing fields)."""


class IndexNotFound(NotFound):
    """No Vectorize index by that name (3000)."""


class InstanceNotFound(NotFound):
    """The AI Search instance (or item) does not exist (a 404 on an instance's path)."""


class BatchNotFound(NotFound, BadInput):
    """The service does not know this Batch API ``request_id`` for this model (never queued, or
    expired): the service answers a bad-input error, so it is also a :class:`BadInput`, as it was
    before it joined :class:`NotFound`."""


class DatabaseNotFound(NotFound):
    """No D1 database with that id (404, 7404: "The database <id> could not be found", the API's
    answer as wrangler reports it; the code is not in the API reference)."""


class IndexAlreadyExists(Conflict):
    """A Vectorize index with that name exists already (3002): a :class:`Conflict`."""


class DimensionMismatch(BadInput):
    """Vector dimensions do not match the index (40006 query, 40012 insert)."""


class MetadataTooLarge(BadInput):
    """A vector's metadata is over Vectorize's 10 KiB (compact JSON) without counting a document text
    the store keeps in it: the metadata must shrink (a longer text alone is
    :class:`~workersai.vectorize.TextTooLong`). Raised before any request."""


class PageLoadError(BadInput):
    """Browser Run could not load or work on the page (422: a ``net::`` error of Chrome, internal codes
    5000-5011, or another failure on the target site; developers.cloudflare.com/browser-run/reference/
    errors/). ``url`` is the page asked for. Not retried: the same page fails the same way."""

    url: str | None = None


class MutationTimeout(WorkersAIError):
    """A Vectorize mutation was not applied within the time allowed to wait for it."""


class BindingUnsupported(ConfigurationError):
    """An operation a Workers binding (``env.AI``, ``env.VECTORIZE``, ``env.DB``) cannot do: a sync call on
    the binding path (a Worker's isolate cannot block), or a request the binding has no method for
    (creating an index or a database, listing ids, D1 without ``d1_binding``, AI Search). Use the async
    twin, or a REST client (account id and token)."""


class BindingError(WorkersAIError):
    """A Workers binding threw something that names no Cloudflare error code or status: its message is
    kept as the binding gave it."""


_BY_CODE: dict[int, type[WorkersAIError]] = {
    3000: IndexNotFound,
    3002: IndexAlreadyExists,
    3003: BadInput,
    3006: RequestTooLarge,
    3007: RequestTimeout,
    3008: RequestTimeout,
    3021: RateLimited,
    3036: DailyQuotaExceeded,
    3040: CapacityExceeded,
    3042: ModelNotFound,
    5006: BadInput,
    5007: ModelNotFound,
    5016: TermsNotAgreed,
    5028: ModelNotFound,
    7404: DatabaseNotFound,
    10000: AuthenticationError,
    40006: DimensionMismatch,
    40007: BadInput,
    40012: DimensionMismatch,
    40025: BadInput,
    40026: BadInput,
}


def _by_status(status: int) -> type[WorkersAIError]:
    if status in (401, 403):
        return AuthenticationError
    if status == 404:
        return NotFound
    if status == 408:
        return RequestTimeout
    if status == 409:
        return Conflict
    if status == 413:
        return RequestTooLarge
    if status == 429:
        return RateLimited
    if status >= 500:
        return ServerError
    return BadInput


def error_for_code(message: str, *, code: int | None, status: int | None = None) -> WorkersAIError:
    """The typed error for a Cloudflare error ``code`` (else ``status``) outside an HTTP answer: what a
    Workers binding throws. Neither known: :class:`BindingError`."""
    if code is not None and code in _BY_CODE:
        cls = _BY_CODE[code]
    elif status is not None and status >= 400:
        cls = _by_status(status)
    else:
        cls = BindingError
    errors = [{"code": code, "message": message}] if code is not None else []
    return cls(message, status=status, code=code, errors=errors)


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a ``Retry-After`` header (delta-seconds or HTTP date), or None."""
    value = headers.get("retry-after")
    if value is None:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


_NO_ROUTE = {7000, 7003}
"""The API's "No route for that URI" / "Could not route to ..." codes: the URL itself is wrong."""


def _no_route_hint(response: httpx.Response) -> str:
    """What is wrong with a URL the API could not route: the base URL, else the account id."""
    try:
        path = response.request.url.path
    except RuntimeError:  # a response built without its request
        path = ""
    if "/client/v4/" not in path:
        return (
            "the base URL must end with /client/v4: https://api.cloudflare.com/client/v4, or the URL "
            "workersai-local prints (CLOUDFLARE_API_BASE_URL)"
        )
    return (
        "check CLOUDFLARE_ACCOUNT_ID (the 32-character hex id on the dashboard, not an e-mail or a name) and "
        "the model or index name in the URL"
    )


def _model_suggestion(response: httpx.Response) -> str:
    """:func:`workersai.catalog.suggestion_for` the request ``response`` answers ("" without one)."""
    from urllib.parse import unquote

    from .catalog import suggestion_for

    try:
        request = response.request
        body = request.content
    except RuntimeError:  # a response built without its request, or a streamed body (httpx.StreamError)
        return ""
    return suggestion_for(unquote(request.url.path), body)


CONNECT_HINT = (
    "check the base URL (CLOUDFLARE_API_BASE_URL, or base_url=); for the local emulator, is"
    " `workersai-local` running? (it prints the base URL to export)"
)
"""What a refused connection adds to its message."""


def connect_hint(url: httpx.URL) -> str:
    """Where nothing answered (scheme, host and port only: never a path or query) and what to check."""
    return f"; nothing answered at {url.scheme}://{url.host}:{url.port}: {CONNECT_HINT}"


AUTH_HINT = (
    "check the API token (CLOUDFLARE_API_TOKEN, or api_token=): against Cloudflare, a token with Workers AI"
    " (and Vectorize) permissions for CLOUDFLARE_ACCOUNT_ID; against the local emulator, the token"
    " `workersai-local` printed (kept in its --data-dir, in the file `token`)"
)
"""What an authentication error adds to the service's message: which setting to look at (never its
value)."""


def error_from_response(response: httpx.Response) -> WorkersAIError:
    """Build the typed error for a failed response (status >= 400 or ``success: false``)."""
    status = response.status_code
    errors: list[dict[str, Any]] = []
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if isinstance(body, dict):
        raw = body.get("errors")
        if isinstance(raw, list):
            errors = [e for e in raw if isinstance(e, dict)]
        elif isinstance(body.get("error"), dict):  # the OpenAI-compatible endpoints
            errors = [body["error"]]
        elif isinstance(body.get("error"), str):
            errors = [{"message": body["error"]}]
    code = next((e["code"] for e in errors if isinstance(e.get("code"), int)), None)
    if errors:
        message = "; ".join(str(e.get("message", "")) for e in errors) or response.reason_phrase
    else:
        snippet = response.text[:200].strip() if body is None else ""
        message = f"HTTP {status} {response.reason_phrase}" + (f": {snippet}" if snippet else "")
    cls: type[WorkersAIError] = (
        _BY_CODE.get(code, _by_status(status)) if code is not None else _by_status(status)
    )
    if code in _NO_ROUTE:
        cls, message = ConfigurationError, f"{message}; {_no_route_hint(response)}"
    if code in (3042, 5007):  # no such model: the bundled catalog's closest ids, if any
        message += _model_suggestion(response)
    if cls is AuthenticationError:
        message += f"; {AUTH_HINT}"
    if status < 400 and cls is BadInput:
        cls = ResponseFormatError if not errors else BadInput
    return cls(
        message,
        status=status,
        code=code,
        errors=errors,
        retry_after=parse_retry_after(response.headers),
    )
