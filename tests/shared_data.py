"""Where the shared real data lives, and skipping cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SHARED_DATA = Path(os.environ.get("MARCO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    """Path under the shared data folder; skips the calling test with a clear message if missing."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"shared data not found: {path} (set MARCO_SHARED_DATA to the shared/data folder)")
    return path


def ntrex_sentences(file_name: str, count: int) -> list:
    """The first ``count`` sentences of an NTREX-128 file (``eng_Latn.txt`` ...)."""
    with open(shared_path("ntrex128", file_name), encoding="utf-8") as handle:
        return [line.strip() for line, _ in zip(handle, range(count))]
