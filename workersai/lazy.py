"""Package names imported on first use (PEP 562), for the packages whose ``__init__`` should stay cheap.

``__getattr__, __dir__ = lazy_names(__name__, {"Name": "submodule", ...})`` in a package's ``__init__``:
``package.Name`` imports ``package.submodule`` the first time it is asked for and keeps the value in the
package's namespace, so later lookups are ordinary attribute reads. Standard library only.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_names(
    package: str, homes: Mapping[str, str]
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The module-level ``__getattr__`` and ``__dir__`` of ``package``, whose names live in the
    submodules ``homes`` gives."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(f".{home}", package), name)
        setattr(sys.modules[package], name, value)
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(sys.modules[package]), *homes})

    return __getattr__, __dir__


def require_extra(package: str, module: str, extra: str, what: str) -> None:
    """Raise :class:`ImportError` naming the extra to install when ``module`` (the framework ``package``
    integrates with) is missing: called first in the adapter packages' ``__init__``, so importing one
    without its extra says what to do rather than failing later on a name."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a parent package missing, or set to None in sys.modules
        found = False
    if not found:
        raise ImportError(
            f'{package} needs {what}, which its extra installs: pip install "workersai[{extra}]"',
            name=module,
        )
