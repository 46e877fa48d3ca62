"""The engine: one loaded model shared by all requests, and the token loop of one completion.

A completion is a generator of text pieces: the prompt is prefilled in one batched pass, then tokens
are sampled one at a time (masked by a grammar when there is one), their bytes decoded into whole
characters and cut at stop strings. Nothing is computed ahead of the consumer, so closing the
generator (a cancelled stream) stops the work. Each request has its own KV cache; the forward steps of
concurrent requests take turns under one lock (two BLAS calls at once would only fight over the same
cores), so concurrent requests interleave token by token instead of failing.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from ..generation import CANCEL, GenerationCancelled
from . import weights as weights_mod
from .grammar import Grammar, closing_tokens, make_lltokenizer
from .model import KVCache, Model
from .sampling import Sampler, SamplingParams
from .text import TextStream
from .tokenizer import TextTokenizer
from .weights import Array


@dataclass
class Prefix:
    """A prompt already run through the model: its KV cache and the logits after it."""

    tokens: list[int]
    cache: KVCache
    logits: Array


# Tokens before the budget's end at which a grammar starts closing what is open (see Grammar).
CLOSE_WITHIN = 24


@dataclass
class Branches:
    """Continuations of a prefix, scored; :meth:`take` extends the prefix with one of them."""

    prefix: Prefix
    continuations: list[list[int]]
    logits: list[Array]
    scores: list[float]

    def take(self, index: int) -> Prefix:
        """The prefix followed by continuation ``index`` (reusing its cache: take only one)."""
        offset = sum(len(c) for c in self.continuations[:index])
        chosen = self.continuations[index]
        cache = self.prefix.cache
        cache.length = len(self.prefix.tokens)
        cache.keep_branch(offset, len(chosen))
        return Prefix(self.prefix.tokens + chosen, cache, self.logits[index][-1])


class Completion:
    """One completion's text pieces (iterate) and counts; ``close()`` stops it."""

    def __init__(
        self,
        engine: Engine,
        prompt: Sequence[int],
        params: SamplingParams,
        max_tokens: int,
        stop: Sequence[str],
        schema: Mapping[str, Any] | None,
        prefix: Prefix | None,
    ) -> None:
        self.prompt_tokens = len(prompt)
        self.completion_tokens = 0
        self.tokens: list[int] = []
        self.finish_reason = "length"
        self._stream = TextStream(stop)
        # Built here, not in the generator, so a bad schema fails before the first piece.
        grammar = Grammar(engine.lltokenizer, schema, engine.closers) if schema is not None else None
        self._steps = engine._steps(self, list(prompt), params, max_tokens, grammar, prefix)

    @property
    def text(self) -> str:
        return self._stream.text

    def __iter__(self) -> Iterator[str]:
        return self._steps

    def close(self) -> None:
        self._steps.close()


class Engine:
    """SmolLM2-135M-Instruct loaded from its GGUF (via the cache); see the module docstring.

    ``threads`` pins BLAS to that many threads for the whole process (None leaves BLAS as it is). The
    default is 1: OpenBLAS's threads wait for each other by spinning, so on two cores shared with
    other work two threads decoded at 1.3 tokens/s where one decoded at 13 (benchmarks/lm.py);
    on idle cores 2 is faster.
    """

    def __init__(self, gguf: Path | None = None, cache_dir: Path | None = None, threads: int | None = 1):
        if threads is not None:
            threadpool_limits(limits=threads, user_api="blas")
        self.weights, tokenizer_json = weights_mod.load(gguf, cache_dir)
        self.config = self.weights.config
        self.tokenizer = TextTokenizer(tokenizer_json)
        self.model = Model(self.weights)
        self.lltokenizer = make_lltokenizer(tokenizer_json, self.tokenizer.im_end)
        self.closers = closing_tokens(
            [self.tokenizer.token_bytes(t) for t in range(self.tokenizer.vocab_size)]
        )
        self._stop_ids = self.tokenizer.special_ids
        self._lock = threading.Lock()
        self._count_lock = threading.Lock()
        self.generated_tokens = 0
        """Tokens sampled by every completion since the engine was loaded (a counter for tests and
        ``/__local__/stats``)."""
        self.generating = 0
        """Completions running now (started and neither finished, closed nor cancelled)."""

    def _count(self, tokens: int = 0, running: int = 0) -> None:
        with self._count_lock:
            self.generated_tokens += tokens
            self.generating += running

    def complete(
        self,
        prompt: Sequence[int],
        params: SamplingParams,
        *,
        max_tokens: int,
        stop: Sequence[str] = (),
        schema: Mapping[str, Any] | None = None,
        prefix: Prefix | None = None,
    ) -> Completion:
        """Generate after ``prompt``; with ``prefix`` (which ``prompt`` must start with), only the rest of
        the prompt is run."""
        if not prompt:
            raise ValueError("the prompt is empty")
        room = self.config.context_length - len(prompt)
        if room < 1:
            raise ValueError(
                f"the prompt has {len(prompt)} tokens; the context is {self.config.context_length}"
            )
        if prefix is not None and list(prompt[: len(prefix.tokens)]) != prefix.tokens:
            raise ValueError("the prompt does not start with the prefix")
        return Completion(self, prompt, params, min(max_tokens, room), stop, schema, prefix)

    def prefill(self, prompt: Sequence[int], base: Prefix | None = None) -> Prefix:
        """Run ``prompt``; from a copy of ``base``'s cache when the prompt starts with its tokens."""
        if (
            base is not None
            and len(prompt) > len(base.tokens)
            and list(prompt[: len(base.tokens)]) == base.tokens
        ):
            cache = base.cache.copy(len(prompt) + 64)
            cache.length = len(base.tokens)
            return Prefix(list(prompt), cache, self._forward(prompt[len(base.tokens) :], cache))
        cache = self.model.new_cache(len(prompt) + 64)
        return Prefix(list(prompt), cache, self._forward(prompt, cache))

    def score(self, prefix: Prefix, continuations: Sequence[Sequence[int]]) -> Branches:
        """The log-probability of each continuation after ``prefix``, all in one pass."""
        with self._lock:
            logits = self.model.forward_branches(continuations, prefix.cache)
        scores = []
        for tokens, after in zip(continuations, logits, strict=True):
            before = np.concatenate([prefix.logits[None], after[:-1]])
            shifted = before - before.max(axis=-1, keepdims=True)
            logprobs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
            scores.append(float(logprobs[np.arange(len(tokens)), list(tokens)].sum()))
        return Branches(prefix, [list(c) for c in continuations], logits, scores)

    def _forward(self, tokens: Sequence[int], cache: KVCache) -> Array:
        with self._lock:
            return self.model.forward(tokens, cache)

    def _forward_all(self, tokens: Sequence[int], cache: KVCache) -> Array:
        with self._lock:
            return self.model.forward(tokens, cache, all_logits=True)

    def _steps(
        self,
        out: Completion,
        prompt: list[int],
        params: SamplingParams,
        max_tokens: int,
        grammar: Grammar | None,
        prefix: Prefix | None,
    ) -> Generator[str, None, None]:
        cancel = CANCEL.get()  # read where the generation starts: later steps may run on other threads
        self._count(running=1)
        try:
            yield from self._token_loop(out, prompt, params, max_tokens, grammar, prefix, cancel)
        finally:
            self._count(running=-1)

    def _token_loop(
        self,
        out: Completion,
        prompt: list[int],
        params: SamplingParams,
        max_tokens: int,
        grammar: Grammar | None,
        prefix: Prefix | None,
        cancel: threading.Event | None,
    ) -> Generator[str, None, None]:
        sampler = Sampler(params, self.config.vocab_size)
        stream = out._stream
        if prefix is None:
            cache = self.model.new_cache(len(prompt) + max_tokens)
            logits = self._forward(prompt, cache)
        else:
            cache = prefix.cache
            cache.length = len(prefix.tokens)
            rest = prompt[len(prefix.tokens) :]
            logits = self._forward(rest, cache) if rest else prefix.logits
        for step in range(max_tokens):
            if cancel is not None and cancel.is_set():  # the client went away: stop before the next token
                raise GenerationCancelled("the client went away")
            if grammar is not None:
                logits = grammar.mask(logits, closing=max_tokens - step <= CLOSE_WITHIN)
            token = sampler(logits)
            if token in self._stop_ids:
                out.finish_reason = "stop"
                break
            if grammar is not None:
                grammar.consume(token)
            sampler.accept(token)
            out.tokens.append(token)
            out.completion_tokens += 1
            self._count(tokens=1)
            piece = stream.push(self.tokenizer.token_bytes(token))
            if piece:
                yield piece
            if stream.stopped or (grammar is not None and grammar.done):
                out.finish_reason = "stop"
                break
            if out.completion_tokens < max_tokens:
                logits = self._forward([token], cache)
        tail = stream.finish()
        if tail:
            yield tail
