"""``python -m workersai.local``: the same as ``workersai-local``."""

from .cli import main

main()
