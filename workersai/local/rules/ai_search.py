"""AI Search (formerly AutoRAG) rules, stated by the emulator from Cloudflare's pages:

- instance ids: "Lowercase alphanumeric, hyphens, and underscores", 1-64 characters (API reference,
  developers.cloudflare.com/api/resources/ai_search/subresources/instances);
- chunking: chunk overlap is a percentage of the chunk's tokens, 0-30
  (developers.cloudflare.com/ai-search/configuration/indexing/chunking/); the chunk size range "may vary
  depending on the model" and is not stated: the emulator takes 64-2048 tokens, default 256;
- search options (``ai_search_options``): ``retrieval.max_num_results`` 1-50 (default 10),
  ``retrieval.match_threshold`` 0-1 (default 0.4), ``retrieval_type`` hybrid | vector | keyword,
  ``fusion_method`` max | rrf, ``keyword_match_mode`` exact_match | fuzzy_match (default exact_match),
  ``reranking.match_threshold`` (default 0.4), ``messages`` with roles system | developer | user |
  assistant | tool (API reference, instances/methods/search and chat_completions);
- filters: keys are metadata attributes (folder, filename, timestamp, custom fields), values a value
  (implicit ``$eq``) or an object of ``$eq $ne $in $nin $lt $lte $gt $gte``
  (developers.cloudflare.com/ai-search/configuration/retrieval/filtering/);
- item uploads: multipart ``file`` (max 4 MB, filename at most 128 characters), optional ``metadata`` (a
  JSON string) (API reference, namespaces/instances/items/methods/upload).

The error codes for these refusals are not documented; the emulator answers 400 with code 7001 (as a
Cloudflare input-validation error envelope, 400 "Input Validation Error" on the create page) and 404
without a code for an unknown instance (the status the API reference lists for a missing instance).
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from . import Rejected as Rejected

INVALID = 7001
ID_RE = re.compile(r"^[a-z0-9_-]{1,64}$")
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_FILENAME = 128
MAX_RESULTS = 50
CHUNK_SIZE = (64, 2048)
CHUNK_OVERLAP = (0, 30)
ROLES = {"system", "developer", "user", "assistant", "tool"}
OPERATORS = {"$eq", "$ne", "$in", "$nin", "$lt", "$lte", "$gt", "$gte"}

DEFAULTS: dict[str, Any] = {
    "chunk_size": 256,
    "chunk_overlap": 10,
    "max_num_results": 10,
    "score_threshold": 0.4,
    "hybrid_search_enabled": True,
    "fusion_method": "rrf",
    "keyword_tokenizer": "porter",
    "reranking": False,
    "reranking_model": "@cf/baai/bge-reranker-base",
    "rewrite_query": False,
    "rewrite_model": None,
    "embedding_model": "@cf/baai/bge-m3",
    "ai_search_model": "@cf/meta/llama-3.3-70b-instruct-fp8-fast",
    "system_prompt_aisearch": None,
    "custom_metadata": [],
}
"""Settings an instance keeps (and their defaults when not given)."""


def invalid(message: str) -> Rejected:
    return Rejected(400, INVALID, message)


def not_found(instance: str) -> Rejected:
    return Rejected(404, None, f"AI Search instance '{instance}' not found")


def json_object(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise invalid(f"the body is not valid JSON ({exc.msg})") from exc
    if not isinstance(body, dict):
        raise invalid("the body must be a JSON object")
    return body


def instance_id(value: Any) -> str:
    if not isinstance(value, str) or not ID_RE.match(value):
        raise invalid("id: lowercase alphanumeric, hyphens and underscores, 1 to 64 characters")
    return value


def _int_in(body: dict[str, Any], key: str, low: int, high: int) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise invalid(f"{key} must be an integer from {low} to {high}")


def _number_in(body: dict[str, Any], key: str, low: float, high: float) -> None:
    value = body.get(key)
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise invalid(f"{key} must be a number from {low} to {high}")


def _choice(body: dict[str, Any], key: str, allowed: set[str]) -> None:
    value = body.get(key)
    if value is not None and value not in allowed:
        raise invalid(f"{key} must be one of {sorted(allowed)}")


def settings(body: dict[str, Any], *, base: dict[str, Any] | None = None) -> dict[str, Any]:
    """An instance's settings from a create or update body, over ``base`` (or the defaults)."""
    _int_in(body, "chunk_size", *CHUNK_SIZE)
    _int_in(body, "chunk_overlap", *CHUNK_OVERLAP)
    _int_in(body, "max_num_results", 1, MAX_RESULTS)
    _number_in(body, "score_threshold", 0, 1)
    _choice(body, "fusion_method", {"max", "rrf"})
    _choice(body, "keyword_tokenizer", {"porter", "trigram"})
    for flag in ("hybrid_search_enabled", "reranking", "rewrite_query"):
        if body.get(flag) is not None and not isinstance(body[flag], bool):
            raise invalid(f"{flag} must be a boolean")
    out = dict(base if base is not None else DEFAULTS)
    for key in DEFAULTS:
        if body.get(key) is not None:
            out[key] = body[key]
    return out


def messages(body: dict[str, Any]) -> list[dict[str, str]]:
    """The request's messages (``query``, a plain string, is taken as one user message)."""
    raw = body.get("messages")
    if raw is None and isinstance(body.get("query"), str):
        raw = [{"role": "user", "content": body["query"]}]
    if not isinstance(raw, list) or not raw:
        raise invalid("messages: a non-empty array is required")
    out = []
    for m in raw:
        if not isinstance(m, dict) or m.get("role") not in ROLES or not isinstance(m.get("content"), str):
            raise invalid(
                "messages[]: each needs a role (system, developer, user, assistant, tool) and content"
            )
        out.append({"role": m["role"], "content": m["content"]})
    if not any(m["role"] == "user" and m["content"].strip() for m in out):
        raise invalid("messages: a user message with content is required")
    return out


def search_options(body: dict[str, Any], instance: dict[str, Any]) -> dict[str, Any]:
    """The effective retrieval settings: the request's ``ai_search_options`` over the instance's."""
    opts = body.get("ai_search_options") or {}
    if not isinstance(opts, dict):
        raise invalid("ai_search_options must be an object")
    retrieval = opts.get("retrieval") or {}
    rewrite = opts.get("query_rewrite") or {}
    rerank = opts.get("reranking") or {}
    for name, part in (("retrieval", retrieval), ("query_rewrite", rewrite), ("reranking", rerank)):
        if not isinstance(part, dict):
            raise invalid(f"ai_search_options.{name} must be an object")
    _int_in(retrieval, "max_num_results", 1, MAX_RESULTS)
    _number_in(retrieval, "match_threshold", 0, 1)
    _number_in(rerank, "match_threshold", 0, 1)
    _choice(retrieval, "retrieval_type", {"hybrid", "vector", "keyword"})
    _choice(retrieval, "fusion_method", {"max", "rrf"})
    _choice(retrieval, "keyword_match_mode", {"exact_match", "fuzzy_match"})
    filters = retrieval.get("filters") or {}
    check_filters(filters)
    default_type = "hybrid" if instance["hybrid_search_enabled"] else "vector"

    def pick(part: dict[str, Any], key: str, default: Any) -> Any:
        return part[key] if part.get(key) is not None else default

    return {
        "max_num_results": pick(retrieval, "max_num_results", instance["max_num_results"]),
        "match_threshold": float(pick(retrieval, "match_threshold", instance["score_threshold"])),
        "retrieval_type": pick(retrieval, "retrieval_type", default_type),
        "fusion_method": pick(retrieval, "fusion_method", instance["fusion_method"]),
        "keyword_match_mode": pick(retrieval, "keyword_match_mode", "exact_match"),
        "filters": filters,
        "rewrite": bool(pick(rewrite, "enabled", instance["rewrite_query"])),
        "rerank": bool(pick(rerank, "enabled", instance["reranking"])),
        "rerank_threshold": float(pick(rerank, "match_threshold", 0.4)),
    }


def check_filters(filters: Any) -> None:
    if not isinstance(filters, dict):
        raise invalid("retrieval.filters must be an object of metadata attribute conditions")
    for key, cond in filters.items():
        if isinstance(cond, dict):
            for op, value in cond.items():
                if op not in OPERATORS:
                    raise invalid(f"filters.{key}: unknown operator {op!r} (use {sorted(OPERATORS)})")
                if op in ("$in", "$nin") and not isinstance(value, list):
                    raise invalid(f"filters.{key}.{op} takes an array")
        elif not isinstance(cond, (str, int, float, bool)):
            raise invalid(f"filters.{key}: a value or an object of operators")


def upload_file(filename: str, data: bytes) -> str:
    """The uploaded file's text (the emulator indexes text: Markdown, plain text, anything UTF-8)."""
    if not filename or len(filename) > MAX_FILENAME:
        raise invalid(f"file: the filename must be 1 to {MAX_FILENAME} characters")
    if len(data) > MAX_FILE_BYTES:
        raise Rejected(413, INVALID, "file: at most 4 MB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid("file: the emulator indexes UTF-8 text files only (.md, .txt, ...)") from exc


def upload_metadata(raw: Any) -> dict[str, Any]:
    if raw in (None, ""):
        return {}
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid("metadata: a JSON object string") from exc
    if not isinstance(value, dict):
        raise invalid("metadata: a JSON object string")
    return value
