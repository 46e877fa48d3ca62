"""The emulator's embedding answers, over real HTTP, take the raw path's fast cut (they are what the
service sends: compact float32 numbers), and the rows cut equal the parsed vectors in float32."""

from __future__ import annotations

import numpy as np

from workersai import WorkersAI
from workersai.raw_vectors import rows_from_body

MODEL = "@cf/baai/bge-small-en-v1.5"


def test_real_answers_are_cut_without_parsing_and_equal_the_parsed_vectors(client: WorkersAI) -> None:
    texts = [f"document {i} about clouds and llamas" for i in range(40)]
    response = client.transport.request("POST", client.run_url(MODEL), json={"text": texts})
    cut = rows_from_body(response.content, len(texts))  # raises ValueError if it would parse whole
    assert {len(r) for r in cut} == {384}
    parsed = client.embed(texts, model=MODEL)
    for row, vector in zip(cut, parsed, strict=True):
        assert np.array_equal(np.array(row.values(), np.float32), np.array(vector, np.float32))
    assert [r.json for r in client.embed_raw(texts, model=MODEL)] == [r.json for r in cut]
