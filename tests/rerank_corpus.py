"""Made-up facts for the reranking tests: no model could know them, so only the text decides."""

from __future__ import annotations

QUESTION = "What does the Vellmoor lighthouse keeper feed her ravens?"
FACT = "The Vellmoor lighthouse keeper feeds her three ravens smoked herring every dawn."
OTHERS = [
    "Granite quarries near the coast supply stone for harbour walls.",
    "The town council meets on the first Monday of each month.",
    "Train tickets to the capital are cheaper when bought a week ahead.",
    "The bakery on Mill Street sells rye bread until noon.",
    "Snow closed the mountain pass for most of January.",
]
TEXTS = [*OTHERS[:2], FACT, *OTHERS[2:]]
"""The fact in the middle (index 2), so ranking it first is the model's doing, not the order's."""
FACT_INDEX = TEXTS.index(FACT)
