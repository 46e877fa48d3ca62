"""Every example runs, against the local emulator, as a user would run it: with the default generator
(SmolLM2-135M-Instruct, the real small language model, when its weights are installed), as `make demo`
does. What a small model says varies, so the checks look at structure and grounding (an answer at all,
parsed JSON, the documents retrieved, usage printed), never at its wording; each example also asserts
its own grounding.

quickstart.py (`make demo`) starts its own emulator, as a user's first run does. The others are pointed
through CLOUDFLARE_* at one emulator running the language model, started once per test process (as a
user of `workersai-local` in another terminal does): each example would otherwise start an emulator and
load the model again, and the retry examples inject their faults into the emulator they are given.

examples/python_worker (a Python Worker on env.AI / env.VECTORIZE) runs in the Workers runtime only; its
handler's work (src/rag.py) runs under Pyodide with emulated bindings in tests/pyodide."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.timing import SUBPROCESS_TIMEOUT_S
from workersai.local import LocalEmulator
from workersai.local.browser_engine import missing_browser
from workersai.local.generator_choice import GENERATOR_ENV

EXAMPLES = Path(__file__).parent.parent / "examples"
SCRIPTS = sorted(p.name for p in EXAMPLES.glob("*.py") if not p.name.startswith("_"))
USAGE = r"usage.*: \d+ tokens, about [\d.]+ neurons"

# What each example must print: regular expressions (re.MULTILINE) over its stdout.
SHOWN: dict[str, list[str]] = {
    "agent_memory.py": [
        r"^turn 1 \(pid \d+\): A: \S",
        r"^process \d+ killed inside 'answer'$",  # the first process died mid-turn ...
        r"^resumed thread \S+ at \['answer'\] in pid \d+$",  # ... another carried on from its checkpoint
        r"^history: 4 messages, recalled: \[",
        r"^recalled in a new thread: \['My favourite fruit is the mango\.'\]$",  # found by meaning
    ],
    "ai_search_rag.py": [
        r"^uploaded handbook/leave\.md: completed",
        r"^  [\d.]+ handbook/onboarding\.md: ",  # the retriever's first document
        r"^\[LangChain AISearchChain\]\nA: \S",  # an answer ...
        r"^sources: \['handbook/leave\.md'",  # ... from the leave policy
        r"^\[LlamaIndex AISearchQueryEngine\]\nA: \S",
        r"^sources: \['ops/incidents\.md'",
        r"^indexed files: 3$",
    ],
    "batch_embeddings.py": [r"^1000 vectors of 384 dimensions in [\d.]+s, 10 requests$", USAGE],
    "decide_and_extract.py": [
        r"^extracted: candidates=\[.*\] interviews=",  # Clairic's typed values
        r"^decision about .+: licensed=(True|False) \(p=[\d.]+\), fit=[\d.]+ of 0-2 \{'0': ",
        r"^neurons spent on Clef: [\d.]+; on Clairic: None",
    ],
    "llamaindex_chat.py": [
        r"^assistant: \S",
        r"^user: And how many are free each day\?\nassistant: \S",
        r"^sources: \[.*'Workers AI bills in neurons",
    ],
    "llamaindex_rag.py": [r"^A: \S", r"^sources: \[.*'passage-9'"],  # passage 9: capacity errors, 3040
    "model_fallback.py": [
        r"^answered by @cf/meta/llama-3\.2-3b-instruct after \d request\(s\), 1 fallback\(s\): \S",
        r"^requests sent: 5 to \S+, 6 to @cf/meta/llama-3\.2-3b-instruct$",
    ],
    "parallel.py": [r"^sentiment: \S", r"^summary: \S", r"^embedding: 768 dimensions$", USAGE],
    "prompt_patterns.py": [
        r"^JSON only: \{'answer': ",  # the JSON parsed into a dict with the key asked for
        r"^Concise: \S",
        r"^Step by step: \S",
        r"^Few-shot extraction: name=(['\"]).+\1 age=\d+$",  # parsed into the pydantic model
    ],
    "quickstart.py": [
        r"^embedded 5 texts, 768 dimensions each$",
        r"^  [\d.]+  Vectorize is",  # the closest text
        r"^\[\d+ prompt \+ \d+ completion tokens\]$",
        USAGE,
    ],
    "documents_to_rag.py": [
        r"^converted rivers\.html \(text/html\): \d+ tokens",
        r"^converted tea\.docx \(application/vnd\.openxmlformats-\S+\.document\): \d+ tokens",
        r"^converted volcanoes\.pdf \(application/pdf\): \d+ tokens",
        r"^split into \d+ chunks",
        r"^A: \S",
        r"^sources: \['volcanoes\.pdf'",
    ],
    "rag_lcel.py": [r"^ingested 12 passages", r"^A: \S", r"^sources: \[.*'Vectorize writes are asynchron"],
    "reasoning.py": [
        # reasoning apart from the answer (reprs: quoted with ' or ")
        r"^\[core, @cf/deepseek-ai/deepseek-r1-distill-qwen-32b\]\n  reasoning: ['\"].+\n  answer: ['\"]",
        r"^\[LangChain\]\n  reasoning: ['\"].+",
        r"^\[LlamaIndex, @cf/qwen/qwen3-30b-a3b-fp8\]\n  thinking: \[['\"].+\]",
        r"^  tool call: get_weather\(\{'city': ",
    ],
    "retry.py": [r"^answer after 3 retries \(waited .*\): \S", r"^requests sent: 4; answered by "],
    "streaming_endpoint.py": [r"^\d+ text frames from @cf/\S+, then \[DONE\]$"],
    "vision.py": [r"^A \(LangChain\): \S", r"^A \(core\): \S", r"^text-only model: "],
    "web_to_rag.py": [
        r"^rendered http://127\.0\.0\.1:\d+/travel\.html: \d+ characters of Markdown$",
        r"^sections: \[.*'## Expense reports'\]$",  # the section the page's script wrote: rendered
        r"^A: \S",
        r"^sources: \['## Expense reports'",
    ],
}


def test_every_example_has_its_checks() -> None:
    assert sorted(SHOWN) == SCRIPTS


@pytest.fixture(scope="module")
def lm_emulator() -> Iterator[LocalEmulator]:
    """The examples' emulator: the default generator, as `workersai-local` starts it for a user."""
    with LocalEmulator(generator="auto") as emulator:
        yield emulator


def _run(script: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / script)],
        env=env,
        capture_output=True,
        text=True,
        timeout=SUBPROCESS_TIMEOUT_S,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    missing = [shown for shown in SHOWN[script] if not re.search(shown, done.stdout, re.MULTILINE)]
    assert not missing, (missing, done.stdout)
    return done


def _user_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDFLARE_")}
    env.pop(GENERATOR_ENV, None)  # the default generator: the language model, as a user gets it
    return env


def test_quickstart_starts_its_own_emulator_with_the_language_model() -> None:
    """`make demo`: nothing set, the example starts an emulator, which loads the language model."""
    done = _run("quickstart.py", _user_env())
    assert "using the local emulator" in done.stdout
    assert "SmolLM2-135M-Instruct" in done.stderr, done.stderr  # the language model, not extractive
    answer = done.stdout.split("\nA: ", 1)[1].split("\n\n[", 1)[0]
    assert answer.strip(), answer  # a real answer, by the language model
    assert "Context:" not in answer and "Answer in one sentence" not in answer, answer  # no echo


@pytest.mark.parametrize("script", [s for s in SCRIPTS if s != "quickstart.py"])
def test_example_runs(lm_emulator: LocalEmulator, script: str) -> None:
    """Pointed at a running emulator through CLOUDFLARE_*, as a user of `workersai-local` does (the
    retry examples inject their faults into it and show the retries and the fallback)."""
    if script == "web_to_rag.py" and (reason := missing_browser()):
        pytest.skip(f"no browser for Browser Run: {reason}")
    before = lm_emulator.stats()["generated_tokens"]
    done = _run(script, {**_user_env(), **lm_emulator.env()})
    assert f"using the emulator at {lm_emulator.url}" in done.stdout
    # The answers come from the language model, not from the extractive generator.
    generated = lm_emulator.stats()["generated_tokens"] - before
    assert generated > 0 or script == "batch_embeddings.py", generated
