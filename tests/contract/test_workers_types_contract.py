"""Contract with Cloudflare's own types (#26): an oracle nobody here wrote.

The npm package ``@cloudflare/workers-types`` declares every Workers AI model's input and output
(``interface AiModels``). ``tests/workers_types/generate.mjs`` turns them into JSON Schemas from the
pinned package (``make workers-types``, or this module when that step did not run; redone only when the
pins, the generator or the catalog change). For every model of the bundled catalog and each input form
the client sends it, this test calls the client against the emulator and validates, with ``jsonschema``:

- the request body the client sent (captured by an httpx hook) against the model's input schema;
- the emulator's answer (``result`` of a non-streamed ``/ai/run``) against the model's output schema.

The types declare no streamed frames, so for streams only the request is checked. A catalog model the
types lack is listed in :data:`UNTYPED` with the reason, and its cases are skipped saying so.

The emulator serves the same schemas on ``/ai/models/schema`` from the committed copy
``workersai/local/data/workers_types.json``, which must equal what the pinned package generates.
"""

from __future__ import annotations

import copy
import json
import shutil
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from workersai import WorkersAI
from workersai.catalog import ModelInfo, models
from workersai.local.model_schemas import WORKERS_TYPES_VERSION

from ..conftest import shared_emulator
from ..images import RED_URL

TOOLS_DIR = Path(__file__).parent.parent / "workers_types"
GENERATED = TOOLS_DIR / ".generated" / "workers_types.json"
COMMITTED = Path(__file__).parent.parent.parent / "workersai" / "local" / "data" / "workers_types.json"
INPUTS = [
    TOOLS_DIR / "package.json",
    TOOLS_DIR / "package-lock.json",
    TOOLS_DIR / "generate.mjs",
    Path(__file__).parent.parent.parent / "workersai" / "data" / "models.json",
]
NODE = shutil.which("node")

pytestmark = pytest.mark.skipif(
    NODE is None, reason="node is not installed: the workers-types contract test needs Node 20+ and npm"
)

UNTYPED = {
    "@cf/cloudflare/clairic": "not in AiModels of the pinned package (Clairic came after it); peer-tested",
    "@cf/cloudflare/clef": "not in AiModels of the pinned package (Clef came after it); peer-tested",
    "@cf/cloudflare/clef-flash": "not in AiModels of the pinned package; peer-tested",
    "@cf/cloudflare/clef-omni": "not in AiModels of the pinned package; peer-tested",
    "@cf/meta/llama-3.1-8b-instruct": "not in AiModels (the catalog records its deprecation on 2026-05-30)",
    "@cf/meta/llama-3.1-8b-instruct-fast": "not in AiModels; its model page is the only source",
    "@cf/meta/llama-3.1-8b-instruct-fp8-fast": "not in AiModels; listed on the pricing page only",
    "@cf/swiss-ai/apertus-v1.5-8b": "not in AiModels; access by request form, no schema on its page",
    "@cf/utter-project/eurollm-9b-it": "not in AiModels; access by request form, no schema on its page",
}
"""Catalog models that ``AiModels`` of the pinned package does not name, with why: nothing to check
them against (the emulator serves hand-written schemas for them)."""


def _generate() -> None:
    """What ``make workers-types`` does, for a run that skipped it (needs the npm registry once)."""
    installed = TOOLS_DIR / "node_modules" / ".installed"
    if not installed.exists() or installed.stat().st_mtime < max(p.stat().st_mtime for p in INPUTS[:2]):
        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOLS_DIR, check=True
        )
        installed.touch()
    assert NODE is not None
    subprocess.run([NODE, str(TOOLS_DIR / "generate.mjs"), str(GENERATED)], check=True)


@pytest.fixture(scope="module")
def generated() -> dict[str, Any]:
    """The schemas generated from the pinned package (regenerated when older than their inputs)."""
    if not GENERATED.exists() or GENERATED.stat().st_mtime < max(p.stat().st_mtime for p in INPUTS):
        _generate()
    data: dict[str, Any] = json.loads(GENERATED.read_text(encoding="utf-8"))
    return data


def _amended(generated: dict[str, Any]) -> dict[str, Any]:
    """The generated schemas with the package's known gaps filled, each from a source:

    - ``reasoning_content`` on a chat-completion message: the shared ``ChatCompletionResponseMessage``
      lacks it, but the package's own per-model output of qwen3-30b-a3b declares it ("Internal reasoning
      content (if available)") and Cloudflare's workers-ai-provider reads it from the answers;
    - bge-reranker-base's ``query``: its input type keeps the doc comment "A query you wish to perform
      against the provided contexts." with the property itself missing (index.d.ts); its model page
      lists ``query`` as required;
    - the generic text-generation output's ``tool_calls``, typed
      ``AiTextGenerationToolLegacyOutput[] & AiTextGenerationToolOutput[]``: an intersection no tool
      call fits (one shape has ``{name, arguments}``, the other ``{id, type, function}``, both closed);
      read as the union (either shape), which the models' pages and the client's parser take."""
    oracle = copy.deepcopy(generated)
    definitions = oracle["definitions"]
    message = definitions["ChatCompletionResponseMessage"]["properties"]
    message["reasoning_content"] = {"type": ["string", "null"]}
    rerank = definitions["Ai_Cf_Baai_Bge_Reranker_Base_Input"]
    rerank["properties"]["query"] = {"type": "string", "minLength": 1}
    rerank["required"] = sorted({*rerank.get("required", []), "query"})
    tool_calls = definitions["AiTextGenerationOutput"]["properties"]["tool_calls"]
    tool_calls["anyOf"] = tool_calls.pop("allOf")
    return oracle


@pytest.fixture(scope="module")
def oracle(generated: dict[str, Any]) -> dict[str, Any]:
    """What the requests and answers are checked against (:func:`_amended`)."""
    return _amended(generated)


def validator(generated: dict[str, Any], schema: dict[str, Any]) -> jsonschema.Draft7Validator:
    """A validator of ``schema`` (a model's input or output, or a part of it) resolving the
    package's definitions."""
    return jsonschema.Draft7Validator({**schema, "definitions": generated["definitions"]})


def problems(generated: dict[str, Any], schema: dict[str, Any], instance: Any) -> list[str]:
    """Every way ``instance`` breaks ``schema``, each with its path, for the failure message."""
    found = validator(generated, schema).iter_errors(instance)
    out = []
    for error in found:
        deepest = [error, *(error.context or [])]
        out.append(
            "; ".join(f"{'/'.join(map(str, e.absolute_path)) or '.'}: {e.message[:300]}" for e in deepest)
        )
    return out


# -- the generated file and the served schemas --------------------------------------------------------
def test_committed_schemas_are_what_the_pinned_package_generates(generated: dict[str, Any]) -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == generated, (
        "workersai/local/data/workers_types.json is stale: "
        "node tests/workers_types/generate.mjs workersai/local/data/workers_types.json"
    )
    pins = json.loads((TOOLS_DIR / "package.json").read_text(encoding="utf-8"))["devDependencies"]
    assert generated["version"] == pins["@cloudflare/workers-types"] == WORKERS_TYPES_VERSION


def test_every_catalog_model_is_typed_or_listed(generated: dict[str, Any]) -> None:
    assert set(generated["models"]) | set(generated["not_in_types"]) == set(models())
    assert sorted(UNTYPED) == generated["not_in_types"]


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    """Raw HTTP to the session's emulator (taken as :func:`_recording` takes it)."""
    emulator = shared_emulator()
    base = f"{emulator.base_url}/accounts/{emulator.account_id}"
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {emulator.token}"}, timeout=60) as c:
        yield c


def _top(generated: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if len(schema) == 1 and isinstance(ref, str):
        found: dict[str, Any] = generated["definitions"][ref.rsplit("/", 1)[-1]]
        return found
    return schema


@pytest.mark.parametrize("name", list(models()))
def test_served_schema_is_the_generated_one(http: httpx.Client, generated: dict[str, Any], name: str) -> None:
    answer = http.get("/ai/models/schema", params={"model": name})
    assert answer.status_code == 200, answer.text
    served = answer.json()["result"]
    assert set(served) == {"input", "output"}
    entry = generated["models"].get(name)
    for side in ("input", "output"):
        schema = dict(served[side])
        jsonschema.Draft7Validator.check_schema(schema)
        comment = schema.pop("$comment", "")
        if entry is None:  # hand-written by the emulator: it must not claim to come from the types
            assert "workers-types" not in comment
            continue
        assert comment.startswith(f"generated from @cloudflare/workers-types {generated['version']}")
        definitions = schema.pop("definitions", {})
        assert schema.pop("$schema") == generated["$schema"]
        assert schema == _top(generated, entry[side])
        assert all(generated["definitions"][k] == v for k, v in definitions.items())


# -- the client's requests and the emulator's answers ------------------------------------------------
@dataclass
class Exchange:
    """One request the client sent and the emulator's answer."""

    request: httpx.Request
    response: httpx.Response

    @property
    def body(self) -> Any:
        return json.loads(self.request.content)

    @property
    def streamed(self) -> bool:
        return self.response.headers.get("content-type", "").startswith("text/event-stream")


@pytest.fixture(scope="module")
def _recording() -> Iterator[tuple[WorkersAI, list[Exchange]]]:
    """One client for the module whose every exchange with the session's emulator is kept (the answer
    read whole in the hook); one, because each httpx client loads the CA bundle anew. The emulator is
    taken without its ``emulator`` fixture, whose per-test clean-up (faults, indexes) has nothing to do
    here: these tests set no faults and make no index. The catalog's retired models are served for the
    module's duration (``serve_deprecated``): past their date the service answers 410/5028, but their
    types still say what they took and answered, and the catalog still lists them."""
    emulator = shared_emulator()
    serving = emulator.config.serve_deprecated
    emulator.config.serve_deprecated = True
    seen: list[Exchange] = []

    def keep(response: httpx.Response) -> None:
        response.read()
        seen.append(Exchange(response.request, response))

    http = httpx.Client(timeout=60, event_hooks={"response": [keep]})
    with emulator.client(http_client=http, async_http_client=httpx.AsyncClient(timeout=60)) as client:
        try:
            yield client, seen
        finally:
            emulator.config.serve_deprecated = serving
    http.close()


@pytest.fixture
def recorded(_recording: tuple[WorkersAI, list[Exchange]]) -> tuple[WorkersAI, list[Exchange]]:
    """The module's client, with only this test's exchanges kept."""
    _recording[1].clear()
    return _recording


SYSTEM = {"role": "system", "content": "Paris is the capital of France. Berlin is the capital of Germany."}
QUESTION = {"role": "user", "content": "What is the capital of France?"}
WEATHER = {
    "name": "get_weather",
    "description": "Get the current weather in a city",
    "parameters": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "The city's name"}},
        "required": ["city"],
    },
}
ASKS_WEATHER = {"role": "user", "content": "Use the get_weather tool for the weather in Paris."}
CITY = {
    "type": "json_schema",
    "json_schema": {
        "type": "object",
        "properties": {"city": {"type": "string"}, "country": {"type": "string"}},
        "required": ["city", "country"],
    },
}

Call = Callable[[WorkersAI, str], Any]


def _chat(question: dict[str, str] = QUESTION, **options: Any) -> Call:
    return lambda client, model: client.chat([SYSTEM, question], model=model, max_tokens=32, **options)


def _tool_call(**options: Any) -> Call:
    """A chat that the emulator answers with a tool call (the answer's tool-call shape is checked)."""

    def call(client: WorkersAI, model: str) -> Any:
        result = _chat(ASKS_WEATHER, **options)(client, model)
        assert [c.name for c in result.tool_calls] == ["get_weather"], result
        return result

    return call


def _stream(client: WorkersAI, model: str) -> Any:
    return list(client.stream_chat([SYSTEM, QUESTION], model=model, max_tokens=32))


def _tool_turn(client: WorkersAI, model: str) -> Any:
    call = {"id": "call_1", "name": "get_weather", "arguments": {"city": "Paris"}}
    messages = [
        ASKS_WEATHER,
        {"role": "assistant", "content": "", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "call_1", "name": "get_weather", "content": "sunny, 21 C"},
    ]
    return client.chat(messages, model=model, max_tokens=32, tools=[WEATHER])


def _vision(client: WorkersAI, model: str) -> Any:
    content = [
        {"type": "text", "text": "What colour is this?"},
        {"type": "image_url", "image_url": {"url": RED_URL}},
    ]
    return client.chat([{"role": "user", "content": content}], model=model, max_tokens=32)


def _raw(inputs: dict[str, Any]) -> Call:
    return lambda client, model: client.run(model, inputs)


@dataclass(frozen=True)
class Form:
    """One input form a model takes, as a client call. gpt-oss takes ``XOR<ResponsesInput,
    ChatCompletionsInput>`` and answers ``XOR<ResponsesOutput, ChatCompletionsOutput>`` (issue #26: chat
    ``messages`` in, a chat completion out): ``answer_branch`` is the branch its answer must match."""

    call: Call
    applies: Callable[[ModelInfo], bool]
    answer_branch: int | None = None
    typed_exchanges: int | None = None
    """How many of the call's exchanges the types describe (None: all)."""
    typed_answers: bool = True


def _without_references(body: dict[str, Any]) -> dict[str, Any]:
    """A Batch API submission without the ``external_reference`` of its requests: the REST page
    (developers.cloudflare.com/workers-ai/features/batch-api/rest-api/) documents it ("a unique ID
    per-prompt that will be returned in the response"); the types' request items do not declare it."""
    return {
        **body,
        "requests": [{k: v for k, v in r.items() if k != "external_reference"} for r in body["requests"]],
    }


def _typed_input_accepts(generated: dict[str, Any], model: str, instance: dict[str, Any]) -> bool:
    entry = generated["models"].get(model)
    return entry is not None and not problems(generated, entry["input"], instance)


GPT_OSS = {"@cf/openai/gpt-oss-120b", "@cf/openai/gpt-oss-20b"}
FORMS: dict[str, Form] = {
    "embed": Form(lambda c, m: c.embed(["first text", "second text"], model=m), lambda i: i.is_embedding),
    "embed with pooling": Form(
        lambda c, m: c.embed(["first text"], model=m, pooling="cls"),
        lambda i: i.is_embedding and i.name.startswith("@cf/baai/bge-") and i.name != "@cf/baai/bge-m3",
    ),
    # The submission only: the polls ({request_id}) are not typed, and the types' AsyncResponse
    # ({request_id}) lacks the status and model the REST page's answer shows.
    "batch": Form(
        lambda c, m: c.embed_batch(["first text", "second text"], model=m, poll_interval=0.05),
        lambda i: i.is_embedding and i.batch,
        typed_exchanges=1,
        typed_answers=False,
    ),
    "rerank": Form(
        lambda c, m: c.rerank(
            "capital of France", ["Paris is in France.", "Berlin is in Germany."], model=m, top_k=2
        ),
        lambda i: i.is_reranker or i.scores_contexts,
    ),
    "messages": Form(_chat(), lambda i: i.is_generation, answer_branch=0),
    "stream": Form(_stream, lambda i: i.is_generation),
    "prompt": Form(
        _raw({"prompt": "What is the capital of France?", "max_tokens": 32}), lambda i: i.is_generation
    ),
    "tools (OpenAI shape)": Form(
        _tool_call(tools=[{"type": "function", "function": WEATHER}]),
        lambda i: i.is_generation and i.function_calling,
    ),
    "tools (legacy shape)": Form(
        _tool_call(tools=[WEATHER]), lambda i: i.is_generation and i.function_calling
    ),
    "tool result": Form(_tool_turn, lambda i: i.is_generation and i.function_calling),
    "json_schema": Form(_chat(response_format=CITY), lambda i: i.is_generation),
    "reasoning effort": Form(_chat(reasoning_effort="high"), lambda i: i.is_generation and i.reasoning),
    "image": Form(_vision, lambda i: i.is_generation and i.vision),
    "chat messages raw": Form(
        _raw({"messages": [SYSTEM, QUESTION], "max_tokens": 32}), lambda i: i.name in GPT_OSS, answer_branch=1
    ),
}
"""The forms; which of them a model takes is decided from the catalog (``prompt`` also from the types:
only where they accept a prompt)."""


KNOWN_REQUEST_GAPS: dict[tuple[str, str], str] = {}
"""Requests the client sends that the types refuse, kept as they are for the reason given (each case is
``xfail(strict=True)``: it fails the day the request fits, to be removed from here)."""

KNOWN_ANSWER_GAPS: dict[tuple[str, str], str] = {}
"""Answers of the emulator that the types refuse, kept for the reason given. Their requests are still
checked; the answer must still break the type (else the case fails, to be removed from here), and the
case is then reported as xfailed."""


def cases() -> Iterator[Any]:
    for name, info in models().items():
        for form_name, form in FORMS.items():
            if not form.applies(info):
                continue
            marks: list[pytest.MarkDecorator] = []
            if name in UNTYPED:
                marks.append(pytest.mark.skip(reason=f"{name}: {UNTYPED[name]}"))
            elif (name, form_name) in KNOWN_REQUEST_GAPS:
                marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_REQUEST_GAPS[name, form_name]))
            yield pytest.param(name, form_name, id=f"{name}-{form_name}", marks=marks)


@pytest.mark.parametrize(("model", "form_name"), list(cases()))
def test_request_and_answer_match_the_types(
    recorded: tuple[WorkersAI, list[Exchange]], oracle: dict[str, Any], model: str, form_name: str
) -> None:
    generated = oracle
    client, seen = recorded
    form = FORMS[form_name]
    entry = generated["models"][model]
    if form_name == "prompt" and not _typed_input_accepts(generated, model, {"prompt": "x"}):
        pytest.skip(f"the types of {model} take no prompt")
    form.call(client, model)
    assert seen, "no request was sent"
    for exchange in seen[: form.typed_exchanges]:
        assert exchange.response.status_code == 200, exchange.response.text
        body = _without_references(exchange.body) if form_name == "batch" else exchange.body
        wrong = problems(generated, entry["input"], body)
        assert not wrong, f"the client's request breaks {model}'s input type:\n" + "\n".join(wrong)
        if exchange.streamed or not form.typed_answers:  # the types declare no stream frames
            continue
        answer = exchange.response.json()["result"]
        if form_name == "json_schema" and isinstance(answer.get("response"), (dict, list)):
            # JSON Mode answers ``response`` as the object (developers.cloudflare.com/workers-ai/json-mode/
            # shows {"response": {"name": "India", ...}}); the legacy types say string: checked as its text.
            answer = {**answer, "response": json.dumps(answer["response"])}
        output = _top(generated, entry["output"])
        if form.answer_branch is not None and model in GPT_OSS:
            output = output["anyOf"][form.answer_branch]
        wrong = problems(generated, output, answer)
        known = KNOWN_ANSWER_GAPS.get((model, form_name))
        if known is not None:
            assert wrong, (
                f"{model} {form_name}: the answer now fits its type; remove it from KNOWN_ANSWER_GAPS"
            )
            pytest.xfail(known)
        assert not wrong, f"the emulator's answer breaks {model}'s output type:\n" + "\n".join(wrong)


def test_untyped_models_are_reported_not_skipped_silently() -> None:
    """Every catalog model is either checked or named in :data:`UNTYPED` (with a reason)."""
    checked = {p.values[0] for p in cases() if not p.marks or p.marks[0].name != "skip"}
    assert checked | set(UNTYPED) == set(models())
    assert all(reason for reason in UNTYPED.values())


def test_pooling_form_applies_where_the_types_take_pooling(generated: dict[str, Any]) -> None:
    """The pooling form, chosen by name above, is applied exactly where the types take ``pooling``."""
    for name, info in models().items():
        if not info.is_embedding or name in UNTYPED:
            continue
        takes = _typed_input_accepts(generated, name, {"text": ["x"], "pooling": "cls"})
        assert takes == FORMS["embed with pooling"].applies(info), name


def _messages_branch(generated: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any] | None:
    """The object shape of an input schema that takes ``messages`` (its ``anyOf`` branches searched)."""
    schema = _resolved(generated, schema)
    if "messages" in schema.get("properties", {}):
        return schema
    for branch in schema.get("anyOf", []):
        found = _messages_branch(generated, branch)
        if found is not None:
            return found
    return None


def _resolved(generated: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema.get("$ref"), str):
        schema = generated["definitions"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def test_the_catalogs_model_inputs_are_the_types(generated: dict[str, Any]) -> None:
    """``reasoning_efforts``, ``json_mode`` and ``message_fields`` of the catalog (which the client shapes
    its requests by) are what the pinned package says of each typed text-generation model."""
    for name, info in models().items():
        if not info.is_generation or name in UNTYPED:
            continue
        branch = _messages_branch(generated, generated["models"][name]["input"])
        assert branch is not None, name
        props = branch["properties"]
        effort = _resolved(generated, props.get("reasoning_effort", {})).get("enum", [])
        assert set(info.reasoning_efforts or ()) == {e for e in effort if e is not None}, name
        assert info.json_mode == ("response_format" in props), name
        item = _resolved(generated, props["messages"]["items"])
        own = set(item["properties"]) if "properties" in item else None
        assert (set(info.message_fields) if info.message_fields is not None else None) == own, name
