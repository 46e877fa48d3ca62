"""Page-numbered lists as the Cloudflare v4 API pages them, for the official SDKs' paginators.

cloudflare-python's ``pagination.py``: ``V4PagePaginationArray`` (``ai.models.list``,
``aisearch.instances.list``, ``aisearch.namespaces.instances.items.list``, ``d1.database.list``) reads
``result`` (a list) and ``result_info.page`` / ``per_page``, asks for ``page + 1`` after every page and
stops at the first empty one; ``SinglePage`` (``ai.tasks.list``, ``ai.authors.list``,
``vectorize.indexes.list``) reads ``result`` once. A list route that ignores ``page`` answers every page
with the same items, and the SDK's ``for x in client...list()`` never ends. So a page past the last is
empty, and ``result_info`` carries ``page``, ``per_page``, ``count``, ``total_count`` and
``total_pages`` (the v4 envelope's ``result_info``, developers.cloudflare.com/fundamentals/api/how-to/
make-api-calls/ "Pagination").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from . import Rejected

T = TypeVar("T")


@dataclass(frozen=True)
class Page:
    """A checked ``page`` (1-based) and ``per_page``."""

    page: int
    per_page: int

    def of(self, items: Sequence[T]) -> tuple[list[T], dict[str, int]]:
        """This page of ``items`` and its ``result_info``."""
        start = (self.page - 1) * self.per_page
        chosen = list(items[start : start + self.per_page])
        info = {
            "page": self.page,
            "per_page": self.per_page,
            "count": len(chosen),
            "total_count": len(items),
            "total_pages": -(-len(items) // self.per_page),
        }
        return chosen, info


def page(
    params: Mapping[str, str], *, default_per_page: int, max_per_page: int, code: int | None, prefix: str
) -> Page:
    """``page`` and ``per_page`` of a list request (400 with ``code`` when one is not a positive integer
    or ``per_page`` is over ``max_per_page``)."""

    def number(key: str, default: int, high: int | None) -> int:
        raw = params.get(key)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise Rejected(400, code, f"{prefix}{key} must be an integer, got {raw!r}") from None
        if value < 1 or (high is not None and value > high):
            bound = f"1..{high}" if high is not None else ">= 1"
            raise Rejected(400, code, f"{prefix}{key} must be {bound}, got {value}")
        return value

    return Page(number("page", 1, None), number("per_page", default_per_page, max_per_page))


def listing(items: list[Any], info: Mapping[str, Any]) -> dict[str, Any]:
    """The v4 envelope of a page: ``result`` and ``result_info``."""
    return {"result": items, "result_info": dict(info), "success": True, "errors": [], "messages": []}
