"""Clairic extraction: a state and typed fields in, typed values with source spans out.

The wire (no Cloudflare model page for Clairic is in the stored docs; the facts come from these):

- langchain-cloudflare 0.4.3 (``extraction_models.py``, ``tests/extraction_helpers.py``): the body
  ``{model: "clairic", state, fields, images?, reference_date?, options?}``; field types ``text``,
  ``number``, ``date``, ``time``, ``datetime``, ``duration``, ``list``, ``estimate``, ``forecast``;
  images embedded PNG/JPEG/WebP, remote URLs unsupported; ``reference_date`` anchors dates without a
  year; ``options`` ``include_quantiles`` / ``return_state_text``. Answers ``{model, answers,
  truncated, usage, state_text?}``; each answer ``{type, value, confidence, p_null, span}`` (a list:
  ``spans``; read from an image: ``source: "image"``, ``span: null``); ``value`` is ``null`` exactly
  when ``p_null`` is over the field's ``null_threshold`` (default 0.5); output tokens are 0.
- issue #32 (quoting the model page): up to four images.
- PSAIClairic 0.2.0 (powershellgallery.com): list ``items`` are ``text``, ``number`` or ``date``;
  ``null_threshold`` is in (0, 1].
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .catalog import EXTRACTION_TASK
from .decisions import Media, NativeRequest
from .errors import BadInput, UnsupportedInput
from .validation import check_model

EXTRACTION_MODEL = "@cf/cloudflare/clairic"
FIELD_TYPES = ("text", "number", "date", "time", "datetime", "duration", "list", "estimate", "forecast")
LIST_ITEMS = ("text", "number", "date")
MAX_IMAGES = 4
DEFAULT_NULL_THRESHOLD = 0.5


def check_fields(fields: Any) -> dict[str, dict[str, Any]]:
    """``fields`` as the service takes them, or the error naming what is wrong."""
    if not isinstance(fields, Mapping) or not fields:
        raise BadInput("fields must be a non-empty mapping of field id to field")
    out: dict[str, dict[str, Any]] = {}
    for key, spec in fields.items():
        if not isinstance(key, str) or not key:
            raise BadInput(f"field ids must be non-empty strings, not {key!r}")
        if not isinstance(spec, Mapping):
            raise BadInput(f"field {key!r} must be a mapping with a 'type'")
        kind = spec.get("type")
        if kind not in FIELD_TYPES:
            raise UnsupportedInput(
                f"field {key!r} has type {kind!r}; Clairic's types are {', '.join(FIELD_TYPES)}"
            )
        if kind == "list" and spec.get("items", "text") not in LIST_ITEMS:
            raise UnsupportedInput(f"list field {key!r}: items must be one of {', '.join(LIST_ITEMS)}")
        threshold = spec.get("null_threshold")
        if threshold is not None and (
            isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not 0 < threshold <= 1
        ):
            raise BadInput(f"field {key!r}: null_threshold must be a number in (0, 1]")
        out[key] = dict(spec)
    return out


@dataclass(frozen=True)
class ExtractedField:
    """One field's answer: its ``value`` (``None`` when the state does not settle it), the chance it
    is right (``confidence``) and that there is none (``p_null``), and where it is in the state
    (``span``; a list's ``spans``); ``source`` is ``"image"`` for text read from an image."""

    type: str
    value: Any
    confidence: float | None
    p_null: float | None
    span: tuple[int, int] | None = None
    spans: tuple[tuple[int, int], ...] = ()
    source: str | None = None


@dataclass(frozen=True)
class Extraction:
    """A Clairic answer: ``answers`` by field id, ``truncated`` (the state was cut), tokens, neurons at
    the catalog's price (``None`` when the catalog has none), ``state_text`` when asked for."""

    model: str
    answers: dict[str, ExtractedField]
    truncated: bool
    input_tokens: int
    output_tokens: int
    neurons: float | None
    state_text: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    def __getitem__(self, key: str) -> ExtractedField:
        return self.answers[key]

    @property
    def values(self) -> dict[str, Any]:
        return {key: answer.value for key, answer in self.answers.items()}


def _span(value: Any) -> tuple[int, int] | None:
    if isinstance(value, Sequence) and len(value) == 2 and all(type(v) is int for v in value):
        return (value[0], value[1])
    return None


def _probability(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class ExtractionRequest(NativeRequest):
    """A checked Clairic request: the body and what reading its answer needs."""

    SERVICE = "Clairic"
    ITEM = "field"

    model: str
    fields: dict[str, dict[str, Any]]
    payload: dict[str, Any]

    @classmethod
    def build(
        cls,
        state: str,
        fields: Mapping[str, Any],
        *,
        model: str = EXTRACTION_MODEL,
        images: Sequence[Media] | None = None,
        reference_date: str | dt.date | None = None,
        options: Mapping[str, Any] | None = None,
        use_catalog: bool = True,
    ) -> ExtractionRequest:
        check_model(model, EXTRACTION_TASK, use_catalog=use_catalog)
        if not isinstance(state, str):
            raise BadInput(f"state must be a string, not {type(state).__name__}")
        checked = check_fields(fields)
        if not state and not images:
            raise BadInput("nothing to extract from: give a state, images, or both")
        payload = cls.body(model, state, "fields", checked, images, MAX_IMAGES)
        if reference_date is not None:
            text = reference_date.isoformat() if isinstance(reference_date, dt.date) else reference_date
            try:
                dt.date.fromisoformat(text)
            except (TypeError, ValueError):
                raise BadInput(
                    f"reference_date must be a date (YYYY-MM-DD), not {reference_date!r}"
                ) from None
            payload["reference_date"] = text
        if options is not None:
            if not isinstance(options, Mapping):
                raise BadInput("options must be a mapping")
            payload["options"] = dict(options)
        return cls(model, checked, payload)

    def parse(self, result: Any) -> Extraction:
        """The answer as an :class:`Extraction`; records its usage (:func:`~workersai.track_usage`)."""
        out: dict[str, ExtractedField] = {}
        for key, answer in self.answers(result, self.fields):
            spans = answer.get("spans") if isinstance(answer.get("spans"), list) else []
            assert isinstance(spans, list)
            out[key] = ExtractedField(
                str(answer.get("type", self.fields[key]["type"])),
                answer.get("value"),
                _probability(answer.get("confidence")),
                _probability(answer.get("p_null")),
                _span(answer.get("span")),
                tuple(s for s in (_span(x) for x in spans) if s is not None),
                answer.get("source") if isinstance(answer.get("source"), str) else None,
            )
        model, prompt, completion, neurons = self.usage(result)
        state_text = result.get("state_text")
        return Extraction(
            model,
            out,
            bool(result.get("truncated", False)),
            prompt,
            completion,
            neurons,
            state_text if isinstance(state_text, str) else None,
            dict(result),
        )
