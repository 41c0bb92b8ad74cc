"""Run one function over a list of work items, in this process or as a Ray Data map.

The global dedup stages are all "for every file / partition, do this and write the result to disk":
on Ray each item becomes one task of a ``map_batches`` stage named after the function (so the
dashboard shows ``MapBatches(bucket_edges)`` and so on); in-process it is a loop. Results are small
JSON-able dicts (counts), returned in item order.
"""

from __future__ import annotations

import json
import os
from typing import Callable, List

import pyarrow as pa


def map_items(function: Callable[[dict], dict], items: List[dict], use_ray: bool, name: str,
              num_cpus: float = 1.0) -> List[dict]:
    if not items:
        return []
    if not use_ray:
        return [function(item) for item in items]
    import ray

    def stage(batch: pa.Table) -> pa.Table:
        rows = batch.to_pylist()
        return pa.table({"index": [r["_index"] for r in rows],
                         "result": [json.dumps(function({k: v for k, v in r.items() if k != "_index"})) for r in rows]})

    stage.__name__ = stage.__qualname__ = name
    # Items go through Ray as JSON strings: one column, whatever keys each item has.
    dataset = ray.data.from_items([{"_index": i, **item} for i, item in enumerate(items)],
                                  override_num_blocks=len(items))
    dataset = dataset.map_batches(stage, batch_size=1, batch_format="pyarrow", num_cpus=num_cpus)
    results: List[dict] = [{}] * len(items)
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        for index, result in zip(batch.column("index").to_pylist(), batch.column("result").to_pylist()):
            results[index] = json.loads(result)
    return results


def run_stage(work: str, name: str, function: Callable[[dict], dict], items: List[dict], use_ray: bool) -> List[dict]:
    """:func:`map_items`, unless the stage's results are already in ``WORK/<name>.done.json``: a rerun
    after a crash resumes at the first unfinished stage."""
    marker = os.path.join(work, f"{name}.done.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as handle:
            return json.load(handle)
    results = map_items(function, items, use_ray, name)
    os.makedirs(work, exist_ok=True)
    with open(marker + ".tmp", "w", encoding="utf-8") as handle:
        json.dump(results, handle)
    os.replace(marker + ".tmp", marker)
    return results
