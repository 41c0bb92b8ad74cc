"""Reading a curated output directory back, for comparisons in tests."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Dict, List, Tuple

import pyarrow.parquet as pq


def documents_by_language(out_dir: str) -> Dict[str, List[Tuple[str, str]]]:
    """{lang: sorted [(id, text)]} over every shard of the output."""
    result: Dict[str, List[Tuple[str, str]]] = {}
    for lang_dir in sorted(Path(out_dir).iterdir()):
        if lang_dir.name.startswith("_") or not lang_dir.is_dir():
            continue
        rows = []
        for shard in sorted(lang_dir.glob("*.parquet")):
            table = pq.read_table(shard, columns=["id", "text", "lang"])
            assert set(table.column("lang").to_pylist()) == {lang_dir.name}
            rows.extend(zip(table.column("id").to_pylist(), table.column("text").to_pylist()))
        result[lang_dir.name] = sorted(rows)
    return result


def read_stats(out_dir: str) -> dict:
    with open(os.path.join(out_dir, "stats.json"), encoding="utf-8") as handle:
        return json.load(handle)


def assert_invariant(stats: dict) -> None:
    for op in stats["operators"]:
        assert op["docs_in"] - op["docs_out"] == sum(op["dropped"].values()), op
