"""Build the site folder Pyodide loads in tests/pyodide: the pinned packages of requirements.txt as
PyPI's wheels for Pyodide 314 (pyemscripten_2026_0_wasm32, Python 3.14) or pure-Python wheels.

    python tests/pyodide/build_site.py [SITE_DIR]

Standard library only, plus the running Python's pip. Idempotent: a stamp in SITE_DIR records the
requirements it was built from; an unchanged list is not installed again.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
REQUIREMENTS = HERE / "requirements.txt"
PLATFORM = "pyemscripten_2026_0_wasm32"
PYTHON_VERSION = "3.14"

PURE_FROM_PLATFORM_WHEELS = {"pyyaml==6.0.4": ("yaml/", "_yaml/")}
"""Packages with no Pyodide wheel whose Python modules run without their C extension (PyYAML falls back
to its pure-Python loader when ``yaml._yaml`` cannot be imported): their ``.py`` files are taken from the
manylinux wheel, the compiled extension left out."""


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True)


def _stamp_text() -> str:
    data = REQUIREMENTS.read_bytes() + repr(sorted(PURE_FROM_PLATFORM_WHEELS.items())).encode()
    return hashlib.sha256(data + Path(__file__).read_bytes()).hexdigest()


def build(site: Path) -> None:
    stamp = site / ".built"
    if stamp.exists() and stamp.read_text() == _stamp_text():
        stamp.touch()  # up to date: newer than the pins, for make
        return
    if site.exists():
        shutil.rmtree(site)
    target = [
        "--target",
        str(site),
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        "--python-version",
        PYTHON_VERSION,
    ]
    _pip(
        "install",
        *target,
        "--platform",
        PLATFORM,
        "--platform",
        "any",
        "--implementation",
        "cp",
        "-r",
        str(REQUIREMENTS),
    )
    with tempfile.TemporaryDirectory() as tmp:
        for spec, prefixes in PURE_FROM_PLATFORM_WHEELS.items():
            _pip(
                "download",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                PYTHON_VERSION,
                "--platform",
                "manylinux_2_17_x86_64",
                "--implementation",
                "cp",
                "-d",
                tmp,
                spec,
            )
            wheel = next(Path(tmp).glob(f"{spec.split('==')[0].lower()}-*.whl"))
            with zipfile.ZipFile(wheel) as zf:
                for name in zf.namelist():
                    if name.startswith(prefixes) and name.endswith(".py"):
                        zf.extract(name, site)
    stamp.write_text(_stamp_text())


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / ".site")
