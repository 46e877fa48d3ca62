"""``/ai/models/schema`` for Clef and Clairic, written from the wire :mod:`workersai.decisions` and
:mod:`workersai.extraction` describe (and cite)."""

from __future__ import annotations

from typing import Any

from ..catalog import DECISION, ModelInfo
from ..decisions import CHOICE_OPTIONS, MAX_QUESTIONS, SCORE_LEVELS
from ..extraction import FIELD_TYPES, LIST_ITEMS, MAX_IMAGES

_MEDIA = {
    "type": "array",
    "items": {
        "oneOf": [
            {"type": "string", "pattern": "^data:[^;]+;base64,"},
            {
                "type": "object",
                "properties": {"content_type": {"type": "string"}, "base64": {"type": "string"}},
                "required": ["content_type", "base64"],
            },
        ]
    },
}
_USAGE = {
    "type": "object",
    "properties": {"input_tokens": {"type": "integer"}, "output_tokens": {"type": "integer"}},
}
_PROBABILITIES = {"type": "object", "additionalProperties": {"type": "number", "minimum": 0, "maximum": 1}}


def _decision(info: ModelInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    question = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["noul", "choice", "score"]},
            "instructions": {},
            "criteria": {
                "description": f"choice: {CHOICE_OPTIONS[0]}-{CHOICE_OPTIONS[1]} options (option -> "
                f"description); score: {SCORE_LEVELS[0]}-{SCORE_LEVELS[1]} levels in order; noul: "
                "optional {true, false}"
            },
        },
        "required": ["type"],
    }
    props: dict[str, Any] = {
        "model": {"type": "string", "const": info.name.rsplit("/", 1)[-1]},
        "state": {"description": "text, or any JSON object or array"},
        "questions": {
            "type": "object",
            "additionalProperties": question,
            "minProperties": 1,
            "maxProperties": MAX_QUESTIONS,
        },
        "images": _MEDIA,
    }
    if info.name.endswith("clef-omni"):
        props.update(audio=_MEDIA, videos=_MEDIA)
    answer = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": ["noul", "choice", "score"]},
            "noul": {"type": "number"},
            "choice": {"type": "string"},
            "score": {"type": "number"},
            "confidence": {"type": "number"},
            "probabilities": _PROBABILITIES,
            "legend": {"type": "object"},
        },
        "required": ["type"],
    }
    inputs = {"type": "object", "properties": props, "required": ["model", "state", "questions"]}
    outputs = {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "answers": {"type": "object", "additionalProperties": answer},
            "usage": _USAGE,
        },
    }
    return inputs, outputs


def _extraction(info: ModelInfo) -> tuple[dict[str, Any], dict[str, Any]]:
    field = {
        "type": "object",
        "properties": {
            "type": {"type": "string", "enum": list(FIELD_TYPES)},
            "instructions": {"type": "string"},
            "items": {"type": "string", "enum": list(LIST_ITEMS)},
            "null_threshold": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
        },
        "required": ["type"],
    }
    inputs = {
        "type": "object",
        "properties": {
            "model": {"type": "string", "const": info.name.rsplit("/", 1)[-1]},
            "state": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": field, "minProperties": 1},
            "images": {**_MEDIA, "maxItems": MAX_IMAGES},
            "reference_date": {"type": "string", "format": "date"},
            "options": {
                "type": "object",
                "properties": {
                    "include_quantiles": {"type": "boolean"},
                    "return_state_text": {"type": "boolean"},
                },
            },
        },
        "required": ["model", "fields"],
    }
    answer = {
        "type": "object",
        "properties": {
            "type": {"type": "string"},
            "value": {},
            "confidence": {"type": "number"},
            "p_null": {"type": "number"},
            "span": {"type": ["array", "null"], "items": {"type": "integer"}},
            "spans": {"type": "array", "items": {"type": "array", "items": {"type": "integer"}}},
        },
        "required": ["type", "value"],
    }
    outputs = {
        "type": "object",
        "properties": {
            "model": {"type": "string"},
            "answers": {"type": "object", "additionalProperties": answer},
            "truncated": {"type": "boolean"},
            "usage": _USAGE,
            "state_text": {"type": "string"},
        },
    }
    return inputs, outputs


def native_schema(info: ModelInfo) -> dict[str, Any]:
    inputs, outputs = _decision(info) if info.family == DECISION else _extraction(info)
    return {"input": inputs, "output": outputs}
