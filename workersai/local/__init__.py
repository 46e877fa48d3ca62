"""The local emulator of Workers AI and Vectorize (``workersai-local``). Needs the ``local`` extra.

The names below are imported on first use, so ``workersai-local`` (and ``python -m workersai.local``)
can tell a user without the ``local`` extra which extra to install instead of failing on an import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import EmulatorConfig, create_app
    from .faults import FaultPlan
    from .server import LOCAL_ACCOUNT_ID, LocalEmulator

__all__ = ["LOCAL_ACCOUNT_ID", "EmulatorConfig", "FaultPlan", "LocalEmulator", "create_app"]

_HOMES = {
    "EmulatorConfig": "app",
    "create_app": "app",
    "FaultPlan": "faults",
    "LOCAL_ACCOUNT_ID": "server",
    "LocalEmulator": "server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{home}", __name__), name)
