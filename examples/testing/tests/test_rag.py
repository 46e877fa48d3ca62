"""The LangChain RAG chain: a scripted answer, and the retrieved context asserted in the recorded
request the chat model sent."""

from __future__ import annotations

from app.rag import MODEL, load, rag_chain

QUESTION = "How do Vectorize writes become visible?"


def test_the_prompt_holds_the_retrieved_passages(workersai_emulator, index_name, passages):
    store = load(passages, index_name)
    workersai_emulator.script(MODEL, text="Once applied: poll the mutation id.")
    assert rag_chain(store).invoke(QUESTION) == "Once applied: poll the mutation id."

    [chat] = workersai_emulator.requests(model=MODEL)
    system, human = chat["body"]["messages"]
    assert "mutation id" in system["content"] and human["content"] == QUESTION
    [query] = workersai_emulator.requests(path="*/query")
    assert query["body"]["topK"] == 2
