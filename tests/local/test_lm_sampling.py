"""Sampling as Workers AI takes it: greedy, seeds, top_k/top_p, penalties, stop, max_tokens, streams."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from workersai.local.lm import SmolLM2Generator
from workersai.local.lm.sampling import Sampler, SamplingParams

STORY = [{"role": "user", "content": "Tell me a story about a dragon."}]


def test_same_seed_same_text_other_seed_other_text(generator: SmolLM2Generator) -> None:
    def run(seed: int) -> str:
        return generator.generate(STORY, temperature=1.0, seed=seed, max_tokens=12).text

    first = run(7)
    assert run(7) == first
    assert any(run(seed) != first for seed in (8, 9))


def test_temperature_zero_is_greedy_and_top_k_one_too(generator: SmolLM2Generator) -> None:
    greedy = generator.generate(STORY, temperature=0, max_tokens=8)
    assert generator.generate(STORY, temperature=1.5, top_k=1, seed=3, max_tokens=8).text == greedy.text


def test_max_tokens_and_usage_count_real_tokens(generator: SmolLM2Generator) -> None:
    gen = generator.generate(STORY, temperature=0, max_tokens=5)
    assert gen.completion_tokens == 5
    assert gen.completion_tokens == generator.count_tokens(gen.text)
    # the ChatML template around the text: system turn, user turn, assistant opening
    assert gen.prompt_tokens > generator.count_tokens(STORY[0]["content"]) + 6
    assert gen.usage["total_tokens"] == gen.prompt_tokens + gen.completion_tokens


def test_stop_sequence_cuts_the_text(generator: SmolLM2Generator) -> None:
    free = generator.generate(STORY, temperature=0, max_tokens=12).text
    word = free.split()[3]
    gen = generator.generate(STORY, temperature=0, max_tokens=12, stop=[word])
    assert gen.text == free[: free.index(word)]


def test_stream_pieces_join_to_the_text(generator: SmolLM2Generator) -> None:
    stream = generator.stream(STORY, temperature=0, max_tokens=10)
    pieces = list(stream)
    assert len(pieces) > 1 and "".join(pieces) == stream.generation.text
    assert stream.generation.pieces == pieces


def test_a_closed_stream_stops_computing(
    generator: SmolLM2Generator, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = generator.engine.model
    calls: list[int] = []
    real = model.forward
    monkeypatch.setattr(
        model, "forward", lambda tokens, *a, **k: calls.append(len(tokens)) or real(tokens, *a, **k)
    )
    stream = generator.stream(STORY, temperature=0, max_tokens=200)
    pieces = iter(stream)
    next(pieces)
    next(pieces)
    stream.close()
    assert len(calls) <= 3  # the prompt, then one step per piece taken
    assert list(pieces) == []


def test_concurrent_requests_are_served(generator: SmolLM2Generator) -> None:
    expected = generator.generate(STORY, temperature=0, max_tokens=6).text
    results: list[str] = []
    errors: list[BaseException] = []

    def run() -> None:
        try:
            results.append(generator.generate(STORY, temperature=0, max_tokens=6).text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert results == [expected] * 3


def test_top_k_and_top_p_limit_the_candidates() -> None:
    logits = np.log(np.array([0.5, 0.3, 0.15, 0.05], dtype=np.float32))
    top_k = Sampler(SamplingParams(temperature=1.0, top_k=2, seed=0), 4)
    assert {top_k(logits) for _ in range(200)} == {0, 1}
    top_p = Sampler(SamplingParams(temperature=1.0, top_p=0.7, seed=0), 4)
    assert {top_p(logits) for _ in range(200)} == {0, 1}  # 0.5 + 0.3 reaches 0.7
    everything = Sampler(SamplingParams(temperature=1.0, seed=0), 4)
    assert {everything(logits) for _ in range(400)} == {0, 1, 2, 3}


def test_penalties_lower_tokens_already_generated() -> None:
    logits = np.array([2.0, 1.9, -1.0], dtype=np.float32)
    for params in (
        SamplingParams(temperature=0, repetition_penalty=1.5),
        SamplingParams(temperature=0, frequency_penalty=0.5),
        SamplingParams(temperature=0, presence_penalty=0.5),
    ):
        sampler = Sampler(params, 3)
        assert sampler(logits) == 0
        sampler.accept(0)
        assert sampler(logits) == 1
    plain = Sampler(SamplingParams(temperature=0), 3)
    plain.accept(0)
    assert plain(logits) == 0
