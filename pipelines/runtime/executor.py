"""The one loop that runs a pipeline's steps: read → operators → the caller's write, in this process or on
Ray Data, with the same runners (``operators/runner.py``) counting alike in both.

A :class:`StepList` is a pipeline's order of steps: a source and the operators after it. It knows its
operator names without building anything twice (``PipelineStats(steps.names)``). An executor runs it over a
list of locations (files, URLs) and hands every surviving batch to ``write``; what ``write`` returns (a
manifest of the files it wrote) comes back in a list. Compare NeMo Curator's ``BaseExecutor.execute(stages)``
and datatrove's ``PipelineExecutor``:

* :class:`InProcessExecutor` chains the runners batch by batch, one location after the other: tests,
  ``--in-process`` runs, and the per-file tasks of the parallel-data and SFT pipelines.
* :class:`RayDataExecutor` makes every step a ``map_batches`` stage named after the operator's class, so
  Ray Data fuses them into one physical operator (``MapBatches(WarcReader)->MapBatches(UrlFilter)->...``) and
  the dashboard shows the names; documents are not copied between steps.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import pyarrow as pa

from operators.base import Operator, Source
from operators.drop_samples import DropSampling
from operators.runner import OperatorRunner, SourceRunner, StatsSink

Write = Callable[[pa.Table], pa.Table]


@dataclass(frozen=True)
class Step:
    """An operator in a step list. ``batch_rows``: regroup the stream into batches of this many rows before
    the operator (the similarity filter scores margins within batches: ``pipelines/parallel/steps.py``)."""

    operator: Operator
    batch_rows: Optional[int] = None

    @property
    def name(self) -> str:
        return self.operator.name


@dataclass(frozen=True)
class StepList:
    """``drops``: how the runners sample dropped documents (``operators/drop_samples.py``); None: they do not."""

    source: Source
    steps: Tuple[Step, ...]
    drops: Optional[DropSampling] = None

    @classmethod
    def of(cls, source: Source, *steps: Union[Operator, Step], drops: Optional[DropSampling] = None) -> "StepList":
        return cls(source, tuple(s if isinstance(s, Step) else Step(s) for s in steps), drops)

    @property
    def names(self) -> List[str]:
        """Operator names in pipeline order: the rows of the statistics table."""
        return [self.source.name] + [step.name for step in self.steps]

    def runners(self, sink: Optional[StatsSink]) -> Tuple[SourceRunner, List[Tuple[OperatorRunner, Optional[int]]]]:
        return (SourceRunner(self.source, sink, drops=self.drops),
                [(OperatorRunner(s.operator, sink, self.drops), s.batch_rows) for s in self.steps])


def regroup(tables: Iterable[pa.Table], rows: int) -> Iterator[pa.Table]:
    """Regroup a stream of tables into tables of ``rows`` rows; a remainder shorter than ``rows`` joins the
    table before it, so no batch is smaller than ``rows`` unless the whole stream is."""
    pending: List[pa.Table] = []
    count = 0
    for table in tables:
        if not table.num_rows:
            continue
        pending.append(table)
        count += table.num_rows
        while count >= 2 * rows:
            merged = pa.concat_tables(pending)
            yield merged.slice(0, rows)
            pending, count = [merged.slice(rows)], count - rows
    if pending:
        yield pa.concat_tables(pending)


def _apply(runner: OperatorRunner, tables: Iterable[pa.Table]) -> Iterator[pa.Table]:
    for table in tables:
        table = runner(table)
        if table.num_rows:
            yield table


class InProcessExecutor:
    """Runs the steps in this process: one location at a time, batch by batch."""

    def stream(self, steps: StepList, locations: Sequence[str], sink: Optional[StatsSink]) -> Iterator[pa.Table]:
        """The surviving batches, in input order."""
        source, runners = steps.runners(sink)
        for location in locations:
            tables: Iterable[pa.Table] = source(pa.table({source.location_column: [location]}))
            for runner, batch_rows in runners:
                tables = _apply(runner, regroup(tables, batch_rows) if batch_rows else tables)
            yield from tables

    def execute(self, steps: StepList, locations: Sequence[str], sink: Optional[StatsSink], write: Write,
                write_rows: Optional[int] = None) -> List[pa.Table]:
        """``write`` every surviving batch (regrouped into ``write_rows`` rows when given); its results."""
        tables = self.stream(steps, locations, sink)
        return [write(table) for table in (regroup(tables, write_rows) if write_rows else tables)]


def named_stage(function: Callable, name: str) -> Callable:
    """The dashboard names a ``map_batches`` stage after its function."""
    function.__name__ = function.__qualname__ = name
    return function


class RayDataExecutor:
    """Runs the steps as Ray Data ``map_batches`` stages of ``cpus_per_task`` CPUs each."""

    # Many small files share a task, so that per-task scheduling gaps stay small: at most this many tasks per
    # CPU; big files (Common Crawl's are ~1 GB) get one task each.
    TASKS_PER_CPU = 8

    def __init__(self, cpus_per_task: float = 1.0) -> None:
        self.cpus_per_task = cpus_per_task

    def execute(self, steps: StepList, locations: Sequence[str], sink: Optional[StatsSink], write: Write,
                write_rows: Optional[int] = None) -> List[pa.Table]:
        """Like :meth:`InProcessExecutor.execute`; ``write`` runs in the tasks, once per block (``write_rows``
        is for the in-process executor, which sees one stream)."""
        import ray

        regrouped = [step.name for step in steps.steps if step.batch_rows]
        if regrouped:
            raise ValueError(f"steps {regrouped} regroup their input; Ray Data cannot form the same batches: "
                             "run them with InProcessExecutor inside a task per file")
        source, runners = steps.runners(sink)
        cpus = max(1, int(ray.cluster_resources().get("CPU", 1)))
        dataset = ray.data.from_items([{source.location_column: location} for location in locations],
                                      override_num_blocks=min(len(locations), self.TASKS_PER_CPU * cpus))

        def read(batch: pa.Table) -> Iterator[pa.Table]:
            yield from source(batch)

        dataset = dataset.map_batches(named_stage(read, type(steps.source).__name__), batch_size=1,
                                      batch_format="pyarrow", num_cpus=self.cpus_per_task)
        for runner, _ in runners:
            dataset = dataset.map_batches(named_stage(_stage(runner), type(runner.operator).__name__), batch_size=None,
                                          batch_format="pyarrow", num_cpus=self.cpus_per_task)
        dataset = dataset.map_batches(named_stage(_stage(write), "ShardWriter"), batch_size=None, batch_format="pyarrow",
                                      num_cpus=self.cpus_per_task)
        with _forgetting_remote_functions():
            return [b for b in dataset.iter_batches(batch_format="pyarrow", batch_size=None) if b.num_rows]


@contextmanager
def _forgetting_remote_functions() -> Iterator[None]:
    """Ray Data caches a remote function for every map operator it plans, keyed by the operator's unique id, and
    never drops it: a driver that runs one dataset per chunk grew by about 8 KB per chunk from this cache alone
    (bench/load.py). The functions a finished execution added are dropped (its operators hold their own)."""
    try:
        from ray.data._internal import remote_fn
    except ImportError:   # another Ray: nothing to forget
        yield
        return
    before = set(remote_fn.CACHED_FUNCTIONS)
    try:
        yield
    finally:
        for key in [k for k in list(remote_fn.CACHED_FUNCTIONS) if k not in before]:
            remote_fn.CACHED_FUNCTIONS.pop(key, None)


def _stage(function: Callable[[pa.Table], pa.Table]) -> Callable[[pa.Table], pa.Table]:
    def stage(batch: pa.Table) -> pa.Table:
        return function(batch)

    return stage


__all__ = ["InProcessExecutor", "RayDataExecutor", "Step", "StepList", "named_stage", "regroup"]


def file_to_parquet(steps: StepList, location: str, path: str, columns: Optional[Sequence[str]] = None) -> Tuple[dict, int]:
    """One input file through the steps in this process, its surviving rows (``columns`` of them, or all) into
    one Parquet file at ``path`` (none when nothing survives): the per-file task of the SFT and knowledge jobs.
    Returns (statistics as a dict, rows written)."""
    from common.atomic_io import write_parquet
    from operators.stats import PipelineStats

    stats = PipelineStats()
    tables = [t if columns is None else t.select(list(columns)) for t in InProcessExecutor().stream(steps, [location], stats)]
    tables = [t for t in tables if t.num_rows]
    if not tables:
        return stats.to_dict(), 0
    table = pa.concat_tables(tables, promote_options="default")
    write_parquet(table, path)
    return stats.to_dict(), table.num_rows
