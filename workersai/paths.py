"""Request paths, built in one place: every id a resource puts in a URL path goes through :func:`path`.

An id is checked against the service's grammar for it (``re.fullmatch``: ``"docs\\n"`` is refused, as
``re.match`` with ``$`` would let it through) and refused as :class:`~workersai.errors.BadInput` before
any request; where the service states no grammar for a value it assigns itself, the id is
percent-encoded (``quote(safe="")``) into one segment. A bare ``.`` or ``..`` is refused always:
httpx resolves dot segments (``items/..`` is the instance itself), and percent-encoding leaves dots
as they are.

The grammars and where they come from:

- AI Search instance ids: "Lowercase alphanumeric, hyphens, and underscores", 1-64 characters
  (API reference, developers.cloudflare.com/api/resources/ai_search/subresources/instances: ``id``,
  ``minLength 1``, ``maxLength 64``). Namespace names have no stated pattern (the namespaces REST page,
  developers.cloudflare.com/ai-search/api/namespaces/rest-api/, puts them in the path as
  ``/ai-search/namespaces/{name}``): they are held to the instance id grammar, which ``default`` meets.
- AI Search item ids: assigned by the service (API reference, ``.../instances/{id}/items/{item_id}``,
  ``item_id: string`` without a pattern): percent-encoded. A ``/`` or ``\\`` is refused rather than
  encoded, because servers decode ``%2F`` before routing (Starlette does), so an encoded slash could
  still move the request; control characters are refused too.
- D1 database ids: "D1 database identifier (UUID)" (API reference, D1 > Database, ``database_id``;
  the official SDK's ``D1.uuid``), ``xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`` in hex.
- Vectorize index names: ``[a-z][a-z0-9_-]*[a-z0-9]``, at most 64 bytes (design.md;
  :func:`workersai.vectorize.checks.check_index_name`).
- Model ids: ``@cf/<author>/<name>`` with its slashes, unencoded, as the service routes them
  (``/ai/run/@cf/baai/bge-base-en-v1.5``, design.md); each segment starts with a letter or digit, so no
  segment is ``.`` or ``..`` (:func:`workersai.validation.check_model`, which raises
  :class:`~workersai.errors.ModelNotFound` for an id of the wrong form).

Not in any path, so not here: Batch API ``request_id`` s and Vectorize metadata property names travel
in JSON bodies; vector ids in bodies too.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from .errors import BadInput

_AI_SEARCH_ID = re.compile(r"[a-z0-9_-]{1,64}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DOT_SEGMENTS = {".", ".."}
MAX_FREE_ID = 512
"""The longest service-assigned id sent (no limit is documented; a longer one is no id it assigned)."""


def _matching(pattern: re.Pattern[str], what: str, rule: str) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or not pattern.fullmatch(value):
            raise BadInput(f"{what} {value!r}: {rule}")
        return value

    return check


ai_search_id = _matching(
    _AI_SEARCH_ID, "AI Search instance id", "use 1-64 lowercase letters, digits, '-' or '_'"
)
ai_search_namespace = _matching(
    _AI_SEARCH_ID, "AI Search namespace", "use 1-64 lowercase letters, digits, '-' or '_'"
)
d1_database_id = _matching(
    _UUID,
    "D1 database id",
    "a database's uuid (xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx), as create_database answers",
)


def free_segment(value: Any, what: str) -> str:
    """A service-assigned id with no stated grammar, as one percent-encoded path segment."""
    if not isinstance(value, str) or not value or len(value) > MAX_FREE_ID:
        raise BadInput(
            f"{what} must be a non-empty string of at most {MAX_FREE_ID} characters, got {value!r}"
        )
    if value in _DOT_SEGMENTS or "/" in value or "\\" in value or not value.isprintable():
        raise BadInput(
            f"{what} {value!r} cannot be a path segment ('.', '..', '/', '\\' or a control character)"
        )
    try:
        return quote(value, safe="")
    except UnicodeEncodeError:  # a lone surrogate
        raise BadInput(f"{what} is not valid Unicode text") from None


def _item_id(value: Any) -> str:
    return free_segment(value, "AI Search item id")


def _index_name(value: Any) -> str:
    from .vectorize.checks import check_index_name  # on use: keeps ``import workersai`` light

    return check_index_name(value)


def _crawl_job(value: Any) -> str:
    return free_segment(value, "Browser Run crawl job id")


def _model(value: Any) -> str:
    from .validation import check_model

    return check_model(value, use_catalog=False)


SEGMENTS: dict[str, Callable[[Any], str]] = {
    "instance": ai_search_id,
    "namespace": ai_search_namespace,
    "item": _item_id,
    "database": d1_database_id,
    "index": _index_name,
    "model": _model,
    "crawl_job": _crawl_job,
}
"""The placeholders a path template may hold, each with the check (and encoding) of its value."""

_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def path(template: str, **ids: Any) -> str:
    """``template`` with each ``{placeholder}`` replaced by its id, checked (and encoded) by the
    grammar :data:`SEGMENTS` names for it: ``path("d1/database/{database}/query", database=uuid)``.
    Raises :class:`~workersai.errors.BadInput` (:class:`~workersai.errors.ModelNotFound` for a model id
    of the wrong form) before any request."""
    unused = set(ids)

    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        unused.discard(name)
        value = SEGMENTS[name](ids[name])
        if value in _DOT_SEGMENTS:  # no grammar above lets one through; kept as the last guard
            raise BadInput(f"{name} {value!r} cannot be a path segment")
        return value

    built = _PLACEHOLDER.sub(fill, template)
    if unused:
        raise TypeError(f"path {template!r} has no placeholder for {sorted(unused)}")
    return built
