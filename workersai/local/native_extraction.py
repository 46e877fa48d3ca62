"""Clairic's values in the emulator (see :mod:`.native_models`): decoded by the language model under a
grammar per field type, or the extractive generator's deterministic patterns."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .native_models import MAX_STATE_TOKENS, anchor

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{2}:\d{2}(:\d{2})?"


def value_schema(spec: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON schema a field's value is decoded under (never ``null``: whether there is a value is
    ``p_null``'s to say, see :func:`_lm_answer`)."""
    kind = spec["type"]
    if kind == "list":
        items = spec.get("items", "text")
        item = {"number": {"type": "number"}, "date": {"type": "string", "pattern": f"^{_DATE}$"}}.get(
            items, {"type": "string", "maxLength": 80}
        )
        return {"type": "array", "items": item, "maxItems": 12}
    if kind == "forecast":
        horizon = spec.get("horizon", 1)
        return {"type": "array", "items": {"type": "number"}, "minItems": 1, "maxItems": int(horizon)}
    types: dict[str, dict[str, Any]] = {
        "number": {"type": "number"},
        "estimate": {"type": "number"},
        "date": {"type": "string", "pattern": f"^{_DATE}$"},
        "time": {"type": "string", "pattern": f"^{_TIME}$"},
        "datetime": {"type": "string", "pattern": f"^{_DATE}T{_TIME}$"},
        "duration": {"type": "string", "pattern": r"^P(\d+[YMWD])*(T(\d+[HMS])+)?$", "maxLength": 24},
    }
    return types.get(kind, {"type": "string", "maxLength": 120})


def _instructions(key: str, spec: Mapping[str, Any]) -> str:
    parts = [f"Field '{key}' ({spec['type']})."]
    if isinstance(spec.get("instructions"), str):
        parts.append(spec["instructions"])
    if spec.get("unit"):
        parts.append(f"Unit: {spec['unit']}.")
    return " ".join(parts)


def lm_answers(
    generator: Any, state: str, fields: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, Any], int]:
    """Every field's answer from the language model; and the state's tokens."""
    from .lm.prompt import chat_ids
    from .lm.sampling import SamplingParams

    engine, tok = generator.engine, generator.tokenizer
    state_ids = tok.encode(state)[:MAX_STATE_TOKENS]
    text = tok.decode(state_ids)
    system = "Copy the requested value from the text, as JSON. Answer null when the text does not give it."
    answers: dict[str, Any] = {}
    for key, spec in fields.items():
        ask = f"Text:\n{text}\n\n{_instructions(key, spec)}"
        prompt = chat_ids(tok, [{"role": "user", "content": ask}], system=system)
        schema = {"type": "object", "properties": {"value": value_schema(spec)}, "required": ["value"]}
        completion = engine.complete(prompt, SamplingParams(temperature=0.0), max_tokens=48, schema=schema)
        raw = "".join(completion)
        try:
            value = json.loads(raw)["value"]
        except (ValueError, KeyError, TypeError):
            value = [] if spec["type"] == "list" else None
        baseline = chat_ids(
            tok, [{"role": "user", "content": f"Text:\nN/A\n\n{_instructions(key, spec)}"}], system=system
        )
        answers[key] = _lm_answer(engine, tok, (prompt, baseline), state, spec, value)
    return answers, len(state_ids)


def _lm_answer(
    engine: Any,
    tok: Any,
    prompts: tuple[list[int], list[int]],
    state: str,
    spec: Mapping[str, Any],
    value: Any,
) -> dict[str, Any]:
    """The answer for a decoded ``value``: anchored in the state; ``p_null`` from the model's
    log-probabilities of ``null`` and of the value at the same place, calibrated by the same
    comparison after a content-free text ("N/A", contextual calibration: a 135M model otherwise
    prefers ``null`` whatever the text), through a logistic."""
    kind = spec["type"]
    if kind == "list":
        values = list(
            dict.fromkeys(str(v) for v in value if isinstance(v, (str, int, float)) and str(v) in state)
        )
        return {
            "type": "list",
            "value": values,
            "spans": _all_spans(state, values),
            "confidence": 0.5 if values else 0.0,
        }
    span = None
    if isinstance(value, str) and kind == "text":
        anchored = anchor(state, value)
        value, span = (anchored[0], anchored[1]) if anchored else (None, None)
    elif value is not None:
        found = anchor(state, str(value))
        span = found[1] if found else None
    start = tok.encode('{"value": ')
    other = tok.encode(json.dumps(value if value is not None else "") + "}")
    margins = []
    for prompt in prompts:
        prefix = engine.prefill(prompt + start)
        scores = engine.score(prefix, [tok.encode("null}"), other]).scores
        margins.append(scores[1] - scores[0])
    p_null = 1.0 / (1.0 + math.exp(max(-60.0, min(60.0, margins[0] - margins[1]))))
    if value is None:
        p_null = max(p_null, 0.51)  # not in the state: null whatever the threshold
    p_null = round(p_null, 4)
    return {
        "type": kind,
        "value": value,
        "span": span,
        "confidence": round(1.0 - p_null, 4),
        "p_null": p_null,
    }


def _all_spans(state: str, values: list[str]) -> list[list[int]]:
    spans: list[list[int]] = []
    for value in values:
        spans.extend([m.start(), m.end()] for m in re.finditer(re.escape(value), state))
    return sorted(spans)


_NUMBER = r"(?<![\w-])-?\$?\d[\d,]*(?:\.\d+)?"
_PATTERNS = {
    "date": r"\b\d{4}-\d{2}-\d{2}\b",
    "datetime": r"\b\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2})?\b",
    "time": r"\b\d{1,2}:\d{2}(?::\d{2})?\b",
    "duration": r"\b\d+\s*(?:seconds?|minutes?|hours?|days?|weeks?|months?|years?)\b",
    "number": _NUMBER,
    "estimate": _NUMBER,
    "forecast": _NUMBER,
}
_NAME = r"\b[A-Z][a-z]+(?:\s+[A-Z][a-z]+)+\b"
_CODE = r"\b[A-Z]{2,}[-_]?\d+[A-Z0-9-]*\b"


def fallback_answer(state: str, spec: Mapping[str, Any]) -> dict[str, Any]:
    """The extractive generator's answer: the first match of the type's pattern in the state (a text
    field: a code such as ``INV-2291``, else a capitalised name), ``p_null`` 0.2 when one is found and
    0.9 when none is. Deterministic; not a model's judgement."""
    kind = spec["type"]
    if kind == "list":
        values = list(dict.fromkeys(m.group(0) for m in re.finditer(_NAME, state)))
        return {"type": "list", "value": values, "spans": _all_spans(state, values), "confidence": 0.5}
    pattern = _PATTERNS.get(kind)
    money = re.search(r"\$\d[\d,]*(?:\.\d+)?", state) if kind in ("number", "estimate") else None
    found = (
        money or re.search(pattern, state) if pattern else re.search(_CODE, state) or re.search(_NAME, state)
    )
    if found is None:
        return {"type": kind, "value": None, "span": None, "confidence": 0.9, "p_null": 0.9}
    text = found.group(0)
    value: Any = text
    if kind in ("number", "estimate", "forecast"):
        number = float(text.replace("$", "").replace(",", ""))
        value = int(number) if number.is_integer() else number
        value = [value] if kind == "forecast" else value
    return {
        "type": kind,
        "value": value,
        "span": [found.start(), found.end()],
        "confidence": 0.8,
        "p_null": 0.2,
    }
