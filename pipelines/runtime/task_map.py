"""Run one function over a list of work items, in this process or as a Ray Data map.

The global dedup stages, and the per-file tasks of the parallel-data, SFT and tokenization pipelines, are all
"for every file / partition, do this and write the result to disk": on Ray each item becomes one task of a
``map_batches`` stage named after the function (so the dashboard shows ``MapBatches(bucket_edges)`` and so
on); in-process it is a loop. Items and results are small dataclasses (paths, counts), returned in item
order; they travel through Ray pickled.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
from typing import Callable, List, Optional, Sequence, Type, TypeVar

import pyarrow as pa

from common.atomic_io import write_json
from pipelines.runtime.executor import named_stage

Item = TypeVar("Item")
Result = TypeVar("Result")


def map_items(function: Callable[[Item], Result], items: Sequence[Item], use_ray: bool, name: str,
              num_cpus: float = 1.0) -> List[Result]:
    if not items:
        return []
    if not use_ray:
        return [function(item) for item in items]
    import ray

    def stage(batch: pa.Table) -> pa.Table:
        results = [pickle.dumps(function(pickle.loads(blob))) for blob in batch.column("item").to_pylist()]
        return pa.table({"index": batch.column("index"), "result": pa.array(results, type=pa.binary())})

    dataset = ray.data.from_items([{"index": i, "item": pickle.dumps(item)} for i, item in enumerate(items)],
                                  override_num_blocks=len(items))
    dataset = dataset.map_batches(named_stage(stage, name), batch_size=1, batch_format="pyarrow", num_cpus=num_cpus)
    results: List = [None] * len(items)
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        for index, blob in zip(batch.column("index").to_pylist(), batch.column("result").to_pylist()):
            results[index] = pickle.loads(blob)
    return results


def run_stage(work: str, name: str, function: Callable[[Item], Result], items: Sequence[Item], use_ray: bool,
              result_type: Optional[Type[Result]] = None) -> List[Result]:
    """:func:`map_items`, unless the stage's results are already in ``WORK/<name>.done.json``: a rerun
    after a crash resumes at the first unfinished stage. ``result_type`` (a dataclass) rebuilds them."""
    marker = os.path.join(work, f"{name}.done.json")
    if os.path.exists(marker):
        with open(marker, encoding="utf-8") as handle:
            stored = json.load(handle)
        return [result_type(**r) for r in stored] if result_type is not None else stored
    results = map_items(function, items, use_ray, name)
    write_json(marker, [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else r for r in results], indent=None)
    return results
