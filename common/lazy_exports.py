"""Package ``__init__`` files that name their public classes without importing them all at once (PEP 562)."""

from __future__ import annotations

import importlib
from typing import Callable, Dict, List, Tuple


def lazy_exports(package: str, modules: Dict[str, str]) -> Tuple[Callable[[str], object], List[str]]:
    """``(__getattr__, __all__)`` for ``package``: ``modules`` maps each public name to the module that
    defines it, imported on first use, so importing one module of the package loads only that module."""

    def __getattr__(name: str) -> object:
        if name in modules:
            return getattr(importlib.import_module(f"{package}.{modules[name]}"), name)
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    return __getattr__, sorted(modules)
