"""Quick start: embed a few texts, rank them against a question, and stream a chat answer.

Runs against the local emulator unless CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN are set.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import workers_ai_client

from workersai import track_usage

DOCS = [
    "Workers AI runs machine learning models on Cloudflare's global network of GPUs.",
    "Vectorize is Cloudflare's vector database for storing and querying embeddings.",
    "AI Gateway caches, rate limits and logs requests to AI providers.",
    "Bananas are rich in potassium and grow in tropical climates.",
]
QUESTION = "Where can I store embeddings on Cloudflare?"


def main() -> None:
    with workers_ai_client() as client, track_usage() as usage:
        vectors = client.embed([QUESTION, *DOCS])
        question, docs = vectors[0], vectors[1:]
        scores = [sum(q * d for q, d in zip(question, doc, strict=True)) for doc in docs]
        print(f"\nembedded {len(vectors)} texts, {len(vectors[0])} dimensions each")
        for score, doc in sorted(zip(scores, DOCS, strict=True), reverse=True):
            print(f"  {score:.3f}  {doc}")

        ranked = [doc for _, doc in sorted(zip(scores, DOCS, strict=True), reverse=True)]
        best = ranked[0]
        print(f"\nQ: {QUESTION}", flush=True)
        context = " ".join(ranked[:2])  # retrieval-augmented: the two closest texts as context
        messages = [
            {
                "role": "user",
                "content": f"Context: {context}\n\nQuestion: {QUESTION}\nAnswer in one sentence.",
            }
        ]
        # temperature=0: the same answer on every run. "A: " comes with the first piece, after any line
        # the emulator logs while it loads its language model on first use.
        for n, chunk in enumerate(client.stream_chat(messages, max_tokens=40, temperature=0)):
            print(("A: " if n == 0 else "") + chunk.text, end="", flush=True)
            if chunk.usage:
                used = chunk.usage
                print(f"\n\n[{used.prompt_tokens} prompt + {used.completion_tokens} completion tokens]")
        assert best.startswith("Vectorize"), f"retrieval picked {best!r}"
    print("usage:", usage.summary())


if __name__ == "__main__":
    main()
