"""Where benchmark reports go: ``bench/results/<name>-<timestamp>.json`` (git-ignored)."""

from __future__ import annotations

import datetime as _dt
import json
from pathlib import Path

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def save_report(name: str, report: dict) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}-{_dt.datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps(report, indent=1))
    print(f"results: {path}")
    return path
