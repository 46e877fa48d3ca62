"""The local emulator of Workers AI and Vectorize (``workersai-local``). Needs the ``local`` extra.

The names below are imported on first use, so ``workersai-local`` (and ``python -m workersai.local``)
can tell a user without the ``local`` extra which extra to install instead of failing on an import.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_names

if TYPE_CHECKING:
    from .app import EmulatorConfig, create_app
    from .faults import FaultPlan
    from .scripts import tool_call
    from .server import LOCAL_ACCOUNT_ID, LocalEmulator

__all__ = ["LOCAL_ACCOUNT_ID", "EmulatorConfig", "FaultPlan", "LocalEmulator", "create_app", "tool_call"]

_HOMES = {
    "EmulatorConfig": "app",
    "create_app": "app",
    "FaultPlan": "faults",
    "LOCAL_ACCOUNT_ID": "server",
    "LocalEmulator": "server",
    "tool_call": "scripts",
}


__getattr__, __dir__ = lazy_names(__name__, _HOMES)
