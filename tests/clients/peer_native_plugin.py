"""A pytest plugin for langchain-cloudflare 0.4.3's own integration tests, run from its sdist against the
emulator (tests/clients/test_langchain_cloudflare_native.py): its decision and extraction models are
pointed at the emulator (their ``api_base_url`` default; the tests build the models without one), and
the tests whose expectations need Cloudflare's 27B model's judgement are marked xfail with the reason
(:data:`JUDGEMENT`). Nothing in the peer's files is changed."""

from __future__ import annotations

import os
import re
from typing import Any

import pytest
from langchain_cloudflare._native_models import WorkersAINativeModel

_BASE = os.environ["WORKERSAI_PEER_API_BASE"]
_init = WorkersAINativeModel.__init__


def _at_the_emulator(self: WorkersAINativeModel, **kwargs: Any) -> None:
    kwargs.setdefault("api_base_url", _BASE)
    _init(self, **kwargs)


WorkersAINativeModel.__init__ = _at_the_emulator  # type: ignore[method-assign]

_FALLBACK = (
    "the emulator's answer is a MiniLM-similarity or pattern fallback (or a 135M model), not a judgement"
)
JUDGEMENT: dict[str, str] = {
    r"TestDecisionModels::test_a?evaluate\[(text|json)-": (
        "expects Clef to call a checkout outage urgent and technical; " + _FALLBACK
    ),
    r"TestDecisionModels::test_a?evaluate\[press_release_": (
        "expects each company's role and the announcement context read from a press release; " + _FALLBACK
    ),
    r"TestDecisionModels::test_a?evaluate\[(omni_|image_)": (
        "expects what an image shows, a recording says or a video shows: the emulator neither sees nor "
        "hears media (some pass by chance)"
    ),
    r"TestExtractionModels::test_extract\[invoice-": (
        "expects Clairic's arithmetic: due date = issue date + net 30, total = pallets + shipping"
    ),
    r"TestExtractionModels::test_extract\[image_": "expects text read from an image (OCR)",
    r"TestExtractionModels::test_extract\[press_release_(partnership|earnings)-": (
        "expects the announcing and partner companies' full names and tickers; " + _FALLBACK
    ),
    r"test_native_structured\[(sync|async)-(invoice|mixed)\]|test_native_agent\[(invoice|mixed)": (
        "expects Clairic's invoice reading (due date arithmetic, total with shipping, no PO number)"
    ),
    r"test_native_agent_batch\[": "expects Clairic's invoice reading (as the invoice agent case)",
    r"test_native_structured\[(sync|async)-decision\]|test_native_agent\[decision": (
        "expects Clef to call a checkout outage urgent and technical; " + _FALLBACK
    ),
    r"test_native_agent\[image-": "expects text read from an image (OCR)",
    r"test_extract_announcements\[press_release_partnership\]": (
        "expects the whole announcement (type, context sentence, companies, roles, tickers); " + _FALLBACK
    ),
}
"""Test id pattern -> why it needs the service's model (every one failed against the emulator's
extractive fallback on 2026-12-07; none failed on the wire: shapes, usage, spans and probabilities
hold)."""


def _repeats(nodeid: str) -> bool:
    """A decision test that repeats another's wire: each case runs on clef-flash (clef and clef-omni
    take the same body), the audio and video cases on clef-omni only (the others skip them)."""
    if "TestDecisionModels" not in nodeid:
        return False
    omni = "[omni_" in nodeid
    return not nodeid.endswith("clef-omni]" if omni else "clef-flash]")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    dropped = [item for item in items if _repeats(item.nodeid)]
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = [item for item in items if not _repeats(item.nodeid)]
    for item in items:
        for pattern, reason in JUDGEMENT.items():
            if re.search(pattern, item.nodeid):
                item.add_marker(pytest.mark.xfail(reason=reason, strict=False))
                break
