"""Native structured output: a JSON schema (a pydantic class's) answered by Clairic and Clef, no text
generated. Shared by the LangChain and LlamaIndex adapters.

Each leaf of the schema becomes one Clairic field or one Clef question:

- ``string`` -> a ``text`` field (``format`` ``date``, ``time``, ``date-time``, ``duration`` -> that
  type); ``integer`` / ``number`` -> a ``number`` field (``decimals: 0`` for an integer); an array of
  strings, numbers or dates -> a ``list`` field;
- ``boolean`` -> a ``noul`` question (true when its probability is over ``boolean_threshold``); an
  ``enum`` / ``const`` (a ``Literal``, an ``Enum``) -> a ``choice`` question whose options are the
  values (a nullable one adds a "none" option, as does an optional boolean);
- a nested object -> its leaves, by path. Optional objects, lists of objects and open dictionaries are
  refused (:class:`~workersai.errors.UnsupportedInput`): neither model answers them in one call.

A field's ``description`` (and its parents') becomes the instructions. The Clairic fields go in one
request, the Clef questions in another (only the ones the schema needs)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .decisions import DEFAULT_DECISION_MODEL, Decision, Media
from .errors import UnsupportedInput
from .extraction import EXTRACTION_MODEL, Extraction

if TYPE_CHECKING:
    from .client import WorkersAI

_FORMATS = {"date": "date", "time": "time", "date-time": "datetime", "duration": "duration"}
_ITEMS = {"string": "text", "number": "number", "integer": "number"}
NONE_OPTION = "none"


@dataclass(frozen=True)
class Slot:
    """One leaf of the schema: where it goes in the result (``path``), the id it is asked under, and
    the Clairic field or Clef question (``spec``); ``choices`` maps a choice's options to values."""

    path: tuple[str, ...]
    key: str
    spec: dict[str, Any]
    choices: dict[str, Any] | None = None
    integer: bool = False

    @property
    def is_question(self) -> bool:
        return self.spec["type"] in ("noul", "choice")


Seen = tuple[str, ...]


def _resolve(node: Mapping[str, Any], document: Mapping[str, Any], seen: Seen) -> tuple[dict[str, Any], Seen]:
    ref = node.get("$ref")
    if ref is None:
        return dict(node), seen
    if not isinstance(ref, str) or not ref.startswith("#/$defs/") or ref in seen:
        raise UnsupportedInput(f"schema reference {ref!r}: only local, non-recursive $defs are supported")
    target = document.get("$defs", {}).get(ref.removeprefix("#/$defs/"))
    if not isinstance(target, Mapping):
        raise UnsupportedInput(f"schema reference {ref!r} is not in $defs")
    merged = {**target, **{k: v for k, v in node.items() if k != "$ref"}}
    return merged, (*seen, ref)


def _options(values: Sequence[Any]) -> dict[str, Any]:
    """Option keys for choice values: the values themselves when they are distinct non-empty strings
    (the model reads them), else ``c0``, ``c1``..."""
    texts = [v for v in values if v is not None]
    if all(isinstance(v, str) and v and v != NONE_OPTION for v in texts) and len(set(texts)) == len(texts):
        out: dict[str, Any] = {str(v): v for v in texts}
    else:
        out = {f"c{i}": v for i, v in enumerate(texts)}
    if len(texts) < len(values):
        out[NONE_OPTION] = None
    return out


def compile_schema(schema: Mapping[str, Any]) -> list[Slot]:
    """The schema's leaves as Clairic fields and Clef questions (see the module docstring)."""
    if not isinstance(schema, Mapping):
        raise UnsupportedInput("schema must be a JSON schema object (or a pydantic model's)")
    slots: list[Slot] = []
    used: set[str] = set()

    def visit(node: Mapping[str, Any], path: tuple[str, ...], notes: tuple[str, ...], seen: Seen) -> None:
        where = ".".join(path) or str(schema.get("title", "schema"))
        node, seen = _resolve(node, schema, seen)
        nullable = False
        if "anyOf" in node:
            options = [o for o in node["anyOf"] if o.get("type") != "null"]
            if len(options) != 1 or len(node["anyOf"]) != 2:
                raise UnsupportedInput(f"{where}: only one type or one type and null is supported")
            nullable = True
            inner, seen = _resolve(options[0], schema, seen)
            node = {**inner, **{k: v for k, v in node.items() if k not in ("anyOf", "default")}}
        if isinstance(node.get("description"), str):
            notes = (*notes, node["description"])
        kind = node.get("type")
        if kind == "object" or "properties" in node:
            properties = node.get("properties")
            if nullable or not isinstance(properties, Mapping) or not properties:
                raise UnsupportedInput(f"{where}: optional objects and open dictionaries are not supported")
            for name, child in properties.items():
                visit(child, (*path, str(name)), notes, seen)
            return
        if not path:
            raise UnsupportedInput("the schema's root must be an object with named properties")
        label = path[-1].replace("_", " ")
        spec: dict[str, Any] = {"instructions": " ".join([f"{label}.", *notes[-2:]]).strip()}
        choices = None
        if "enum" in node or "const" in node or (kind == "boolean" and nullable):
            values = list(node["enum"]) if "enum" in node else [node.get("const", True)]
            if kind == "boolean" and "enum" not in node and "const" not in node:
                values = [True, False]
            if nullable:
                values.append(None)
            choices = _options(values)
            if len(choices) < 2:
                raise UnsupportedInput(f"{where}: a choice needs at least two values")
            criteria = {
                k: "No applicable value is stated" if v is None else json.dumps(v, ensure_ascii=False)
                for k, v in choices.items()
            }
            spec.update(type="choice", criteria=criteria)
        elif kind == "boolean":
            spec["type"] = "noul"
        elif kind in ("integer", "number"):
            spec["type"] = "number"
            if kind == "integer":
                spec["decimals"] = 0
        elif kind == "string":
            spec["type"] = _FORMATS.get(node.get("format", ""), "text")
        elif kind == "array":
            item, _ = _resolve(node.get("items", {}), schema, seen)
            items = "date" if item.get("format") == "date" else _ITEMS.get(item.get("type", ""))
            if items is None or "enum" in item:
                raise UnsupportedInput(f"{where}: only lists of strings, numbers or dates are supported")
            spec.update(type="list", items=items)
        else:
            raise UnsupportedInput(f"{where}: type {kind!r} is not supported")
        key = "_".join(path)
        while key in used:
            key += "_"
        used.add(key)
        slots.append(Slot(path, key, spec, choices, integer=kind == "integer"))

    visit(schema, (), (), ())
    return slots


@dataclass
class StructuredAnswer:
    """The values by the schema's paths (``values``, to validate with the pydantic class) and the
    answers they came from."""

    values: dict[str, Any]
    extraction: Extraction | None = None
    decision: Decision | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def input_tokens(self) -> int:
        return sum(a.input_tokens for a in (self.extraction, self.decision) if a is not None)

    @property
    def neurons(self) -> float | None:
        parts = [a.neurons for a in (self.extraction, self.decision) if a is not None]
        return None if any(p is None for p in parts) else sum(p for p in parts if p is not None)


@dataclass(frozen=True)
class StructuredPlan:
    """A compiled schema and the models that answer it."""

    slots: list[Slot]
    extraction_model: str = EXTRACTION_MODEL
    decision_model: str = DEFAULT_DECISION_MODEL
    boolean_threshold: float = 0.5

    @classmethod
    def build(cls, schema: Mapping[str, Any], **models: Any) -> StructuredPlan:
        return cls(compile_schema(schema), **models)

    @property
    def fields(self) -> dict[str, dict[str, Any]]:
        return {s.key: s.spec for s in self.slots if not s.is_question}

    @property
    def questions(self) -> dict[str, dict[str, Any]]:
        return {s.key: s.spec for s in self.slots if s.is_question}

    def assemble(self, extraction: Extraction | None, decision: Decision | None) -> StructuredAnswer:
        values: dict[str, Any] = {}
        for slot in self.slots:
            if slot.is_question:
                assert decision is not None
                answer = decision[slot.key]
                if slot.choices is not None:
                    value = slot.choices.get(str(answer.choice))
                else:
                    value = (answer.noul or 0.0) > self.boolean_threshold
            else:
                assert extraction is not None
                value = extraction[slot.key].value
                if slot.integer and isinstance(value, float) and value.is_integer():
                    value = int(value)
            target = values
            for part in slot.path[:-1]:
                target = target.setdefault(part, {})
            target[slot.path[-1]] = value
        raw = {
            name: a.raw for name, a in (("extraction", extraction), ("decision", decision)) if a is not None
        }
        return StructuredAnswer(values, extraction, decision, raw)

    def run(
        self,
        client: WorkersAI,
        state: str,
        images: Sequence[Media] | None = None,
        reference_date: str | None = None,
    ) -> StructuredAnswer:
        extraction = decision = None
        if self.fields:
            extraction = client.extract(
                state, self.fields, model=self.extraction_model, images=images, reference_date=reference_date
            )
        if self.questions:
            decision = client.decide(state or " ", self.questions, model=self.decision_model, images=images)
        return self.assemble(extraction, decision)

    async def arun(
        self,
        client: WorkersAI,
        state: str,
        images: Sequence[Media] | None = None,
        reference_date: str | None = None,
    ) -> StructuredAnswer:
        extraction = decision = None
        if self.fields:
            extraction = await client.aextract(
                state, self.fields, model=self.extraction_model, images=images, reference_date=reference_date
            )
        if self.questions:
            decision = await client.adecide(
                state or " ", self.questions, model=self.decision_model, images=images
            )
        return self.assemble(extraction, decision)
