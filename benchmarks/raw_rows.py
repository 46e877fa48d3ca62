"""Client CPU of the raw embedding rows' fast cut (``workersai.raw_vectors.rows_from_body``), alone.

    PYTHONPATH=. python benchmarks/raw_rows.py [DOCS] [DIMENSIONS] [REPEATS]

Answers as the emulator writes them (orjson's float32 numbers, compact: ``workersai.local``'s
``responses``), 100 texts each, unit vectors of ``DIMENSIONS`` (768, bge-base); the figure is the
process CPU time (``time.process_time``: the machine may be shared) to cut ``DOCS`` documents' worth
of answers, the best of ``REPEATS`` runs, printed as JSON.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
import orjson

from workersai.raw_vectors import rows_from_body

BATCH = 100


def bodies(docs: int, dims: int) -> list[bytes]:
    rng = np.random.default_rng(0)
    out = []
    for _ in range(max(1, docs // BATCH)):
        vectors = rng.standard_normal((BATCH, dims)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        vectors[0, :4] = [1e-7, -2.5e-9, 1.0, 0.0]  # some exponents and integers, as the service writes
        result = {"shape": [BATCH, dims], "data": vectors, "pooling": "mean"}
        envelope = {"result": result, "success": True, "errors": [], "messages": []}
        out.append(orjson.dumps(envelope, option=orjson.OPT_SERIALIZE_NUMPY))
    return out


def main() -> None:
    docs, dims, repeats = (int(a) for a in (sys.argv[1:] + ["10000", "768", "5"][len(sys.argv) - 1 :]))
    answers = bodies(docs, dims)
    for body in answers:
        assert len(rows_from_body(body, BATCH)) == BATCH  # the fast cut takes them (no fallback)
    runs = []
    for _ in range(repeats):
        cpu = time.process_time()
        for body in answers:
            rows_from_body(body, BATCH)
        runs.append(time.process_time() - cpu)
    size = sum(map(len, answers)) / len(answers)
    report = {"docs": docs, "dims": dims, "body_kb": round(size / 1000), "cpu_s": [round(r, 4) for r in runs]}
    print(json.dumps({**report, "best_cpu_s": round(min(runs), 4)}))


if __name__ == "__main__":
    main()
