"""Clef (decisions) and Clairic (extraction) answered for real, in the service's shapes
(:mod:`workersai.decisions`, :mod:`workersai.extraction` give the wire and its sources).

With the language model (``generator="smollm2"``):

- **Clef**: for each question, the log-probability of every allowed answer (``Yes`` / ``No`` for a
  ``noul``; an option's description, or its key when it has none, for ``choice`` and ``score``), given
  the state and the question, averaged per token and normalised over the options (a softmax). The
  state is run once and shared by the questions.
- **Clairic**: each field's value is decoded greedily under a grammar for its type (llguidance, a JSON
  schema: a string, a number, a date pattern, a list of strings...; never ``null``), then ``p_null``
  compares the model's log-probabilities of ``null`` and of that value at the same place, less the
  same comparison after a content-free text (:mod:`.native_extraction`); a value is ``None`` when
  ``p_null`` is over the field's ``null_threshold`` (0.5 by default), as the service's answers are.
  Text values are anchored in the state (``span``); one the state does not contain is cut to its
  longest run the state has, or dropped.

With the extractive generator the answers are deterministic fallbacks, labelled with the response
header ``x-local-answer: extractive-fallback``: Clef's probabilities from MiniLM similarities of the
state to each option, Clairic's values from patterns (dates, times, numbers, names) in the state.
Neither is a model's judgement."""

from __future__ import annotations

import difflib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..catalog import ModelInfo
from ..decisions import DecisionRequest
from ..errors import BadInput
from ..extraction import DEFAULT_NULL_THRESHOLD, ExtractionRequest
from .responses import envelope
from .rules import ai as rules

FALLBACK_HEADER = {"x-local-answer": "extractive-fallback"}
MAX_STATE_TOKENS = 1200
"""The state is cut here for the language model (its context is 8192 tokens; short is fast)."""


def state_text(state: Any) -> str:
    """The state as the model reads it: text as it is, JSON rendered."""
    return state if isinstance(state, str) else json.dumps(state, ensure_ascii=False)


def rounded(probabilities: dict[str, float]) -> dict[str, float]:
    """Four decimals (as the service's answers), summing to exactly 1 (the largest takes the rest)."""
    out = {k: round(v, 4) for k, v in probabilities.items()}
    top = max(out, key=lambda k: out[k])
    out[top] = round(1.0 - sum(v for k, v in out.items() if k != top), 4)
    return out


def softmax(scores: Sequence[float]) -> list[float]:
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def option_texts(question: Mapping[str, Any]) -> dict[str, str]:
    """Each allowed answer's text: ``{"true": "Yes", "false": "No"}`` for a ``noul``; for a choice its
    criteria's description (its key where there is none), for a score each level in order."""
    kind, criteria = question["type"], question.get("criteria") or {}
    if kind == "noul":
        return {"true": "Yes", "false": "No"}
    if kind == "score":
        levels = list(criteria.values()) if isinstance(criteria, Mapping) else list(criteria)
        return {str(i): str(level) for i, level in enumerate(levels)}
    return {str(k): v if isinstance(v, str) and v else str(k) for k, v in criteria.items()}


def decision_answer(question: Mapping[str, Any], probabilities: dict[str, float]) -> dict[str, Any]:
    """One question's answer in the service's shape."""
    probs = rounded(probabilities)
    kind = question["type"]
    if kind == "noul":
        return {"type": "noul", "noul": probs["true"]}
    best = max(probs, key=lambda k: probs[k])
    if kind == "choice":
        return {"type": "choice", "choice": best, "confidence": probs[best], "probabilities": probs}
    criteria = question["criteria"]
    levels = list(criteria.values()) if isinstance(criteria, Mapping) else list(criteria)
    score = round(sum(int(k) * p for k, p in probs.items()), 4)
    return {
        "type": "score",
        "score": score,
        "confidence": probs[best],
        "probabilities": probs,
        "legend": {str(i): level for i, level in enumerate(levels)},
    }


def _checked(build: Any, info: ModelInfo, body: dict[str, Any], **names: Any) -> Any:
    """The core's checks, answered as the service answers bad input (400, 5006)."""
    short = info.name.rsplit("/", 1)[-1]
    if body.get("model") != short:
        raise rules.bad_input(f"'/model' must be {short!r}")
    try:
        return build(**names, use_catalog=False)
    except BadInput as exc:
        raise rules.bad_input(str(exc)) from None


async def decide(emu: Any, info: ModelInfo, body: dict[str, Any]) -> Response:
    """A Clef request's answer (enveloped)."""
    request = _checked(
        DecisionRequest.build,
        info,
        body,
        state=body.get("state"),
        questions=body.get("questions"),
        model=info.name,
        images=body.get("images"),
        audio=body.get("audio"),
        videos=body.get("videos"),
    )
    text = state_text(body["state"])
    questions = request.questions
    headers = None
    if emu.generator_name == "extractive":
        probabilities, tokens = await _similarity_decisions(emu, text, questions)
        headers = FALLBACK_HEADER
    else:
        generator = await run_in_threadpool(lambda: emu.generator)
        probabilities, tokens = await run_in_threadpool(_lm_decisions, generator, text, questions)
    answers = {key: decision_answer(q, probabilities[key]) for key, q in questions.items()}
    result = {
        "model": body["model"],
        "answers": answers,
        "usage": {"input_tokens": tokens, "output_tokens": 0},
    }
    return envelope(result, headers=headers)


def _question_text(key: str, question: Mapping[str, Any]) -> str:
    instructions = question.get("instructions")
    text = (
        instructions if isinstance(instructions, str) else json.dumps(instructions) if instructions else key
    )
    return str(text)


def _lm_decisions(
    generator: Any, state: str, questions: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, float]], int]:
    from .lm.prompt import chat_ids

    engine, tok = generator.engine, generator.tokenizer
    state_ids = tok.encode(state)[:MAX_STATE_TOKENS]
    state = tok.decode(state_ids)
    system = "Read the state, then answer the question with one of the options, exactly as written."
    shared = engine.prefill(
        chat_ids(tok, [{"role": "user", "content": f"State:\n{state}\n\n"}], system=system)
    )
    out: dict[str, dict[str, float]] = {}
    tokens = len(state_ids)
    for key, question in questions.items():
        options = option_texts(question)
        listing = "\n".join(f"- {text}" for text in options.values())
        ask = f"State:\n{state}\n\nQuestion: {_question_text(key, question)}\nOptions:\n{listing}"
        prompt = chat_ids(tok, [{"role": "user", "content": ask}], system=system)
        tokens += max(0, len(prompt) - len(shared.tokens))
        prefix = engine.prefill(prompt, base=shared)
        continuations = [[*tok.encode(text), tok.im_end] for text in options.values()]
        scores = engine.score(prefix, continuations).scores
        means = [s / len(c) for s, c in zip(scores, continuations, strict=True)]
        out[key] = dict(zip(options, softmax(means), strict=True))
    return out, tokens


async def _similarity_decisions(
    emu: Any, state: str, questions: Mapping[str, Mapping[str, Any]]
) -> tuple[dict[str, dict[str, float]], int]:
    """The deterministic fallback: MiniLM similarity of the state to "question: option"."""
    out: dict[str, dict[str, float]] = {}
    for key, question in questions.items():
        options = option_texts(question)
        asked = _question_text(key, question)
        if question["type"] == "noul":
            criteria = question.get("criteria") or {}
            texts = [str(criteria.get("true", asked)), str(criteria.get("false", f"Not: {asked}"))]
        else:
            texts = [f"{asked} {text}" for text in options.values()]
        vectors = await run_in_threadpool(emu.embedder.embed_unit, [state[:2000], *texts], "mean")
        sims = [float(vectors[0] @ v) for v in vectors[1:]]
        out[key] = dict(zip(options, softmax([s * 10 for s in sims]), strict=True))
    count = emu.extractive.count_tokens
    tokens = count(state) + sum(count(_question_text(k, q)) for k, q in questions.items())
    return out, max(1, tokens)


async def extract(emu: Any, info: ModelInfo, body: dict[str, Any]) -> Response:
    """A Clairic request's answer (enveloped)."""
    from . import native_extraction as ex

    request = _checked(
        ExtractionRequest.build,
        info,
        body,
        state=body.get("state", ""),
        fields=body.get("fields"),
        model=info.name,
        images=body.get("images"),
        reference_date=body.get("reference_date"),
        options=body.get("options"),
    )
    state = body.get("state", "")
    headers = None
    if emu.generator_name == "extractive":
        answers = {key: ex.fallback_answer(state, spec) for key, spec in request.fields.items()}
        state_tokens = emu.extractive.count_tokens(state)
        headers = FALLBACK_HEADER
    else:
        generator = await run_in_threadpool(lambda: emu.generator)
        answers, state_tokens = await run_in_threadpool(ex.lm_answers, generator, state, request.fields)
    for key, spec in request.fields.items():
        answer = answers[key]
        if spec["type"] != "list" and answer["p_null"] > spec.get("null_threshold", DEFAULT_NULL_THRESHOLD):
            answer.update(value=None, span=None)
    images = len(body.get("images") or [])
    image_tokens = 256 * images
    result: dict[str, Any] = {
        "model": body["model"],
        "answers": answers,
        "truncated": False,
        "usage": {
            "input_tokens": max(1, state_tokens + image_tokens),
            "output_tokens": 0,
            "state_tokens": state_tokens,
            "image_tokens": image_tokens,
        },
    }
    options = body.get("options") or {}
    if options.get("return_state_text"):
        result["state_text"] = state
    return envelope(result, headers=headers)


def anchor(state: str, value: str) -> tuple[str, list[int]] | None:
    """``value`` as the state writes it and its span: exact, else ignoring case, else the longest
    run of it the state contains (at least half of it); None when the state does not have it."""
    if not value:
        return None
    start = state.find(value)
    if start < 0:
        start = state.lower().find(value.lower())
    if start >= 0:
        return state[start : start + len(value)], [start, start + len(value)]
    match = difflib.SequenceMatcher(None, state, value, autojunk=False).find_longest_match()
    if match.size * 2 < len(value) or not state[match.a : match.a + match.size].strip():
        return None
    text = state[match.a : match.a + match.size].strip()
    begin = state.find(text, match.a)
    return text, [begin, begin + len(text)]
