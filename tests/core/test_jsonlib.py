"""The JSON fallback used where orjson is not installed (Pyodide) writes what orjson writes."""

from __future__ import annotations

import numpy as np
import pytest

from workersai import jsonlib
from workersai.vectorize.checks import compact

SAMPLES = [
    {"ids": ["a", "b"]},
    {"id": "é✓", "values": [0.1, -2.5, 3.0, 0.001], "metadata": {"n": 1, "ok": True, "none": None}},
    [1, 2.0, "x\ny", {"nested": [{"k": "v"}]}],
]


@pytest.mark.parametrize("value", SAMPLES)
def test_fallback_writes_the_same_bytes_as_orjson(value: object, monkeypatch: pytest.MonkeyPatch) -> None:
    fast = jsonlib.dumps(value)
    monkeypatch.setattr(jsonlib, "HAVE_ORJSON", False)
    assert jsonlib.dumps(value) == fast
    assert jsonlib.loads(fast) == value
    assert jsonlib.loads(fast.decode()) == value


def test_fallback_serializes_numpy_like_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    value = {"values": np.array([0.5, 0.25], dtype=np.float32)}
    fast = compact(value)
    monkeypatch.setattr(jsonlib, "HAVE_ORJSON", False)
    assert compact(value) == fast == b'{"values":[0.5,0.25]}'


def test_fallback_writes_raw_vectors_and_ndjson_lines_like_orjson(monkeypatch: pytest.MonkeyPatch) -> None:
    from workersai.raw_vectors import RawVector
    from workersai.vectorize.batching import ndjson_line

    value = {"id": "a", "values": RawVector(b"[0.5,-1.25,3e-05]", 3)}
    fast = b"".join(ndjson_line(value))
    monkeypatch.setattr(jsonlib, "HAVE_ORJSON", False)
    assert b"".join(ndjson_line(value)) == fast == b'{"id":"a","values":[0.5,-1.25,3e-05]}\n'
    assert compact({"id": "a"}, line=True) == b'{"id":"a"}\n'


def test_fallback_refuses_what_json_cannot_carry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(jsonlib, "HAVE_ORJSON", False)
    with pytest.raises(ValueError):
        compact({"text": "\ud800"})
    with pytest.raises(ValueError):
        compact({"when": object()})
    with pytest.raises(ValueError):
        jsonlib.loads(b"not json")


def test_orjson_is_required_on_cpython_and_left_out_under_pyodide() -> None:
    """pip on CPython installs orjson; pip for Pyodide (pywrangler, build_site.py) does not look for it."""
    from pathlib import Path

    from packaging.requirements import Requirement

    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    deps = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())["project"][
        "dependencies"
    ]
    (orjson,) = [Requirement(d) for d in deps if d.startswith("orjson")]
    assert orjson.marker is not None
    assert orjson.marker.evaluate({"sys_platform": "linux"}) is True
    assert orjson.marker.evaluate({"sys_platform": "emscripten"}) is False
