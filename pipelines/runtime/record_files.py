"""The first half of a job over local record files (curate_sft, curate_knowledge): every input file through the
job's steps in a task of its own (Ray, or this process), the survivors of all files back as one table for the
job's whole-set stage (dedup), with the statistics of both.

    filtered = filter_record_files(PIPELINE_NAME, config, inputs, output, task, step_names, ...)

``task`` takes a :class:`FileItem` (one input, the config as a dict, where its survivors go) and returns a
:class:`FileResult`; it is usually ``steps → file_to_parquet`` (``pipelines/runtime/executor.py``). Before any
task runs: the inputs are listed (one error for a spec that matches nothing), the output's plan is checked
(``--overwrite``), and the benchmark index of ``config.decontamination`` is built.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from typing import Any, Callable, List, Optional

import pyarrow as pa
import pyarrow.parquet as pq

from common.atomic_io import check_plan
from common.fingerprints import files_identity, settings_plan
from operators.decontamination.filter import prepare as prepare_decontamination
from operators.stats import PipelineStats
from pipelines.runtime.local_inputs import expand_record_files
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.task_map import map_items


@dataclass
class FileItem:
    location: str
    config: dict        # asdict() of the job's config
    kept: str           # where the file's survivors go (Parquet)


@dataclass
class FileResult:
    stats: dict
    rows: int


@dataclass
class Filtered:
    output: str                     # absolute
    stats: PipelineStats            # the file steps' counts, with the whole-set step's name last (still empty)
    table: Optional[pa.Table]       # every file's survivors, in input order; None when none survived


def filter_record_files(pipeline: str, config: Any, inputs: List[str], output: str,
                        task: Callable[[FileItem], FileResult], step_names: List[str], task_name: str,
                        in_process: bool = False, ray_address: Optional[str] = None,
                        overwrite: bool = False) -> Filtered:
    locations = expand_record_files(inputs)
    output = os.path.abspath(output)
    work = os.path.join(output, "_work")
    check_plan(output, {"pipeline": pipeline, "inputs": files_identity(locations),
                        **settings_plan(config, drop=["num_cpus"])}, overwrite)
    prepare_decontamination(config.decontamination)   # the benchmark index, once, before any work
    if not in_process:
        init_ray(ray_address, config.num_cpus)
    items = [FileItem(loc, asdict(config), os.path.join(work, f"part-{i:05d}.parquet")) for i, loc in enumerate(locations)]
    results = map_items(task, items, not in_process, task_name)
    stats = PipelineStats(step_names)
    for result in results:
        stats.merge(PipelineStats.from_dict(result.stats))
    kept = [pq.read_table(item.kept) for item, result in zip(items, results) if result.rows]
    return Filtered(output, stats, pa.concat_tables(kept, promote_options="default") if kept else None)


__all__ = ["FileItem", "FileResult", "Filtered", "filter_record_files"]
