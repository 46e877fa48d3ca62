"""The LlamaIndex query engine: a scripted answer over the passages it retrieved."""

from __future__ import annotations

from app.query_engine import MODEL, query_engine


def test_the_engine_answers_from_its_sources(workersai_emulator, index_name, passages):
    engine = query_engine(passages, index_name)
    workersai_emulator.script(MODEL, text="Retry with backoff.")
    response = engine.query("What happens when Workers AI is out of capacity?")
    assert str(response) == "Retry with backoff."
    assert any("3040" in n.node.get_content() for n in response.source_nodes)
    [chat] = workersai_emulator.requests(model=MODEL)
    assert "3040" in str(chat["body"]["messages"])  # the retrieved passage reached the prompt
