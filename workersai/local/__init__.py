"""The local emulator of Workers AI and Vectorize (``workersai-local``). Needs the ``local`` extra."""

from .app import EmulatorConfig, create_app
from .faults import FaultPlan
from .server import LOCAL_ACCOUNT_ID, LocalEmulator

__all__ = ["LOCAL_ACCOUNT_ID", "EmulatorConfig", "FaultPlan", "LocalEmulator", "create_app"]
