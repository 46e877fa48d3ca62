"""What Vectorize answers, as typed models, and the parsers that turn a ``result`` into them.

Every parser raises :class:`~workersai.errors.ResponseFormatError` for an answer of the wrong shape,
never ``KeyError``, ``TypeError`` or a pydantic error.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, Field, ValidationError

from ..errors import ResponseFormatError

Metric = Literal["cosine", "euclidean", "dot-product"]
ReturnMetadata = Literal["none", "indexed", "all"]
M = TypeVar("M", bound=BaseModel)


class Vector(BaseModel):
    """One vector to write, or one read back."""

    id: str
    values: list[float]
    metadata: dict[str, Any] | None = None
    namespace: str | None = None


class Match(BaseModel):
    """One query result."""

    id: str
    score: float
    values: list[float] | None = None
    metadata: dict[str, Any] | None = None
    namespace: str | None = None


class QueryResult(BaseModel):
    count: int
    matches: list[Match] = Field(default_factory=list)


def _number_as_text(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


# REST answers strings; workerd's VectorizeIndexInfo types both as numbers (a binding's describe()).
_Progress = Annotated[str | None, BeforeValidator(_number_as_text)]


class IndexInfo(BaseModel):
    """``/info`` (or a binding's ``describe()``): size and how far mutations have been applied."""

    dimensions: int
    vector_count: int = Field(alias="vectorCount")
    processed_up_to_mutation: _Progress = Field(default=None, alias="processedUpToMutation")
    processed_up_to_datetime: _Progress = Field(default=None, alias="processedUpToDatetime")


class IndexDescription(BaseModel):
    name: str
    description: str = ""
    dimensions: int
    metric: str
    created_on: str | None = None
    modified_on: str | None = None


def model(cls: type[M]) -> Callable[[Any], M]:
    """A parser of ``result`` into ``cls``."""

    def parse(result: Any) -> M:
        try:
            return cls.model_validate(result)
        except ValidationError as exc:
            raise ResponseFormatError(f"unexpected {cls.__name__} shape: {exc}") from None

    return parse


def mutation_id(result: Any) -> str:
    if not isinstance(result, Mapping) or not isinstance(result.get("mutationId"), str):
        raise ResponseFormatError(f"write result has no mutationId: {result!r}")
    return str(result["mutationId"])


def description(result: Any) -> IndexDescription:
    if not isinstance(result, Mapping) or not isinstance(result.get("config"), Mapping):
        raise ResponseFormatError(f"index description without config: {result!r}")
    config = result["config"]
    return model(IndexDescription)(
        {
            "name": result.get("name", ""),
            "description": result.get("description") or "",
            "dimensions": config.get("dimensions", 0),
            "metric": config.get("metric", ""),
            "created_on": result.get("created_on"),
            "modified_on": result.get("modified_on"),
        }
    )


def descriptions(result: Any) -> list[IndexDescription]:
    if not isinstance(result, list):
        raise ResponseFormatError(f"index list is not a list: {type(result).__name__}")
    return [description(item) for item in result]


def vectors(result: Any) -> list[Vector]:
    if not isinstance(result, list):
        raise ResponseFormatError("get_by_ids result is not a list")
    parse = model(Vector)
    return [parse(item) for item in result]


def stored_keys(result: Any) -> dict[str, str | None]:
    """``{id: namespace}`` of a ``get_by_ids`` answer, reading nothing else (a check of which ids are
    stored needs neither values nor metadata)."""
    if not isinstance(result, list):
        raise ResponseFormatError("get_by_ids result is not a list")
    out: dict[str, str | None] = {}
    for item in result:
        vid = item.get("id") if isinstance(item, Mapping) else None
        namespace = item.get("namespace") if isinstance(item, Mapping) else None
        if not isinstance(vid, str) or not (namespace is None or isinstance(namespace, str)):
            raise ResponseFormatError(f"get_by_ids item without a string id and namespace: {item!r:.200}")
        out[vid] = namespace
    return out


def _has_strings(item: Any, *keys: str) -> bool:
    return isinstance(item, Mapping) and all(isinstance(item.get(k), str) for k in keys)


def metadata_indexes(result: Any) -> dict[str, str]:
    """``{property: type}`` from ``metadata_index/list``."""
    items = result.get("metadataIndexes") if isinstance(result, Mapping) else None
    if not isinstance(items, list) or not all(
        isinstance(i, Mapping)
        and isinstance(i.get("propertyName"), str)
        and isinstance(i.get("indexType"), str)
        for i in items
    ):
        raise ResponseFormatError(f"metadata index list of the wrong shape: {result!r}")
    return {i["propertyName"]: i["indexType"] for i in items}


class IdPage(BaseModel):
    """One page of ``/list``: ids and the cursor to the next page."""

    ids: list[str]
    next_cursor: str | None = None


def id_page(result: Any) -> IdPage:
    items = result.get("vectors") if isinstance(result, Mapping) else None
    if not isinstance(items, list) or not all(
        isinstance(i, Mapping) and isinstance(i.get("id"), str) for i in items
    ):
        raise ResponseFormatError(f"list result without vector ids: {result!r}")
    cursor = result.get("nextCursor")
    more = bool(result.get("isTruncated")) and isinstance(cursor, str) and bool(cursor)
    return IdPage(ids=[i["id"] for i in items], next_cursor=cursor if more else None)
