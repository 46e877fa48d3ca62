"""``workersai-local --ai-search NAME=DIR``: an AI Search instance made from a folder at start-up.

Only what is inside ``DIR`` is read: the walk does not follow directory links, and a file is read
only when its resolved path is inside ``DIR``'s resolved path (a link out of ``DIR`` is skipped).
Files the service would not index are skipped, each with one line saying which and why, and the
start goes on: a file over 4 MB (AI Search's limit per file: the API reference's items upload, and
the limits page's "4 MB per file"; :data:`rules.MAX_FILE_BYTES`), a binary file (a NUL byte) or one
that is not UTF-8 (the plain-text types of developers.cloudflare.com/ai-search/configuration/
data-source/ are text; rich formats go through a Markdown conversion the emulator does not have), or a
path the upload would refuse (a key over 128 characters).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from .ai_search_routes import DEFAULT_NAMESPACE, ai_search_store
from .emulator import Emulator
from .rules import ai_search as rules

SUFFIXES = frozenset({".md", ".markdown", ".txt"})
"""The files of ``DIR`` that are indexed (others are left alone, without a word)."""


@dataclass
class Indexed:
    """What ``--ai-search`` did: the instance, how many files it indexed, and each file it skipped
    (its path relative to ``DIR``, and why)."""

    name: str
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)


def _candidates(root: Path) -> list[Path]:
    """The files under ``root`` with an indexed suffix, not following directory links."""
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        found += [Path(folder) / f for f in files if Path(f).suffix.lower() in SUFFIXES]
    return sorted(found)


def _read(path: Path, real_root: Path) -> bytes | str:
    """The file's bytes, or why it is skipped."""
    try:
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError):  # a dangling link, a link loop
        return "a link to nothing"
    if not resolved.is_relative_to(real_root):
        return "a link out of the folder"
    try:
        with open(resolved, "rb") as f:
            data = f.read(rules.MAX_FILE_BYTES + 1)
    except OSError as exc:
        return f"cannot be read ({exc.strerror or exc})"
    if len(data) > rules.MAX_FILE_BYTES:
        return "larger than 4 MB"
    return data


def index_folder(emu: Emulator, spec: str) -> Indexed:
    """Create the instance ``NAME`` (default namespace of the account the emulator prints,
    ``LOCAL_ACCOUNT_ID``) and index the .md / .txt files under ``DIR`` (``spec`` is ``NAME=DIR``; keys are
    the files' paths relative to ``DIR``). A bad spec is ValueError; a bad file is skipped."""
    from .server import LOCAL_ACCOUNT_ID

    name, sep, folder = spec.partition("=")
    if not sep or not folder:
        raise ValueError(f"--ai-search takes NAME=DIR, got {spec!r}")
    try:
        name = rules.instance_id(name)
    except rules.Rejected as exc:
        raise ValueError(f"--ai-search {spec}: {exc.message}") from None
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise ValueError(f"--ai-search {spec}: {root} is not a directory")
    real_root = root.resolve()
    store = ai_search_store(emu)
    try:
        store.create(LOCAL_ACCOUNT_ID, DEFAULT_NAMESPACE, name, rules.settings({}))
    except rules.Rejected as exc:
        if exc.status != 409:
            raise ValueError(f"--ai-search {spec}: {exc.message}") from None
    done = Indexed(name)
    for path in _candidates(root):
        key = path.relative_to(root).as_posix()
        data = _read(path, real_root)
        if isinstance(data, str):
            done.skipped.append((key, data))
            continue
        if b"\x00" in data:
            done.skipped.append((key, "binary (it holds NUL bytes)"))
            continue
        try:
            text = rules.upload_file(key, data)
            store.upload(LOCAL_ACCOUNT_ID, DEFAULT_NAMESPACE, name, key, text, len(data), {})
        except rules.Rejected as exc:
            reason = "not UTF-8 text" if "UTF-8" in exc.message else exc.message
            done.skipped.append((key, reason))
            continue
        done.files += 1
    return done
