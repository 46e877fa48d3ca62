"""The packages' names are imported on first use (``workersai.lazy``): every public name still resolves,
and importing the LangChain classes loads neither httpx nor the modules only a call needs."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest

PACKAGES = ["workersai", "workersai.vectorize", "langchain_workersai", "llamaindex_workersai"]


@pytest.mark.parametrize("package", PACKAGES)
def test_every_public_name_resolves(package: str) -> None:
    module = importlib.import_module(package)
    listed = dir(module)
    for name in module.__all__:
        assert getattr(module, name) is not None, name
        assert name in listed, name
    with pytest.raises(AttributeError, match="no attribute 'not_a_name'"):
        module.not_a_name  # noqa: B018


def test_a_lazy_name_is_the_object_of_its_home_module() -> None:
    import workersai
    import workersai.vectorize
    from workersai.client import WorkersAI
    from workersai.errors import BadInput
    from workersai.vectorize.client import Vectorize

    assert workersai.WorkersAI is WorkersAI
    assert workersai.BadInput is BadInput
    assert workersai.vectorize.Vectorize is Vectorize


# Run in a fresh interpreter: what `import workersai` loads, then what the LangChain classes add to what
# langchain-core's own base classes load (the import-time measure).
_PROBE = """
import json, sys
import workersai, workersai.vectorize
bare = sorted(m for m in ("httpx", "tenacity") if m in sys.modules)
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore
before = set(sys.modules)
from langchain_workersai import ChatWorkersAI, VectorizeVectorStore, WorkersAIEmbeddings
print(json.dumps({"bare": bare, "added": sorted(set(sys.modules) - before)}))
"""

# Needed only once a client is built or called: its HTTP stack, retries, the product modules other than
# chat and embeddings, the Vectorize client and the stores' ingestion helpers.
_ON_USE = {
    "httpx",
    "httpx_sse",
    "tenacity",
    "workersai.ai_search",
    "workersai.batch",
    "workersai.d1",
    "workersai.streaming",
    "workersai.vectorize.client",
    "workersai.vectorize.texts",
    "langchain_workersai.ingestion",
    "langchain_core.tools.base",
}


def test_importing_the_langchain_classes_loads_only_what_they_define() -> None:
    out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True)
    found = json.loads(out.stdout)
    assert found["bare"] == []
    added = set(found["added"])
    assert "langchain_workersai.chat_models" in added  # the probe did import the classes
    assert sorted(added & _ON_USE) == []
