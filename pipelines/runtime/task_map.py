"""Run one function over a list of work items, in this process or as a Ray Data map.

The global dedup stages, and the per-file tasks of the parallel-data, SFT and tokenization pipelines, are all
"for every file / partition, do this and write the result to disk": on Ray each item becomes one task of a
``map_batches`` stage named after the function (so the dashboard shows ``MapBatches(bucket_edges)`` and so
on); in-process it is a loop. Items and results are small dataclasses (paths, counts), returned in item
order; they travel through Ray pickled.

The files a task commits through :mod:`common.atomic_io` are checksummed where it runs and their checksums come
back to the driver's open :func:`common.checksums.recording`. :class:`StageChain` keeps each finished stage's
results and checksums in ``WORK/<name>.done.json``, so a rerun after a crash resumes at the first unfinished
stage, after checking that what the finished ones wrote is still what they wrote: a file missing or changed
since is said in the log, and its stage is run again, with every stage after it.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import pickle
from typing import Any, Callable, List, Optional, Sequence, Type, TypeVar

import pyarrow as pa

from common import checksums
from common.atomic_io import write_json
from pipelines.runtime.executor import named_stage

log = logging.getLogger("stages")

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
        results = []
        for blob in batch.column("item").to_pylist():
            with checksums.recording() as written:
                result = function(pickle.loads(blob))
            results.append(pickle.dumps((result, written)))
        return pa.table({"index": batch.column("index"), "result": pa.array(results, type=pa.binary())})

    dataset = ray.data.from_items([{"index": i, "item": pickle.dumps(item)} for i, item in enumerate(items)],
                                  override_num_blocks=len(items))
    dataset = dataset.map_batches(named_stage(stage, name), batch_size=1, batch_format="pyarrow", num_cpus=num_cpus)
    results: List = [None] * len(items)
    for batch in dataset.iter_batches(batch_format="pyarrow", batch_size=None):
        for index, blob in zip(batch.column("index").to_pylist(), batch.column("result").to_pylist()):
            results[index], written = pickle.loads(blob)
            checksums.add(written)
    return results


class StageChain:
    """The stages of one job, in order, resumable: :meth:`run` a stage of tasks, :meth:`step` one computed on the
    driver. A stage is reused from ``WORK/<name>.done.json`` when it finished before and every file it wrote
    still has the checksum recorded then; otherwise it runs, and so does every later stage of the chain."""

    def __init__(self, use_ray: bool) -> None:
        self.use_ray = use_ray
        self.rerunning = False    # a stage ran in this job: the ones after it depend on what it wrote
        self.recomputed: List[str] = []   # stages run again because a file they wrote had changed

    def run(self, work: str, name: str, function: Callable[[Item], Result], items: Sequence[Item],
            result_type: Optional[Type[Result]] = None) -> List[Result]:
        """:func:`map_items` unless reusable; ``result_type`` (a dataclass) rebuilds stored results."""
        stored = self._reusable(work, name)
        if stored is not None:
            return [result_type(**r) for r in stored] if result_type is not None else stored
        return self._record(work, name, lambda: map_items(function, items, self.use_ray, name))

    def step(self, work: str, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()`` (JSON data, which may run tasks of its own) unless reusable."""
        stored = self._reusable(work, name)
        return stored if stored is not None else self._record(work, name, compute)

    def _record(self, work: str, name: str, compute: Callable[[], Any]) -> Any:
        self.rerunning = True
        with checksums.recording() as written:
            results = compute()
        written = {path: checksum for path, checksum in written.items() if os.path.exists(path)}  # not temporaries
        stored = [dataclasses.asdict(r) if dataclasses.is_dataclass(r) else r for r in results] \
            if isinstance(results, list) else results
        write_json(_marker(work, name), {"results": stored, "files": checksums.relative(written, work)}, indent=None)
        return results

    def _reusable(self, work: str, name: str) -> Optional[Any]:
        marker = _marker(work, name)
        if not os.path.exists(marker):
            return None
        if self.rerunning:
            os.remove(marker)   # made from what an earlier stage wrote before it ran again
            return None
        with open(marker, encoding="utf-8") as handle:
            stored = json.load(handle)
        if not isinstance(stored, dict):
            return stored     # written before checksums were kept
        changed = checksums.problems(stored.get("files", {}), work)
        if changed:
            more = f" (and {len(changed) - 1} more)" if len(changed) > 1 else ""
            log.warning("%s%s; running stage %r again, and the stages after it", changed[0], more, name)
            self.recomputed.append(name)
            os.remove(marker)
            return None
        return stored["results"]


def _marker(work: str, name: str) -> str:
    return os.path.join(work, f"{name}.done.json")


def run_stage(work: str, name: str, function: Callable[[Item], Result], items: Sequence[Item], use_ray: bool,
              result_type: Optional[Type[Result]] = None) -> List[Result]:
    """A one-stage :class:`StageChain`."""
    return StageChain(use_ray).run(work, name, function, items, result_type)
