"""The package's version, in one place: the packaging reads it (pyproject's ``[tool.hatch.version]``),
the client sends it in its ``User-Agent``, and ``workersai.__version__`` is it. Kept in a module rather
than read from the installed metadata so a source checkout and a Python Worker's vendored copy (which
have none) say the same."""

__version__ = "0.1.0"
