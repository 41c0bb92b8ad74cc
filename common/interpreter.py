"""The training commands' first check: the Python running them has what they need. Found without importing
(torch and DeepSpeed take seconds to import), so that ``python launch/sft.py`` with the system Python is one
line naming the interpreter to use instead of an ImportError deep in a traceback. Standard library only."""

from __future__ import annotations

import importlib.util
import sys

HINT = "run `make setup` and use .venv/bin/python (or activate .venv)"


def require_modules(*names: str) -> None:
    """Exit with status 2 and one line on stderr when a module of ``names`` is not installed."""
    missing = [name for name in names if importlib.util.find_spec(name) is None]
    if missing:
        print(f"error: {missing[0]} is not installed in {sys.executable}; {HINT}", file=sys.stderr)
        sys.exit(2)


__all__ = ["HINT", "require_modules"]
