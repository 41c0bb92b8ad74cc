"""The data files the operators ship with: URL word lists, stop words, blocklists, quality thresholds and the
language-pair disambiguator (their READMEs say where each comes from).

:func:`resource_path` is the one way code finds them, in a checkout and in an installed wheel alike (they are
package data of ``operators``). Every file can be replaced through the config key that names it.
"""

from __future__ import annotations

from importlib.resources import files


def resource_path(*parts: str) -> str:
    """Absolute path of a shipped file, e.g. ``resource_path("quality", "thresholds.yaml")``."""
    return str(files(__name__).joinpath(*parts))


__all__ = ["resource_path"]
