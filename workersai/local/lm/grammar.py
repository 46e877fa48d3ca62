"""Grammar-constrained decoding with llguidance: JSON schemas, JSON objects and tool calls.

llguidance (MIT, dependency-free, works from a `tokenizers` JSON and numpy masks) compiles a JSON
schema lazily, so a new schema costs about a millisecond and a mask well under one per step.

Schemas are made strict before compiling: objects get ``additionalProperties: false`` unless they say
otherwise, and strings without a ``maxLength`` get one, so a small model cannot run a string or an
object on until ``max_tokens`` cuts the JSON short. Separators are ``", "`` and ``": "`` with no other
whitespace: the model writes JSON that way, and with compact separators llguidance lets it pick token
splits it never saw in training (greedy decoding then answered wrong values).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np
from llguidance import LLMatcher, LLTokenizer
from llguidance.numpy import allocate_token_bitmask, fill_next_token_bitmask
from numpy.typing import NDArray

from .weights import Array

if TYPE_CHECKING:
    from llguidance._lib import JsonCompileOptions

DEFAULT_MAX_STRING = 120
_OPTIONS: JsonCompileOptions = {"whitespace_flexible": False, "item_separator": ", ", "key_separator": ": "}
_SCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")
_SCHEMA_MAPS = ("properties", "$defs", "definitions", "patternProperties")
_SCHEMA_ONE = ("items", "additionalItems", "not", "if", "then", "else", "contains")


_SCALAR: list[dict[str, Any]] = [
    {"type": "string", "maxLength": DEFAULT_MAX_STRING},
    {"type": "number"},
    {"type": "boolean"},
    {"type": "null"},
]
# json_object mode: any object, but with bounded strings and nesting so it can end within max_tokens.
ANY_OBJECT: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {
        "anyOf": [
            *_SCALAR,
            {"type": "array", "items": {"anyOf": _SCALAR}, "maxItems": 16},
            {"type": "object", "additionalProperties": {"anyOf": _SCALAR}},
        ]
    },
}


class GrammarError(ValueError):
    """A schema llguidance cannot compile."""


def strict_schema(schema: Any) -> Any:
    """A copy of ``schema`` with closed objects and bounded strings (see the module docstring)."""
    if not isinstance(schema, Mapping):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_LISTS and isinstance(value, list):
            out[key] = [strict_schema(v) for v in value]
        elif key in _SCHEMA_MAPS and isinstance(value, Mapping):
            out[key] = {k: strict_schema(v) for k, v in value.items()}
        elif key in _SCHEMA_ONE or (key == "additionalProperties" and isinstance(value, Mapping)):
            out[key] = strict_schema(value)
        else:
            out[key] = value
    kinds = out.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if (
        ("object" in kinds or "properties" in out)
        and "additionalProperties" not in out
        and out.get("properties")
    ):
        out["additionalProperties"] = False
    if "string" in kinds and "maxLength" not in out and "enum" not in out and "const" not in out:
        out["maxLength"] = DEFAULT_MAX_STRING
    return out


def response_schema(response_format: Mapping[str, Any]) -> dict[str, Any]:
    """The schema a ``response_format`` asks for: its json_schema, or :data:`ANY_OBJECT`."""
    if response_format.get("type") == "json_schema":
        wrapper = response_format.get("json_schema")
        schema = wrapper.get("schema", wrapper) if isinstance(wrapper, Mapping) else None
        if isinstance(schema, Mapping) and schema:
            return dict(strict_schema(schema))
    return ANY_OBJECT


class Grammar:
    """One request's matcher: masks logits to what the grammar allows and follows sampled tokens.

    Near the end of the token budget the mask turns to *closing*: when the grammar allows a token made
    only of closing characters (``"``, ``}``, ``]``), only those stay, so a string or an object a small
    model would run on (a URL repeating itself) ends before ``max_tokens`` cuts it. Where none is
    allowed (inside a number, before a required key) the model goes on as it would.
    """

    def __init__(self, lltok: LLTokenizer, schema: Mapping[str, Any], closers: NDArray[np.bool_]) -> None:
        grammar = LLMatcher.grammar_from_json_schema(json.dumps(schema), defaults=_OPTIONS)
        self.matcher = LLMatcher(lltok, grammar, log_level=0)
        if self.matcher.is_error():
            raise GrammarError(self.matcher.get_error())
        self._bitmask = allocate_token_bitmask(1, lltok.vocab_size)
        self._closers = closers

    def mask(self, logits: Array, *, closing: bool = False) -> Array:
        fill_next_token_bitmask(self.matcher, self._bitmask)
        allowed = np.unpackbits(self._bitmask[0].view(np.uint8), bitorder="little")[: len(logits)].astype(
            bool
        )
        if closing:
            closers = allowed & self._closers[: len(allowed)]
            if closers.any():
                allowed = closers
        masked: Array = np.where(allowed, logits, np.float32(-np.inf))
        return masked

    def consume(self, token: int) -> None:
        self.matcher.consume_token(token)
        if self.matcher.is_error():
            raise GrammarError(self.matcher.get_error())

    @property
    def done(self) -> bool:
        """No token but the end may follow."""
        return bool(self.matcher.is_stopped())


def closing_tokens(token_bytes: list[bytes]) -> NDArray[np.bool_]:
    """Which tokens are only closing characters (``"``, ``}``, ``]``): wherever the grammar allows such a
    token, it ends the open string, object or array (a raw ``"`` cannot be inside a JSON string)."""
    return np.array([bool(b) and not b.strip(b'"}]') for b in token_bytes], dtype=bool)


def make_lltokenizer(tokenizer_json: str, eos: int) -> LLTokenizer:
    return LLTokenizer(tokenizer_json, eos_token=eos)
