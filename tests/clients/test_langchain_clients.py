"""``langchain-openai`` and ``langchain-cloudflare`` (0.4.3), unmodified, against the emulator: chat,
stream, tools, structured output, embeddings, Vectorize and AI Search, as their docs show them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from workersai.local import LocalEmulator

from .conftest import need

CONTEXT = "The capital of France is Paris. Bananas are yellow."
QUESTION = "What is the capital of France?"
LLAMA = "@cf/meta/llama-3.1-8b-instruct-fast"
GPT_OSS = "@cf/openai/gpt-oss-120b"
QWEN = "@cf/qwen/qwen3-30b-a3b-fp8"
R1 = "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b"


class Person(BaseModel):
    """A person."""

    name: str
    age: int


def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"sunny in {city}"


def messages() -> list[Any]:
    from langchain_core.messages import HumanMessage, SystemMessage

    return [SystemMessage(CONTEXT), HumanMessage(QUESTION)]


# -- langchain-openai -----------------------------------------------------------------------------------
@pytest.fixture
def openai_chat(emulator: LocalEmulator) -> Any:
    lc_openai = need("langchain_openai")

    def make(model: str = LLAMA, **options: Any) -> Any:
        return lc_openai.ChatOpenAI(
            model=model,
            base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1",
            api_key=emulator.token,
            max_retries=0,
            **options,
        )

    return make


def test_langchain_openai_chat_and_stream(openai_chat: Any) -> None:
    llm = openai_chat(max_tokens=40)
    answer = llm.invoke(messages())
    assert "Paris" in answer.content and answer.usage_metadata["output_tokens"] <= 40
    assert "".join(str(c.content) for c in llm.stream(messages())) == answer.content


def test_langchain_openai_tools(openai_chat: Any) -> None:
    answer = openai_chat(QWEN).bind_tools([get_weather]).invoke("Use the tool: weather in 'Lyon'")
    assert answer.tool_calls[0]["name"] == "get_weather" and answer.tool_calls[0]["args"] == {"city": "Lyon"}


@pytest.mark.parametrize("method", ["json_schema", "function_calling", "json_mode"])
def test_langchain_openai_structured_output(openai_chat: Any, method: str) -> None:
    prompt = "Anna is 31."
    if method == "json_mode":  # langchain-openai's docs: the schema must be in the prompt for json_mode
        prompt = f"Reply in JSON matching {json.dumps(Person.model_json_schema())}. {prompt}"
    person = openai_chat().with_structured_output(Person, method=method).invoke(prompt)
    assert isinstance(person, Person) and person.age == 31


def test_langchain_openai_responses_api(openai_chat: Any) -> None:
    answer = openai_chat(GPT_OSS, use_responses_api=True).invoke(messages())
    assert "Paris" in answer.text


def test_langchain_openai_embeddings(emulator: LocalEmulator) -> None:
    lc_openai = need("langchain_openai")
    embeddings = lc_openai.OpenAIEmbeddings(
        model="@cf/baai/bge-small-en-v1.5",
        base_url=f"{emulator.base_url}/accounts/{emulator.account_id}/ai/v1",
        api_key=emulator.token,
        check_embedding_ctx_length=False,  # else it tokenizes with tiktoken's OpenAI vocabulary (a download)
        max_retries=0,
    )
    vectors = embeddings.embed_documents(["one", "two"])
    assert [len(v) for v in vectors] == [384, 384] and len(embeddings.embed_query("three")) == 384


# -- langchain-cloudflare -------------------------------------------------------------------------------
@pytest.fixture
def cf_chat(emulator: LocalEmulator) -> Any:
    lc_cf = need("langchain_cloudflare")

    def make(model: str = LLAMA, **options: Any) -> Any:
        return lc_cf.ChatCloudflareWorkersAI(
            model=model,
            account_id=emulator.account_id,
            api_token=emulator.token,
            base_url=emulator.base_url,
            **options,
        )

    return make


@pytest.mark.parametrize("model", [LLAMA, QWEN, GPT_OSS])
def test_langchain_cloudflare_chat_and_stream(cf_chat: Any, model: str) -> None:
    llm = cf_chat(model, max_tokens=60)
    answer = llm.invoke(messages())
    assert "Paris" in answer.text
    streamed = "".join(c.text for c in llm.stream(messages()))
    assert "Paris" in streamed


@pytest.mark.parametrize("model", [LLAMA, QWEN, GPT_OSS])
def test_langchain_cloudflare_tools(cf_chat: Any, model: str) -> None:
    answer = cf_chat(model).bind_tools([get_weather]).invoke("Use the tool: weather in 'Lyon'")
    assert answer.tool_calls and answer.tool_calls[0]["name"] == "get_weather"
    assert answer.tool_calls[0]["args"] == {"city": "Lyon"}


@pytest.mark.parametrize("model", [LLAMA, QWEN, GPT_OSS])
def test_langchain_cloudflare_structured_output(cf_chat: Any, model: str) -> None:
    person = cf_chat(model).with_structured_output(Person).invoke("Anna is 31.")
    assert isinstance(person, Person) and person.age == 31


@pytest.mark.parametrize("method", ["json_mode", "json_schema"])
def test_langchain_cloudflare_structured_output_methods(cf_chat: Any, method: str) -> None:
    prompt = "Anna is 31."
    if method == "json_mode":  # its docstring: json_mode sends json_object "without" the schema
        prompt = f"Reply in JSON matching {json.dumps(Person.model_json_schema())}. {prompt}"
    person = cf_chat(LLAMA).with_structured_output(Person, method=method).invoke(prompt)
    assert isinstance(person, Person) and person.age == 31


def test_langchain_cloudflare_tool_round_trip(cf_chat: Any) -> None:
    from langchain_core.messages import HumanMessage, ToolMessage

    llm = cf_chat(QWEN).bind_tools([get_weather])
    question = HumanMessage("Use the tool: weather in 'Lyon'")
    call = llm.invoke([question])
    result = ToolMessage(get_weather(**call.tool_calls[0]["args"]), tool_call_id=call.tool_calls[0]["id"])
    answer = cf_chat(QWEN).invoke([question, call, result])
    assert "sunny in Lyon" in answer.text


@pytest.mark.parametrize(
    "endpoint",
    [
        "openai_compatible",
        pytest.param(
            "workers_ai",
            marks=pytest.mark.xfail(
                strict=True,
                reason="langchain-cloudflare 0.4.3 takes reasoning only from reasoning_content / reasoning "
                "(chat_models.py, 'Extract reasoning from the response'); DeepSeek-R1-distill writes it as "
                "<think>...</think> in its text (the model's output format, deepseek-ai/DeepSeek-R1 README "
                "'Usage Recommendations'), which /ai/run returns as `response`: it stays in the text",
            ),
        ),
    ],
)
def test_langchain_cloudflare_reasoning_kept_apart(cf_chat: Any, endpoint: str) -> None:
    answer = cf_chat(R1, endpoint_format=endpoint).invoke(messages())
    assert "Paris" in answer.text and "<think>" not in answer.text


async def test_langchain_cloudflare_async(cf_chat: Any) -> None:
    llm = cf_chat(GPT_OSS, max_tokens=60)
    answer = await llm.ainvoke(messages())
    assert "Paris" in answer.text
    assert "Paris" in "".join([c.text async for c in llm.astream(messages())])


def test_langchain_cloudflare_embeddings(emulator: LocalEmulator) -> None:
    lc_cf = need("langchain_cloudflare")
    embeddings = lc_cf.CloudflareWorkersAIEmbeddings(
        account_id=emulator.account_id,
        api_token=emulator.token,
        model_name="@cf/baai/bge-small-en-v1.5",
        api_base_url=f"{emulator.base_url}/accounts",
    )
    assert [len(v) for v in embeddings.embed_documents(["one", "two"])] == [384, 384]
    assert len(embeddings.embed_query("three")) == 384


@pytest.fixture
def cf_vectorstore(emulator: LocalEmulator) -> Iterator[Any]:
    lc_cf = need("langchain_cloudflare")
    embeddings = lc_cf.CloudflareWorkersAIEmbeddings(
        account_id=emulator.account_id,
        api_token=emulator.token,
        model_name="@cf/baai/bge-small-en-v1.5",
        api_base_url=f"{emulator.base_url}/accounts",
    )
    name = f"lc-{uuid.uuid4().hex[:8]}"
    store = lc_cf.CloudflareVectorize(
        embedding=embeddings,
        account_id=emulator.account_id,
        api_token=emulator.token,
        base_url=emulator.base_url,
        index_name=name,
    )
    store.create_index(dimensions=384, include_d1=False, wait=True)
    yield store
    store.delete_index(include_d1=False)


def test_langchain_cloudflare_vectorize(cf_vectorstore: Any) -> None:
    texts = ["Paris is the capital of France.", "Bananas are yellow.", "The Loire is a river."]
    cf_vectorstore.add_texts(texts, metadatas=[{"n": i} for i in range(3)], include_d1=False, wait=True)
    found = cf_vectorstore.similarity_search("yellow fruit", k=1, include_d1=False)
    assert found and found[0].metadata.get("n") == 1


def test_langchain_cloudflare_ai_search_retriever(emulator: LocalEmulator) -> None:
    lc_cf = need("langchain_cloudflare")
    name = f"lc-{uuid.uuid4().hex[:8]}"
    with emulator.client() as client:
        client.ai_search.create_instance(name)
        client.ai_search.upload(name, "france.md", CONTEXT)
        try:
            retriever = lc_cf.CloudflareAISearchRetriever(
                account_id=emulator.account_id,
                api_token=emulator.token,
                instance_name=name,
                api_base_url=f"{emulator.base_url}/accounts",
            )
            docs = retriever.invoke("capital of France")
            assert docs and "Paris" in docs[0].page_content
        finally:
            client.ai_search.delete_instance(name)
