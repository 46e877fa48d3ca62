"""The emulator's extractive text generator: deterministic, extractive, and honest about being so.

It is not a language model. It answers from the context it is given (system messages and earlier
turns): it splits that context into sentences, ranks them against the question with the embedding
model and returns the best ones, cut at ``max_tokens`` real tokens (WordPiece tokens of the local
model) and at any stop sequence. ``temperature`` with ``seed`` perturbs the ranking reproducibly.
With tools, it calls the tool whose name and description best fit the request, with arguments valid
for the tool's JSON schema taken from the message; after tool results, it answers with them. In JSON
mode it returns an object valid for the given schema.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .embeddings import Embedder
from .generation import Generation

_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_QUOTED = re.compile(r"(?:^|(?<=\s))[\"“']([^\"”']{1,200})[\"”']")
_ASKED = re.compile(r"^\s*(?:query|question)\s*:\s*(.+?)\s*$", re.IGNORECASE | re.MULTILINE)
_MESSAGE_OVERHEAD = 4  # template tokens around each chat message


def schema_in_prompt(messages: Sequence[Mapping[str, Any]]) -> dict[str, Any] | None:
    """A JSON Schema written into the conversation (the largest JSON object in a system or user message
    that reads as one: ``properties``, ``type: object`` or ``$defs``), or None.

    Clients that ask for ``response_format: json_object`` often give the schema only in the prompt
    (langchain-cloudflare's ``with_structured_output`` for most models: "You must respond with valid JSON
    that matches this schema ... {schema}"); a model that follows its prompt answers an instance of it,
    so the emulator's generators are given that schema as if it had been sent as ``json_schema``."""
    decoder = json.JSONDecoder()
    best: dict[str, Any] | None = None
    best_size = 0
    for m in messages:
        if m.get("role") not in ("system", "user", "developer"):
            continue
        text = str(m.get("content") or "")
        start = text.find("{")
        while start != -1:
            try:
                value, end = decoder.raw_decode(text, start)
            except ValueError:
                start = text.find("{", start + 1)
                continue
            if (
                isinstance(value, dict)
                and (isinstance(value.get("properties"), dict) or value.get("type") == "object")
                and end - start > best_size
            ):
                best, best_size = value, end - start
            start = text.find("{", end)
    return best


def _tool_spec(tool: Mapping[str, Any]) -> dict[str, Any]:
    fn = tool.get("function") if tool.get("type") == "function" else tool
    return dict(fn) if isinstance(fn, Mapping) else {}


def _resolve(schema: Any, defs: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(schema, Mapping):
        return {}
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        target = defs.get(ref.rsplit("/", 1)[-1], {})
        return _resolve(target, defs)
    for key in ("anyOf", "oneOf", "allOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            chosen = next(
                (o for o in options if isinstance(o, Mapping) and o.get("type") != "null"), options[0]
            )
            merged = {k: v for k, v in schema.items() if k != key}
            merged.update(_resolve(chosen, defs))
            return merged
    return dict(schema)


class _ArgumentFiller:
    """Fills a JSON schema with values found in a message."""

    def __init__(self, text: str, defs: Mapping[str, Any]) -> None:
        self.text = text
        self.defs = defs
        self.numbers = [m.group(0) for m in _NUMBER.finditer(text)]
        self.quoted = [m.group(1) for m in _QUOTED.finditer(text)]

    def _labelled(self, name: str) -> str | None:
        pattern = rf"\b{re.escape(name.replace('_', ' '))}\b\s*(?:is|=|:)\s*[\"']?([^,;\"'\n.?!]+)"
        match = re.search(pattern, self.text, re.IGNORECASE)
        return match.group(1).strip() if match else None

    def fill(self, schema: Any, name: str = "") -> Any:
        spec = _resolve(schema, self.defs)
        kind = spec.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if spec.get("enum"):
            lowered = self.text.lower()
            return next((v for v in spec["enum"] if str(v).lower() in lowered), spec["enum"][0])
        if kind == "object" or "properties" in spec:
            props = spec.get("properties") or {}
            return {key: self.fill(sub, key) for key, sub in props.items()}
        if kind == "array":
            items = spec.get("items") or {"type": "string"}
            item_kind = _resolve(items, self.defs).get("type")
            if item_kind in ("integer", "number") and self.numbers:
                values = list(self.numbers)
                self.numbers = []
                return [int(float(v)) if item_kind == "integer" else float(v) for v in values]
            return [self.fill(items, name)]
        if kind in ("integer", "number"):
            labelled = self._labelled(name) if name else None
            raw = None
            if labelled and _NUMBER.match(labelled):
                raw = _NUMBER.match(labelled).group(0)  # type: ignore[union-attr]
                if raw in self.numbers:
                    self.numbers.remove(raw)
            elif self.numbers:
                raw = self.numbers.pop(0)
            value = float(raw) if raw is not None else float(spec.get("minimum", 0))
            return int(value) if kind == "integer" else value
        if kind == "boolean":
            return bool(re.search(r"\b(true|yes|enable|on)\b", self.text, re.IGNORECASE))
        if kind == "null":
            return None
        labelled = self._labelled(name) if name else None
        if labelled:
            return labelled
        if self.quoted:
            return self.quoted.pop(0)
        return _topic(self.text)


def _topic(text: str) -> str:
    """A short phrase standing for what the message is about."""
    words = re.findall(r"[A-Za-z0-9'-]+", text)
    stop = {"what", "is", "the", "a", "an", "of", "tell", "me", "about", "please", "use", "tool", "and", "to"}
    content = [w for w in words if w.lower() not in stop]
    return " ".join(content[-6:]) if content else text.strip()[:80]


def _numeric_required(spec: Mapping[str, Any]) -> int:
    """How many of a tool's required arguments are numbers (a message stating as many numbers reads as
    the tool's arguments: "Anna is 31." for ``Person(name, age)``)."""
    params = spec.get("parameters")
    if not isinstance(params, Mapping):
        return 0
    defs = params.get("$defs") or params.get("definitions") or {}
    props = params.get("properties") or {}
    required = params.get("required") or []
    kinds = [_resolve(props.get(k), defs).get("type") for k in required if isinstance(k, str)]
    return sum(1 for kind in kinds if kind in ("integer", "number"))


class LocalGenerator:
    """Answers chat requests extractively; see the module docstring."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    # -- tokens ---------------------------------------------------------------------------------
    def count_tokens(self, text: str) -> int:
        return self.embedder.encoder.count_tokens(text) if text else 0

    def pieces(self, text: str) -> list[str]:
        """``text`` split into token-sized pieces that join back to it exactly."""
        spans = self.embedder.encoder.token_spans(text)
        out: list[str] = []
        start = 0
        for _, end in spans:
            if end > start:
                out.append(text[start:end])
                start = end
        if start < len(text):
            out.append(text[start:])
        return out

    def _cut(self, text: str, max_tokens: int, stop: Sequence[str]) -> tuple[str, list[str]]:
        for s in stop:
            if s and s in text:
                text = text[: text.index(s)]
        pieces = self.pieces(text)
        # Count real tokens: a piece may hold more than one token (e.g. "don't"), so cut on spans.
        kept: list[str] = []
        tokens = 0
        for piece in pieces:
            n = max(1, self.count_tokens(piece))
            if tokens + n > max_tokens:
                break
            kept.append(piece)
            tokens += n
        return "".join(kept), kept

    # -- generation -----------------------------------------------------------------------------
    def generate(
        self,
        messages: Sequence[Mapping[str, Any]],
        *,
        max_tokens: int = 256,
        temperature: float = 0.6,
        seed: int | None = None,
        stop: Sequence[str] = (),
        tools: Sequence[Mapping[str, Any]] = (),
        tool_choice: Any = None,
        response_format: Mapping[str, Any] | None = None,
    ) -> Generation:
        prompt_tokens = sum(
            self.count_tokens(str(m.get("content") or "")) + _MESSAGE_OVERHEAD for m in messages
        )
        if tools:
            prompt_tokens += self.count_tokens(json.dumps(list(tools)))
        gen = Generation(prompt_tokens=prompt_tokens)
        last = messages[-1] if messages else {"role": "user", "content": ""}
        question = next(
            (str(m.get("content") or "") for m in reversed(messages) if m.get("role") == "user"), ""
        )

        if last.get("role") == "tool":
            text = self._answer_from_tools(messages)
        elif tools and tool_choice != "none" and (call := self._pick_tool(question, tools, tool_choice)):
            return self._within(gen, json.dumps(call["arguments"]), max_tokens, tool_call=call)
        elif response_format is not None:
            value = self._json_answer(question, messages, response_format)
            return self._within(gen, json.dumps(value), max_tokens, json_value=value)
        else:
            text = self._extract(question, messages, temperature, seed)
        gen.text, gen.pieces = self._cut(text, max_tokens, stop)
        gen.completion_tokens = sum(max(1, self.count_tokens(p)) for p in gen.pieces)
        return gen

    def _within(
        self,
        gen: Generation,
        text: str,
        max_tokens: int,
        *,
        tool_call: dict[str, Any] | None = None,
        json_value: Any = None,
    ) -> Generation:
        """A tool call's arguments or a JSON answer (``text``) if it fits in ``max_tokens``; else, as a
        model cut by its token cap, the text so far (unparsed) and ``max_tokens`` tokens."""
        tokens = self.count_tokens(text)
        if tokens <= max_tokens:
            gen.completion_tokens = tokens
            if tool_call is not None:
                gen.tool_calls = [tool_call]
            else:
                gen.json_value = json_value
            return gen
        gen.text, gen.pieces = self._cut(text, max_tokens, ())
        gen.completion_tokens = sum(max(1, self.count_tokens(p)) for p in gen.pieces)
        return gen

    def _answer_from_tools(self, messages: Sequence[Mapping[str, Any]]) -> str:
        results = []
        for m in reversed(messages):
            if m.get("role") != "tool":
                break
            tool = f"The {m['name']} tool" if m.get("name") else "The tool"  # llama-3.3's type: no name
            results.append(f"{tool} returned {str(m.get('content') or '').strip()}.")
        return " ".join(reversed(results))

    def _extract(
        self, question: str, messages: Sequence[Mapping[str, Any]], temperature: float, seed: int | None
    ) -> str:
        # A prompt may carry its context in the user message, with the question on a "Query:" line
        # (LlamaIndex's QA template does): split the two.
        inline = ""
        asked = _ASKED.search(question)
        if asked:
            inline = question[: asked.start()] + question[asked.end() :]
            question = asked.group(1).strip()
        context = [str(m.get("content") or "") for m in messages if m.get("role") == "system"]
        if not any(c.strip() for c in context) and not inline.strip():
            context = [str(m.get("content") or "") for m in messages[:-1] if m.get("role") != "tool"]
        context.append(inline)
        # Lines ending in ':' introduce the context ("Answer from this context:"), and rules of dashes
        # separate it; neither is content.
        sentences = [
            s.strip()
            for c in context
            for s in _SENTENCE.split(c)
            if len(s.strip(" -=_*#\t")) > 1 and not s.strip().endswith(":")
        ]
        if not sentences:
            return (
                f"I can only answer from the context I am given, and none was given for: {question.strip()}"
            )
        vectors = self.embedder.embed_unit([question, *sentences])
        scores = vectors[1:] @ vectors[0]
        if temperature > 0:
            key = seed if seed is not None else zlib.crc32(question.encode())
            noise = np.random.default_rng(key).standard_normal(len(scores))
            scores = scores + noise * (0.02 * temperature)
        order = np.argsort(-scores, kind="stable")
        return " ".join(sentences[i] for i in order)

    def _pick_tool(
        self, question: str, tools: Sequence[Mapping[str, Any]], tool_choice: Any
    ) -> dict[str, Any] | None:
        specs = [_tool_spec(t) for t in tools]
        names = [str(s.get("name", "")) for s in specs]
        forced = tool_choice in ("any", "required") or isinstance(tool_choice, Mapping)
        if isinstance(tool_choice, Mapping):
            fn = tool_choice.get("function")
            wanted = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
            if wanted in names:
                specs = [specs[names.index(wanted)]]
                names = [wanted]
        lowered = question.lower()
        descriptions = [
            f"{n.replace('_', ' ')}: {s.get('description', '')}" for n, s in zip(names, specs, strict=True)
        ]
        vectors = self.embedder.embed_unit([question or " ", *descriptions])
        scores = vectors[1:] @ vectors[0]
        numbers = len(_NUMBER.findall(question))
        for i, n in enumerate(names):
            if n and (n.lower() in lowered or n.replace("_", " ").lower() in lowered):
                scores[i] += 1.0
            wanted = _numeric_required(specs[i])
            if wanted and numbers >= wanted:  # the message carries the tool's numeric arguments
                scores[i] += 0.3
        best = int(np.argmax(scores))
        asks_for_tool = bool(re.search(r"\b(tool|function|call|use)\b", lowered))
        if not (
            forced
            or scores[best] >= 0.3
            or (asks_for_tool and scores[best] >= 0.0)
            or (len(specs) == 1 and scores[best] >= 0.15)
        ):
            return None
        spec = specs[best]
        params = spec.get("parameters") or {"type": "object", "properties": {}}
        filler = _ArgumentFiller(question, params.get("$defs") or params.get("definitions") or {})
        arguments = filler.fill(params)
        return {"name": names[best], "arguments": arguments if isinstance(arguments, dict) else {}}

    def _json_answer(
        self, question: str, messages: Sequence[Mapping[str, Any]], response_format: Mapping[str, Any]
    ) -> Any:
        wrapper = response_format.get("json_schema")
        schema = wrapper.get("schema", wrapper) if isinstance(wrapper, Mapping) else None
        if isinstance(schema, Mapping) and (schema.get("properties") or schema.get("type")):
            filler = _ArgumentFiller(question, schema.get("$defs") or schema.get("definitions") or {})
            return filler.fill(schema)
        if re.search(r"\b(keys?|fields?|properties)\b", question, re.IGNORECASE):
            keys = list(dict.fromkeys(re.findall(r"[\"'`]([A-Za-z_][A-Za-z0-9_]{0,40})[\"'`]", question)))
            if keys:  # "Return JSON with 'setup' and 'punchline' keys": an object with those keys
                topic = _topic(re.sub(r"[\"'`][A-Za-z_][A-Za-z0-9_]*[\"'`]", "", question.split(".")[0]))
                return {key: f"{key.replace('_', ' ')} about {topic}" for key in keys}
        return {"response": self._extract(question, messages, 0.0, None)}
