"""Clef decisions: a state and typed questions in, a probability for every allowed option out.

The wire (no Cloudflare model page for Clef is in the stored docs; the facts come from these):

- developers.cloudflare.com/workers-ai/concepts/decision-models/: the models (``@cf/cloudflare/clef``
  27B, ``clef-flash`` 9B, ``clef-omni`` 30B MoE with audio), a state and "named, typed questions" in,
  probabilities out.
- langchain-cloudflare 0.4.3 (``decision_models.py``, ``tests/decision_helpers.py``): the body
  ``{model: "clef", state, questions, images?, audio?, videos?}`` (``model`` the id's last part);
  questions ``noul`` (``criteria`` optional ``{true, false}``), ``choice`` (``criteria`` option ->
  description), ``score`` (``criteria`` the levels in order); answers ``{model, answers, usage}``
  where a ``noul`` answer is ``{type, noul}``, a ``choice`` ``{type, choice, confidence,
  probabilities}``, a ``score`` ``{type, score, confidence, probabilities, legend}`` (``legend``
  ``{"0": level, ...}``, ``score`` the probability-weighted level); 1-64 questions; images embedded
  PNG/JPEG/WebP (data URLs or ``{content_type, base64}``), remote URLs unsupported; audio (WAV/MP3)
  and videos (MP4/WebM) for clef-omni only.
- docs.instructorphp.com (Polyglot's clef driver): "Clef accepts 1 to 64 questions, 2 to 255 Choice
  options, and 2 to 10 Score levels"; probabilities rounded to four decimals.

Everything is checked before any request (:class:`~workersai.errors.LimitExceeded`,
:class:`~workersai.errors.UnsupportedInput`); the answer is read once, into :class:`Decision`.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from .catalog import DECISION_TASK, get_model
from .errors import BadInput, LimitExceeded, ResponseFormatError, UnsupportedInput
from .usage import estimate_neurons, record_usage
from .validation import check_model

DEFAULT_DECISION_MODEL = "@cf/cloudflare/clef-flash"
OMNI_MODEL = "@cf/cloudflare/clef-omni"
QUESTION_TYPES = ("noul", "choice", "score")
MAX_QUESTIONS = 64
CHOICE_OPTIONS = (2, 255)
SCORE_LEVELS = (2, 10)
IMAGE_TYPES = ("image/png", "image/jpeg", "image/webp")
AUDIO_TYPES = ("audio/wav", "audio/x-wav", "audio/wave", "audio/mpeg", "audio/mp3")
VIDEO_TYPES = ("video/mp4", "video/webm")
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+);base64,(.*)", re.DOTALL)

Media = str | Mapping[str, str]


def check_media(items: Any, kind: str, allowed: Sequence[str], limit: int | None = None) -> list[Any]:
    """Embedded media (``images``, ``audio``, ``videos``): each a ``data:<type>;base64,...`` URL or a
    ``{content_type, base64}`` object of an allowed type, never a remote URL; at most ``limit``."""
    if isinstance(items, (str, Mapping)) or not isinstance(items, Sequence):
        raise BadInput(f"{kind} must be a list of data URLs or {{content_type, base64}} objects")
    out = list(items)
    if limit is not None and len(out) > limit:
        raise LimitExceeded(
            f"{len(out)} {kind} given; the model takes at most {limit}", limit=limit, given=len(out)
        )
    for i, item in enumerate(out):
        if isinstance(item, str):
            if re.match(r"(?i)(https?|ftp|file)://", item):
                raise UnsupportedInput(
                    f"{kind}[{i}] is a remote URL; the model takes embedded data only "
                    "(a data:<type>;base64,... URL or {content_type, base64})"
                )
            found = _DATA_URL.fullmatch(item)
            if found is None:
                raise UnsupportedInput(f"{kind}[{i}] is not a data:<type>;base64,... URL")
            content_type, data = found.group(1), found.group(2)
        elif isinstance(item, Mapping):
            content_type, data = item.get("content_type"), item.get("base64")
            if not isinstance(content_type, str) or not isinstance(data, str):
                raise UnsupportedInput(f"{kind}[{i}] needs string 'content_type' and 'base64'")
        else:
            raise UnsupportedInput(f"{kind}[{i}] is {type(item).__name__}, not a data URL or an object")
        if content_type.lower() not in allowed:
            raise UnsupportedInput(f"{kind}[{i}] is {content_type}; allowed: {', '.join(allowed)}")
        try:
            base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise UnsupportedInput(f"{kind}[{i}] is not valid base64") from None
    return out


def _count(what: str, given: int, bounds: tuple[int, int]) -> None:
    low, high = bounds
    if not low <= given <= high:
        raise LimitExceeded(f"{what}: {given} given; Clef takes {low} to {high}", limit=high, given=given)


def check_questions(questions: Any) -> dict[str, dict[str, Any]]:
    """``questions`` as the service takes them, or the error naming the limit broken."""
    if not isinstance(questions, Mapping):
        raise BadInput("questions must be a mapping of question id to question")
    _count("questions", len(questions), (1, MAX_QUESTIONS))
    out: dict[str, dict[str, Any]] = {}
    for key, question in questions.items():
        if not isinstance(key, str) or not key:
            raise BadInput(f"question ids must be non-empty strings, not {key!r}")
        if not isinstance(question, Mapping):
            raise BadInput(f"question {key!r} must be a mapping with 'type' and 'instructions'")
        kind = question.get("type")
        if kind not in QUESTION_TYPES:
            raise UnsupportedInput(
                f"question {key!r} has type {kind!r}; Clef's types are {', '.join(QUESTION_TYPES)}"
            )
        criteria = question.get("criteria")
        if kind == "choice":
            if not isinstance(criteria, Mapping):
                raise BadInput(f"choice question {key!r} needs 'criteria': option -> description")
            _count(f"options of question {key!r}", len(criteria), CHOICE_OPTIONS)
        elif kind == "score":
            if isinstance(criteria, (str, bytes)) or not isinstance(criteria, (Sequence, Mapping)):
                raise BadInput(f"score question {key!r} needs 'criteria': its levels, lowest first")
            _count(f"levels of question {key!r}", len(criteria), SCORE_LEVELS)
        elif criteria is not None and (
            not isinstance(criteria, Mapping) or not set(criteria) <= {"true", "false"}
        ):
            raise BadInput(f"noul question {key!r}: 'criteria' may only describe 'true' and 'false'")
        out[key] = dict(question)
    return out


@dataclass(frozen=True)
class DecisionAnswer:
    """One question's answer. ``probabilities`` is every option's (a ``noul`` as ``{"true": p,
    "false": 1 - p}``); ``value`` the answer to act on: a bool, the likeliest option, or the score."""

    type: str
    probabilities: dict[str, float]
    noul: float | None = None
    choice: str | None = None
    score: float | None = None
    confidence: float | None = None
    legend: dict[str, Any] | None = None

    @property
    def value(self) -> bool | str | float | None:
        if self.type == "noul":
            return self.noul is not None and self.noul > 0.5
        return self.choice if self.type == "choice" else self.score


@dataclass(frozen=True)
class Decision:
    """A Clef answer: ``answers`` by question id, tokens used, neurons at the catalog's price
    (``None`` when the catalog has none), and the ``raw`` result."""

    model: str
    answers: dict[str, DecisionAnswer]
    input_tokens: int
    output_tokens: int
    neurons: float | None
    raw: dict[str, Any] = field(repr=False)

    def __getitem__(self, key: str) -> DecisionAnswer:
        return self.answers[key]

    @property
    def values(self) -> dict[str, bool | str | float | None]:
        return {key: answer.value for key, answer in self.answers.items()}


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ResponseFormatError(f"Clef answer: {what} is not a number")
    return float(value)


def usage_of(result: Mapping[str, Any]) -> tuple[int, int]:
    usage = result.get("usage") if isinstance(result.get("usage"), Mapping) else {}
    assert isinstance(usage, Mapping)
    prompt, completion = usage.get("input_tokens", 0), usage.get("output_tokens", 0)
    return (
        prompt if isinstance(prompt, int) else 0,
        completion if isinstance(completion, int) else 0,
    )


class NativeRequest:
    """What a Clef request (:class:`DecisionRequest`) and a Clairic one
    (:class:`~workersai.extraction.ExtractionRequest`) share: the body's common part, and reading the
    answer's object of each asked key and its usage."""

    model: str
    payload: dict[str, Any]
    SERVICE: ClassVar[str]
    """The model family named in errors: ``Clef`` or ``Clairic``."""
    ITEM: ClassVar[str]
    """What a key asks: ``question`` or ``field``."""

    @staticmethod
    def body(
        model: str, state: Any, name: str, checked: dict[str, Any], images: Any, limit: int | None = None
    ) -> dict[str, Any]:
        """``{model, state, <name>: checked, images?}`` (``model`` the id's last part)."""
        payload: dict[str, Any] = {"model": model.rsplit("/", 1)[-1], "state": state, name: checked}
        if images is not None:
            payload["images"] = check_media(images, "images", IMAGE_TYPES, limit)
        return payload

    def answers(self, result: Any, keys: Iterable[str]) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """Each of ``keys`` with its answer object, in turn (each checked as it comes), or
        :class:`~workersai.errors.ResponseFormatError`."""
        answers = result.get("answers") if isinstance(result, Mapping) else None
        if not isinstance(answers, Mapping):
            raise ResponseFormatError(
                f"{self.SERVICE} answer has no 'answers' object: {type(result).__name__}"
            )
        for key in keys:
            answer = answers.get(key)
            if not isinstance(answer, Mapping):
                raise ResponseFormatError(f"{self.SERVICE} answer has no answer for {self.ITEM} {key!r}")
            yield key, answer

    def usage(self, result: Mapping[str, Any]) -> tuple[str, int, int, float | None]:
        """The answering model, input and output tokens, neurons; records the usage
        (:func:`~workersai.track_usage`)."""
        prompt, completion = usage_of(result)
        record_usage(self.model, prompt, completion)
        model = str(result.get("model", self.payload["model"]))
        return model, prompt, completion, estimate_neurons(self.model, prompt, completion)


@dataclass(frozen=True)
class DecisionRequest(NativeRequest):
    """A checked Clef request: the body and what reading its answer needs."""

    SERVICE = "Clef"
    ITEM = "question"

    model: str
    questions: dict[str, dict[str, Any]]
    payload: dict[str, Any]

    @classmethod
    def build(
        cls,
        state: Any,
        questions: Mapping[str, Any],
        *,
        model: str = DEFAULT_DECISION_MODEL,
        images: Sequence[Media] | None = None,
        audio: Sequence[Media] | None = None,
        videos: Sequence[Media] | None = None,
        use_catalog: bool = True,
    ) -> DecisionRequest:
        check_model(model, DECISION_TASK, use_catalog=use_catalog)
        if state is None:
            raise BadInput("state is required: text, or a JSON object or array")
        checked = check_questions(questions)
        payload = cls.body(model, state, "questions", checked, images)
        for kind, media, allowed in (("audio", audio, AUDIO_TYPES), ("videos", videos, VIDEO_TYPES)):
            if media is None:
                continue
            info = get_model(model)
            if info is not None and model != OMNI_MODEL:
                raise UnsupportedInput(f"{kind} input needs {OMNI_MODEL}; {model} takes text and images")
            payload[kind] = check_media(media, kind, allowed)
        return cls(model, checked, payload)

    def parse(self, result: Any) -> Decision:
        """The answer as a :class:`Decision`; records its usage (:func:`~workersai.track_usage`)."""
        out: dict[str, DecisionAnswer] = {}
        for key, answer in self.answers(result, self.questions):
            kind = self.questions[key]["type"]
            if kind == "noul":
                p = _number(answer.get("noul"), f"{key}.noul")
                out[key] = DecisionAnswer("noul", {"true": p, "false": 1.0 - p}, noul=p)
                continue
            probabilities = answer.get("probabilities")
            if not isinstance(probabilities, Mapping):
                raise ResponseFormatError(f"Clef answer for {key!r} has no probabilities")
            probs = {str(k): _number(v, f"{key}.probabilities") for k, v in probabilities.items()}
            confidence = answer.get("confidence")
            conf = None if confidence is None else _number(confidence, f"{key}.confidence")
            if kind == "choice":
                out[key] = DecisionAnswer("choice", probs, choice=str(answer.get("choice")), confidence=conf)
            else:
                legend = answer.get("legend")
                out[key] = DecisionAnswer(
                    "score",
                    probs,
                    score=_number(answer.get("score"), f"{key}.score"),
                    confidence=conf,
                    legend=dict(legend) if isinstance(legend, Mapping) else None,
                )
        model, prompt, completion, neurons = self.usage(result)
        return Decision(model, out, prompt, completion, neurons, dict(result))
