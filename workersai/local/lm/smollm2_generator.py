"""The emulator's text generator backed by SmolLM2: the call shape of the extractive ``LocalGenerator``.

``generate(messages, ...)`` returns a :class:`~workersai.local.generation.Generation`; ``stream(...)``
returns a :class:`GenerationStream` that yields text pieces as they are decoded and fills the same
``Generation`` as it goes.

How a request is answered:

- **Tools** (and ``tool_choice`` is not ``"none"``, and the last message is not a tool result): the
  tools are listed in SmolLM2's function-calling system prompt and the answer is made to start with
  ``<tool_call>[``. The model decides what follows: the log-probability of each way to go on (``]``
  for no call, or ``{"name": "<tool>", "arguments": `` for each tool) is compared, each less its
  log-probability after a content-free question ("N/A") with the same tools (contextual calibration:
  a 135M model otherwise prefers the first tool listed, or no call, whatever the question). The
  winner's arguments are then generated under that tool's own argument schema, so they always
  validate. No call means the request is answered as plain chat without the tools. ``tool_choice``
  ``"required"``/``"any"`` or a named function rules out no call (a name also lists only that tool).
  One call per answer.
- **JSON mode** (``response_format``): the system prompt asks for JSON and the grammar enforces the
  schema (any object for ``json_object``), so a finished answer always parses and validates.
- Otherwise plain chat.

Usage counts real tokens: the prompt as templated (tools listing included) and the completion's
tokens. The prompt that produced a tool-call decision also counts when the answer was plain text.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from ..generation import Generation
from .engine import Completion, Engine, Prefix
from .grammar import response_schema, strict_schema
from .prompt import TOOL_CALL_CLOSE, TOOL_CALL_OPEN, call_opening, chat_ids, tool_spec, tools_system_prompt
from .sampling import SamplingParams

_NULL_QUESTION = "N/A"
_SETUPS_KEPT = 4  # tool listings whose system turn stays cached (about 15 MB each)
# How much more likely (in log-probability, after calibration) no call must be than the best tool: a
# user who lists tools mostly asks for them. Set from a handful of questions; see benchmarks/lm.py.
_NO_CALL_MARGIN = 1.0
CALLS_OPEN = TOOL_CALL_OPEN + "["
# Giving the schema itself in the prompt made the model echo it; the grammar enforces it anyway.
_JSON_SYSTEM = "Answer in JSON."
_REASON_SYSTEM = (
    "Before answering, think about the question step by step: what is asked, what the conversation "
    "gives you, and how to answer. Write only this reasoning, not the final answer."
)


class GenerationStream:
    """Text pieces of one generation (iterate); ``generation`` is complete once exhausted."""

    def __init__(self, steps: Generator[str, None, None], generation: Generation) -> None:
        self._steps = steps
        self.generation = generation

    def __iter__(self) -> Iterator[str]:
        return self._steps

    def close(self) -> None:
        self._steps.close()


class SmolLM2Generator:
    """Answers chat requests with SmolLM2-135M-Instruct; see the module docstring."""

    def __init__(
        self, engine: Engine | None = None, *, cache_dir: Path | None = None, threads: int | None = 1
    ):
        self.engine = engine if engine is not None else Engine(cache_dir=cache_dir, threads=threads)
        self.tokenizer = self.engine.tokenizer
        self._no_call = self.tokenizer.encode("]" + TOOL_CALL_CLOSE)
        self._tool_setups: dict[str, tuple[Prefix, NDArray[np.float64]]] = {}
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return self.tokenizer.count(text)

    def reason(
        self, messages: Sequence[Mapping[str, Any]], *, max_tokens: int, seed: int | None = None
    ) -> tuple[str, int]:
        """The model's own reasoning about ``messages`` (asked for in the system turn, before the answer
        is generated) and its token count: what a reasoning model shows apart from its answer."""
        prompt = chat_ids(self.tokenizer, messages, system=_REASON_SYSTEM)
        completion = self.engine.complete(
            prompt, SamplingParams(temperature=0.6, seed=seed), max_tokens=max_tokens
        )
        try:
            text = "".join(completion)
        finally:
            completion.close()
        return text.strip(), completion.completion_tokens

    def generate(self, messages: Sequence[Mapping[str, Any]], **options: Any) -> Generation:
        """Takes the options of :meth:`stream`."""
        stream = self.stream(messages, **options)
        for _ in stream:
            pass
        return stream.generation

    def stream(
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
        top_p: float | None = None,
        top_k: int | None = None,
        repetition_penalty: float | None = None,
        frequency_penalty: float | None = None,
        presence_penalty: float | None = None,
    ) -> GenerationStream:
        params = SamplingParams(
            temperature=float(temperature),
            top_p=top_p,
            top_k=top_k,
            seed=seed,
            repetition_penalty=repetition_penalty,
            frequency_penalty=frequency_penalty,
            presence_penalty=presence_penalty,
        )
        gen = Generation()
        after_tool = bool(messages) and messages[-1].get("role") == "tool"
        if tools and tool_choice != "none" and not after_tool:
            steps = self._with_tools(gen, messages, params, max_tokens, stop, tools, tool_choice)
        elif response_format is not None:
            steps = self._json(gen, messages, params, max_tokens, response_format)
        else:
            prompt = chat_ids(self.tokenizer, messages)
            gen.prompt_tokens = len(prompt)
            steps = self._text(gen, self.engine.complete(prompt, params, max_tokens=max_tokens, stop=stop))
        return GenerationStream(steps, gen)

    def _text(self, gen: Generation, completion: Completion) -> Generator[str, None, None]:
        try:
            for piece in completion:
                gen.text += piece
                gen.pieces.append(piece)
                gen.completion_tokens = completion.completion_tokens
                yield piece
            gen.completion_tokens = completion.completion_tokens
        finally:
            completion.close()

    def _json(
        self,
        gen: Generation,
        messages: Sequence[Mapping[str, Any]],
        params: SamplingParams,
        max_tokens: int,
        response_format: Mapping[str, Any],
    ) -> Generator[str, None, None]:
        schema = response_schema(response_format)
        prompt = chat_ids(self.tokenizer, messages, system=_JSON_SYSTEM)
        gen.prompt_tokens = len(prompt)
        completion = self.engine.complete(prompt, params, max_tokens=max_tokens, schema=schema)
        text = "".join(completion)
        gen.completion_tokens = completion.completion_tokens
        try:
            gen.json_value = json.loads(text)
        except ValueError:  # cut short by max_tokens: the text so far is all there is
            gen.text = text
        yield from ()

    def _with_tools(
        self,
        gen: Generation,
        messages: Sequence[Mapping[str, Any]],
        params: SamplingParams,
        max_tokens: int,
        stop: Sequence[str],
        tools: Sequence[Mapping[str, Any]],
        tool_choice: Any,
    ) -> Generator[str, None, None]:
        specs = [tool_spec(t) for t in tools]
        forced = tool_choice in ("any", "required") or isinstance(tool_choice, Mapping)
        if isinstance(tool_choice, Mapping):
            fn = tool_choice.get("function")
            wanted = fn.get("name") if isinstance(fn, Mapping) else tool_choice.get("name")
            specs = [s for s in specs if s["name"] == wanted] or specs
        system = tools_system_prompt(specs)
        prompt = chat_ids(self.tokenizer, messages, system=system, answer_prefix=CALLS_OPEN)
        gen.prompt_tokens = len(prompt)
        openings = [self.tokenizer.encode(call_opening(s["name"])) for s in specs]
        shared, baseline = self._tools_setup(system, openings)
        prefix = self.engine.prefill(prompt, base=shared)
        branches = self.engine.score(prefix, [self._no_call, *openings])
        choice = self._choose(branches.scores, baseline, allow_none=not forced)
        if choice is None:
            plain = chat_ids(self.tokenizer, messages)
            yield from self._text(gen, self.engine.complete(plain, params, max_tokens=max_tokens, stop=stop))
            return
        spec = specs[choice]
        completion = self.engine.complete(
            prompt + openings[choice],
            params,
            max_tokens=max(1, max_tokens - len(openings[choice])),
            schema=strict_schema(spec["parameters"]),
            prefix=branches.take(choice + 1),
        )
        text = "".join(completion)
        gen.completion_tokens = len(openings[choice]) + completion.completion_tokens
        try:
            arguments = json.loads(text)
        except ValueError:  # cut short by max_tokens
            arguments = None
        if isinstance(arguments, dict):
            gen.tool_calls = [{"name": spec["name"], "arguments": arguments}]
        else:
            gen.text = TOOL_CALL_OPEN + "[" + call_opening(spec["name"]) + text

    def _choose(self, raw: Sequence[float], baseline: NDArray[np.float64], *, allow_none: bool) -> int | None:
        """The index of the tool to call, or None for no call (see the module docstring)."""
        scores = np.asarray(raw) - baseline
        scores[0] -= _NO_CALL_MARGIN
        if not allow_none:
            scores[0] = -np.inf
        best = int(np.argmax(scores))
        return None if best == 0 else best - 1

    def _tools_setup(
        self, system: str, openings: Sequence[Sequence[int]]
    ) -> tuple[Prefix, NDArray[np.float64]]:
        """For one tool listing, once: the system turn run through the model (shared by requests with
        that listing) and the candidates' scores after a content-free question."""
        with self._lock:
            cached = self._tool_setups.get(system)
        if cached is None:
            shared = self.engine.prefill(chat_ids(self.tokenizer, [], system=system, only_system=True))
            null = chat_ids(
                self.tokenizer,
                [{"role": "user", "content": _NULL_QUESTION}],
                system=system,
                answer_prefix=CALLS_OPEN,
            )
            prefix = self.engine.prefill(null, base=shared)
            baseline = np.asarray(self.engine.score(prefix, [self._no_call, *openings]).scores)
            cached = (shared, baseline)
            with self._lock:
                self._tool_setups[system] = cached
                while len(self._tool_setups) > _SETUPS_KEPT:
                    self._tool_setups.pop(next(iter(self._tool_setups)))
        return cached
