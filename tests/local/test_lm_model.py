"""The forward pass: cached weights, knowledge, reading made-up facts, perplexity, KV-cache consistency."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from workersai.local.lm import Engine, SmolLM2Generator
from workersai.local.lm import weights as weights_mod

# A plain English paragraph: measured 24.8 here; reading llama.cpp's interleaved RoPE pairs the HF
# (rotate-half) way gives 69 on it, so the bound tells the two apart.
PARAGRAPH = (
    "The city grew up around a bridge over the river. Over the following centuries, merchants built "
    "warehouses along the banks, and the town became an important center of trade. By the eighteenth "
    "century it had a university, several churches, and a busy port."
)


def test_second_load_reads_the_cache_not_the_gguf(
    lm_cache: Path, engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_gguf(*args: object) -> None:
        raise AssertionError("the GGUF was read again")

    monkeypatch.setattr(weights_mod, "read_gguf", no_gguf)
    weights, tokenizer_json = weights_mod.load(cache_dir=lm_cache)
    assert isinstance(weights.wqkv.base, np.memmap)  # memory-mapped, not read
    assert weights.config == engine.config
    assert tokenizer_json == engine.tokenizer.json


def test_weights_are_float32_and_tied(engine: Engine) -> None:
    w = engine.weights
    c = w.config
    assert (c.n_layers, c.dim, c.n_heads, c.n_kv_heads, c.vocab_size) == (30, 576, 9, 3, 49152)
    assert w.wqkv.shape == (30, 576, 576 + 2 * 192)
    for name in ("embed", "out_norm", "wqkv", "wo", "w_gate_up", "w_down"):
        assert getattr(w, name).dtype == np.float32


def test_perplexity_of_plain_english_is_low(engine: Engine) -> None:
    ids = engine.tokenizer.encode(PARAGRAPH)
    logits = engine.model.forward(ids, engine.model.new_cache(len(ids)), all_logits=True)
    assert logits.dtype == np.float32
    shifted = logits - logits.max(axis=-1, keepdims=True)
    logprobs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    perplexity = float(np.exp(-logprobs[np.arange(len(ids) - 1), ids[1:]].mean()))
    assert perplexity < 35, perplexity


def test_branches_score_like_separate_runs(engine: Engine) -> None:
    prefix = engine.prefill(engine.tokenizer.encode("The cat sat on the"))
    branches = [engine.tokenizer.encode(" mat and slept"), engine.tokenizer.encode(" roof")]
    scored = engine.score(prefix, branches)
    for tokens, logits in zip(branches, scored.logits, strict=True):
        alone = engine.prefill(prefix.tokens + tokens)
        np.testing.assert_allclose(logits[-1], alone.logits, rtol=1e-3, atol=1e-3)
    taken = scored.take(1)
    assert taken.tokens == prefix.tokens + branches[1]
    after = engine.model.forward(engine.tokenizer.encode("."), taken.cache)
    alone = engine.prefill(prefix.tokens + branches[1] + engine.tokenizer.encode("."))
    np.testing.assert_allclose(after, alone.logits, rtol=1e-3, atol=1e-3)


def test_decoding_token_by_token_matches_batched_prefill(engine: Engine) -> None:
    ids = engine.tokenizer.encode("One KV cache, two ways to fill it.")
    batched = engine.model.forward(ids, engine.model.new_cache(4), all_logits=True)
    cache = engine.model.new_cache(4)  # grows as needed
    stepwise = np.stack([engine.model.forward([t], cache) for t in ids])
    np.testing.assert_allclose(stepwise, batched, rtol=1e-3, atol=1e-3)


def test_knows_the_capital_of_france(generator: SmolLM2Generator) -> None:
    gen = generator.generate(
        [{"role": "user", "content": "What is the capital of France?"}], temperature=0, max_tokens=12
    )
    assert "Paris" in gen.text


@pytest.mark.parametrize(
    ("context", "question", "fact"),
    [
        (
            "The Zorblax 9 is a ferry operated by Kelmora Lines. It was built in 2011 in the port of Vashti.",
            "Where was the Zorblax 9 built?",
            "Vashti",
        ),
        (
            "The Zorblax 9 is a ferry operated by Kelmora Lines. It carries 412 passengers.",
            "How many passengers does the Zorblax 9 carry?",
            "412",
        ),
        (
            "Quillon Bay's lighthouse keeper is Marta Oyelaran. The lighthouse is painted green.",
            "Who is the lighthouse keeper of Quillon Bay?",
            "Marta Oyelaran",
        ),
    ],
)
def test_answers_made_up_facts_from_its_context(
    generator: SmolLM2Generator, context: str, question: str, fact: str
) -> None:
    messages = [
        {"role": "system", "content": "Use this context to answer: " + context},
        {"role": "user", "content": question},
    ]
    gen = generator.generate(messages, temperature=0, max_tokens=32)
    assert fact in gen.text
    assert "Use this context" not in gen.text


def test_the_emulator_runs_the_model_on_lm_threads(lm_cache: Path, tmp_path: Path) -> None:
    from threadpoolctl import threadpool_info, threadpool_limits

    from workersai.local.cli import parse_args
    from workersai.local.emulator import Emulator, EmulatorConfig

    assert parse_args([]).lm_threads == 1
    assert parse_args(["--lm-threads", "2"]).lm_threads == 2
    with pytest.raises(SystemExit):
        parse_args(["--lm-threads", "0"])
    emu = Emulator(EmulatorConfig(token="t", data_dir=tmp_path, generator="smollm2", lm_threads=2))
    try:
        assert emu.generator.engine.config.n_layers == 30
        assert {i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"} == {2}
    finally:
        threadpool_limits(limits=1, user_api="blas")  # the suite shares two cores
