"""Extract candidates from a document with Clairic, then decide about each with Clef: typed values and
probabilities in, no text generated, and the neurons it cost.

Usage: ``python examples/decide_and_extract.py``. Against Cloudflare, ``@cf/cloudflare/clairic`` and
``@cf/cloudflare/clef-flash`` answer; the local emulator answers with its small language model
(SmolLM2-135M: values decoded under each field type's grammar, each option's probability from its
log-probabilities), which shows the shapes, not Clef's judgement.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from _runtime import cloudflare_env

from workersai import WorkersAI, track_usage

DOCUMENT = (
    "Applicants for the night-shift forklift role: Maria Lopez, six years in warehouse logistics, "
    "forklift licence. Tom Becker, one year in retail, no licence. Interviews start on 2026-12-14."
)
FIELDS = {
    "candidates": {"type": "list", "items": "text", "instructions": "Full names of the applicants"},
    "interviews": {"type": "date", "instructions": "The day interviews start"},
}


def questions(name: str) -> dict[str, dict[str, object]]:
    return {
        "licensed": {"type": "noul", "instructions": f"Does {name} hold a forklift licence?"},
        "fit": {
            "type": "score",
            "instructions": f"How well does {name} fit a night-shift forklift role?",
            "criteria": ["poor", "fair", "good"],
        },
    }


def main() -> None:
    with cloudflare_env(), WorkersAI() as client, track_usage() as usage:
        extraction = client.extract(DOCUMENT, FIELDS)
        names = [str(n) for n in extraction["candidates"].value or []]
        print(f"extracted: candidates={names} interviews={extraction['interviews'].value!r}")
        print(f"  (confidence {extraction['interviews'].confidence}, span {extraction['interviews'].span})")
        if not names:  # a small local model may find none: decide about the document as a whole
            names = ["the first applicant"]
        spent = 0.0
        for name in names[:2]:
            decision = client.decide(DOCUMENT, questions(name))
            licensed, fit = decision["licensed"], decision["fit"]
            print(
                f"decision about {name}: licensed={licensed.value} (p={licensed.noul:.2f}), "
                f"fit={fit.score:.2f} of 0-2 {fit.probabilities}, {decision.neurons:.4f} neurons"
            )
            spent += decision.neurons or 0.0
        print(f"neurons spent on Clef: {spent:.4f}; on Clairic: {extraction.neurons} (no published price)")
        print(f"usage: {usage.summary()}")


if __name__ == "__main__":
    main()
