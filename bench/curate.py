"""Throughput of the curation pipeline (read -> URL filter -> extract -> langid -> write), against anchors.

    .venv/bin/python -m bench.curate                 # full run (~15-20 min on the 2-core machine)
    .venv/bin/python -m bench.curate --quick         # smoke run: one pass over the files, datatrove tasks=2
    .venv/bin/python -m bench.curate --repeat 10 --skip-datatrove

Inputs: the shared WARC/WET files (``shared/data/warc/*.warc.gz``, ``*.wet.gz``) copied N times under
distinct names into a temporary folder, N chosen so that our reader emits at least ``--min-docs``
(5,000) documents. All measurements are taken in the same run, one after the other:

(a) in-process, one core: the whole pipeline (``curate(..., in_process=True)``), and each operator
    runner of ``pipelines.web.steps.web_steps`` alone over the materialised output of the previous
    step (its model loading excluded and reported apart).
(b) Ray Data on an embedded Ray with num_cpus=2: ``curate(...)`` with one chunk holding every file, so
    that both CPUs have tasks until the end. ``ray.init`` runs before the clock starts; worker start-up,
    module imports in workers and Ray Data planning are inside the timing.
(c) datatrove 0.10.1 from PyPI in ``bench/.venv-datatrove`` (created on first use):
    WarcReader -> Trafilatura(favour_precision=True, timeout=1) -> LanguageFilter -> JsonlWriter,
    LocalPipelineExecutor with tasks=1 and tasks=2 (``bench/datatrove_run.py``).

Docs are the documents each reader emits into extraction (ours and datatrove's counts differ: datatrove
skips records ours reads, e.g. ClueWeb09's, whose payload-type header is empty; both are printed).
docs/s per core = docs / wall seconds / cores used (in-process 1, Ray num_cpus, datatrove tasks).
docs/CPU-s = docs / CPU seconds of the whole process tree (less sensitive to other people's load).
Results go to ``bench/results/curate-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import glob
import json
import logging
import math
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Dict, List, Optional

# Before anything imports Ray: no token auth for the embedded cluster, one BLAS thread per process.
os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "1")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import pyarrow as pa

from bench.curate_measures import (
    add_rates,
    measure_datatrove,
    measure_in_process,
    measure_operators,
    measure_ray,
    prepare_datatrove,
    profile_in_process,
    say,
)
from operators.stats import PipelineStats
from pipelines.web.config import load_config

# extract.engine of every run (--engine); the default config's when None.
_ENGINE = None


def _base_config():
    config = load_config(None)
    if _ENGINE is not None:
        config.extract.engine = _ENGINE
        config.extract.validate()
    return config
from pipelines.web.steps import web_steps

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data")) / "warc"
RESULTS_DIR = BENCH_DIR / "results"
RAY_OVERHEAD_TARGET = 0.15

log = logging.getLogger("bench")


# --------------------------------------------------------------------------------------------- inputs


def shared_files(data_dir: Path) -> List[str]:
    """The WARC and WET files of the shared folder (not WAT, not SOURCE.md), sorted."""
    files = sorted(set(glob.glob(str(data_dir / "*.warc.gz")) + glob.glob(str(data_dir / "*.wet.gz"))))
    return [f for f in files if not f.endswith(".wat.gz")]


def count_reader_docs(config, files: List[str]) -> int:
    """Documents our reader emits from ``files`` (one pass, to size the repetition)."""
    steps = web_steps(config)
    stats = PipelineStats(steps.names)
    source, _ = steps.runners(stats)
    for path in files:
        for _ in source(pa.table({"path": [path]})):
            pass
    return stats.operator(source.name).docs_out


def replicate(files: List[str], repeat: int, target_dir: str) -> List[str]:
    """Copy ``files`` ``repeat`` times into ``target_dir`` as rep000_<name>, rep001_<name>, ..."""
    os.makedirs(target_dir, exist_ok=True)
    out = []
    for i in range(repeat):
        for path in files:
            dest = os.path.join(target_dir, f"rep{i:03d}_{os.path.basename(path)}")
            shutil.copyfile(path, dest)
            out.append(dest)
    return sorted(out)


# ---------------------------------------------------------------------------------------- measuring


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def table(rows: List[dict]) -> str:
    head = (f"{'measurement':<48}{'docs':>6}{'wall s':>8}{'docs/s':>8}{'cores':>6}"
            f"{'docs/s/core':>12}{'CPU s':>8}{'docs/CPU-s':>11}{'MB/s/core':>10}{'idle s':>8}{'others s':>9}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r['name']:<48.48}{r['docs']:>6}{_fmt(r['wall_s'], '.1f'):>8}{_fmt(r['docs_per_s'], '.1f'):>8}"
            f"{r['cores']:>6}{_fmt(r['docs_per_s_per_core'], '.1f'):>12}{_fmt(r.get('cpu_s'), '.1f'):>8}"
            f"{_fmt(r.get('docs_per_cpu_s'), '.1f'):>11}{_fmt(r.get('input_mb_per_s_per_core'), '.2f'):>10}"
            f"{_fmt(r.get('machine_idle_s'), '.0f'):>8}{_fmt(r.get('others_cpu_s'), '.0f'):>9}"
        )
    return "\n".join(lines)


def ratios(rows: List[dict]) -> dict:
    by_key = {}
    for r in rows:
        if r["name"].startswith("ours: whole pipeline, in-process"):
            by_key["in_process"] = r
        elif r["name"].startswith("ours: whole pipeline, Ray Data") and r.get("ray_run") == 1:
            by_key["ray"] = r
        elif r["name"].startswith("ours: whole pipeline, Ray Data") and r.get("ray_run") == 2:
            by_key["ray_warm"] = r
        elif r["name"].startswith("datatrove"):
            by_key[f"datatrove_t{r['tasks']}"] = r
    out: Dict[str, dict] = {}

    def per_core(key):
        return by_key[key]["docs_per_s_per_core"] if key in by_key else None

    ip = per_core("in_process")
    for ray_key in ("ray", "ray_warm"):
        ray_pc = per_core(ray_key)
        if ip and ray_pc:
            overhead = 1 - ray_pc / ip
            out[f"{ray_key}_overhead"] = {
                "value": overhead, "target": f"<= {RAY_OVERHEAD_TARGET:.0%}", "met": overhead <= RAY_OVERHEAD_TARGET,
                "what": f"1 - ({ray_key} docs/s/core {ray_pc:.2f} / in-process {ip:.2f})",
            }
            cpu_ip = by_key["in_process"].get("docs_per_cpu_s")
            cpu_ray = by_key[ray_key].get("docs_per_cpu_s")
            if cpu_ip and cpu_ray:
                out[f"{ray_key}_overhead_cpu"] = {
                    "value": 1 - cpu_ray / cpu_ip, "target": "(diagnostic)", "met": None,
                    "what": f"1 - ({ray_key} docs/CPU-s {cpu_ray:.2f} / in-process {cpu_ip:.2f})",
                }
    dt_keys = sorted(k for k in by_key if k.startswith("datatrove_t"))
    for ours in ("in_process", "ray", "ray_warm"):
        ours_pc = per_core(ours)
        if not ours_pc:
            continue
        for dt in dt_keys:
            dt_pc = per_core(dt)
            if dt_pc:
                value = ours_pc / dt_pc
                out[f"{ours}_vs_{dt}"] = {
                    "value": value, "target": ">= 1.00", "met": value >= 1.0,
                    "what": f"{ours} docs/s/core {ours_pc:.2f} / {dt} {dt_pc:.2f}",
                }
            ours_cpu = by_key[ours].get("docs_per_cpu_s")
            dt_cpu = by_key[dt].get("docs_per_cpu_s")
            if ours_cpu and dt_cpu:
                out[f"{ours}_vs_{dt}_cpu"] = {
                    "value": ours_cpu / dt_cpu, "target": "(diagnostic)", "met": None,
                    "what": f"{ours} docs/CPU-s {ours_cpu:.2f} / {dt} {dt_cpu:.2f}",
                }
    return out


def machine_info() -> dict:
    model = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info = {"hostname": socket.gethostname(), "cpu_model": model, "cpus": os.cpu_count(),
            "platform": platform.platform(), "python": platform.python_version()}
    try:
        info["affinity_cpus"] = len(os.sched_getaffinity(0))
    except AttributeError:
        pass
    try:
        info["memory_gib"] = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        pass
    try:
        info["git_commit"] = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                                            text=True, timeout=10).stdout.strip() or None
    except Exception:
        info["git_commit"] = None
    versions = {}
    for module in ("ray", "trafilatura", "pyarrow", "warcio", "lxml"):
        try:
            versions[module] = __import__(module).__version__
        except Exception:
            versions[module] = None
    info["versions"] = versions
    return info


# --------------------------------------------------------------------------------------------- main


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke run: one pass over the files (~220 docs), datatrove tasks=2 only")
    parser.add_argument("--repeat", type=int, help="copies of the shared files (default: enough for --min-docs)")
    parser.add_argument("--min-docs", type=int, default=5000, help="documents our reader must emit (default: 5000)")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA, help="folder of the WARC/WET files")
    parser.add_argument("--num-cpus", type=int, default=2, help="CPUs of the embedded Ray (default: 2)")
    parser.add_argument("--ray-runs", type=int, default=1,
                        help="Ray runs on the same cluster; runs after the first show warm workers (default: 1)")
    parser.add_argument("--datatrove-tasks", default=None,
                        help="comma-separated tasks values for datatrove (default: 1,2; --quick: 2)")
    parser.add_argument("--skip-datatrove", action="store_true", help="do not run (or create) the datatrove anchor")
    parser.add_argument("--skip-ray", action="store_true", help="do not run the Ray Data measurement")
    parser.add_argument("--skip-operators", action="store_true", help="do not time each operator alone")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile an in-process run over up to 3 passes; top functions into the results")
    parser.add_argument("--workdir", help="where to put the copied inputs and outputs (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the work directory")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--verbose", action="store_true", help="show the pipeline's own log messages")
    parser.add_argument("--engine", choices=("fast", "trafilatura"), default=None,
                        help="extract.engine of our runs (default: the config's)")
    args = parser.parse_args(argv)
    if args.repeat is not None and args.repeat <= 0:
        parser.error("--repeat must be positive")
    if args.datatrove_tasks is None:
        args.datatrove_tasks = "2" if args.quick else "1,2"
    try:
        args.datatrove_tasks = [int(t) for t in args.datatrove_tasks.split(",") if t.strip()]
    except ValueError:
        parser.error("--datatrove-tasks: comma-separated integers")
    return args


def main(argv: Optional[List[str]] = None) -> int:
    global _ENGINE
    args = parse_args(argv)
    _ENGINE = args.engine
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if not args.verbose:
        # The copies repeat each file's warnings N times (malformed records etc.); counts are in stats.
        logging.getLogger("operators").setLevel(logging.ERROR)
        logging.getLogger("curate_cc").setLevel(logging.WARNING)
        logging.getLogger("trafilatura").setLevel(logging.ERROR)

    files = shared_files(args.data_dir)
    if not files:
        say(f"error: no *.warc.gz / *.wet.gz files in {args.data_dir} (set --data-dir or MARCO_SHARED_DATA)")
        return 2
    config = _base_config()
    started_at = _dt.datetime.now()
    per_pass = count_reader_docs(config, files)
    if args.repeat:
        repeat = args.repeat
    elif args.quick:
        repeat = 1
    else:
        repeat = max(1, math.ceil(args.min_docs / max(per_pass, 1)))

    workdir = os.path.abspath(args.workdir or tempfile.mkdtemp(prefix="bench-curate-"))
    os.makedirs(workdir, exist_ok=True)
    input_dir = os.path.join(workdir, "input")
    shutil.rmtree(input_dir, ignore_errors=True)
    inputs = replicate(files, repeat, input_dir)
    input_mb = sum(os.path.getsize(p) for p in inputs) / 1e6
    info = machine_info()
    say(f"bench/curate.py  {started_at:%Y-%m-%d %H:%M}  {info['cpu_model']}  {info['cpus']} CPUs  "
        f"load {os.getloadavg()[0]:.2f}")
    say(f"inputs: {len(files)} shared files x {repeat} = {len(inputs)} files, {input_mb:.1f} MB; "
        f"our reader emits {per_pass} docs per pass, {per_pass * repeat} in all")

    rows: List[dict] = []
    notes: Dict[str, str] = {}
    results = {"started": started_at.isoformat(timespec="seconds"), "command": " ".join([sys.executable] + sys.argv),
               "machine": info, "repeat": repeat, "shared_files": files, "input_files": len(inputs),
               "input_mb": input_mb, "docs_per_pass_ours": per_pass, "rows": rows, "notes": notes}

    def run_step(label: str, fn):
        say(f"[{time.strftime('%H:%M:%S')}] {label} (load {os.getloadavg()[0]:.2f}) ...")
        try:
            return fn()
        except Exception as exc:
            notes[label] = f"failed: {exc!r}"
            say(f"  FAILED: {exc!r}")
            traceback.print_exc()
            return None

    dt_python = dt_lid = None
    if args.skip_datatrove:
        notes["datatrove"] = "skipped (--skip-datatrove)"
    else:
        dt_python, dt_lid, why = prepare_datatrove()  # before any timing: the venv may need building
        if why:
            notes["datatrove"] = why
            say(f"datatrove anchor not run: {why}")

    def add(result):
        if isinstance(result, dict):
            rows.append(result)
        elif result:
            rows.extend(result)

    def datatrove(tasks: int) -> None:
        if dt_python is not None:
            add(run_step(f"(c) datatrove, tasks={tasks}",
                         lambda: measure_datatrove(dt_python, dt_lid, input_dir, workdir, tasks)))

    # Order: each pair that is compared runs back to back (the machine's load drifts over minutes):
    # datatrove tasks=1 | in-process | Ray | datatrove tasks=2 | operators alone.
    one_core = [t for t in args.datatrove_tasks if t == 1]
    for tasks in one_core:
        datatrove(tasks)
    add(run_step("(a) in-process, whole pipeline",
                 lambda: measure_in_process(_config_one_chunk(len(inputs)), input_dir,
                                            os.path.join(workdir, "out-inprocess"))))
    if not args.skip_ray:
        outs = [os.path.join(workdir, f"out-ray-{i}") for i in range(max(1, args.ray_runs))]
        add(run_step(f"(b) Ray Data, num_cpus={args.num_cpus}",
                     lambda: measure_ray(_config_one_chunk(len(inputs)), input_dir, outs, args.num_cpus,
                                         len(inputs))))
    for tasks in args.datatrove_tasks:
        if tasks != 1:
            datatrove(tasks)
    if not args.skip_operators:
        add(run_step("(a) in-process, each operator alone", lambda: measure_operators(_base_config(), inputs)))

    for r in rows:
        add_rates(r, input_mb)
    # Whole pipelines first, then operators, in a stable order.
    rows.sort(key=lambda r: (0 if r.get("whole_pipeline") else 1, 0 if r["name"].startswith("ours") else 1))
    results["ratios"] = ratios(rows)
    stamp = started_at.strftime("%Y%m%d-%H%M%S")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    results_path = args.results_dir / f"curate-{stamp}.json"

    if args.profile:
        passes = min(repeat, 3)
        prof_files = inputs[: len(files) * passes]
        prof = run_step(f"profile: cProfile in-process over {passes} pass(es)",
                        lambda: profile_in_process(_base_config(), prof_files,
                                                   os.path.join(workdir, "out-profile"),
                                                   args.results_dir / f"curate-{stamp}"))
        if prof:
            results["profile"] = prof

    results["finished"] = _dt.datetime.now().isoformat(timespec="seconds")
    results_path.write_text(json.dumps(results, indent=1, default=str), encoding="utf-8")
    report(results, rows)
    say(f"\nresults: {results_path}")
    if args.keep or args.workdir:
        say(f"work directory kept: {workdir}")
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _config_one_chunk(n_files: int):
    config = _base_config()
    config.output.chunk_files = max(1, n_files)
    return config


def report(results: dict, rows: List[dict]) -> None:
    say("\n=== docs/s per core (docs = documents the reader emits into extraction) ===")
    say("CPU s: this measurement's process tree; idle s: the machine's idle CPU seconds meanwhile; "
        "others s: CPU seconds other people's processes took meanwhile (the machine is shared)")
    say(table(rows))
    counts = [f"{r['name'].split(':')[0]} {r['docs']}" for r in rows if r.get("whole_pipeline")]
    say("reader docs: " + ", ".join(dict.fromkeys(counts)))
    for r in rows:
        if r.get("ray_init_s") is not None and r.get("ray_run") == 1:
            say(f"ray.init: {r['ray_init_s']:.1f} s (not timed); chunk_files={r['chunk_files']}, "
                f"cpus_per_task={r['cpus_per_task']}")
        if r.get("operator"):
            setup = f", setup {r['setup_s']:.2f} s not timed" if r.get("setup_s", 0) >= 0.01 else ""
            say(f"{r['operator']} alone: {r['docs_in']} docs in, {r['docs_out']} out{setup}")
        if r.get("whole_pipeline") and r.get("cpu_s_by_process"):
            top = list(r["cpu_s_by_process"].items())[:6]
            say(f"{r['name']}: CPU s by process: " + ", ".join(f"{k} {v:.1f}" for k, v in top))
        if r.get("extract_timeouts") is not None:
            say(f"{r['name']}: {r['extract_timeouts']} extraction timeouts, {r['kept']} docs kept; "
                f"subprocess wall {r['subprocess_wall_s']:.1f} s")
        if r.get("kept") is not None and r["name"].startswith("ours: whole"):
            say(f"{r['name']}: {r['kept']} docs kept")
    say("\n=== ratios ===")
    for key, rat in results["ratios"].items():
        met = "" if rat["met"] is None else ("  [target met]" if rat["met"] else "  [TARGET MISSED]")
        value = f"{rat['value']:.1%}" if "overhead" in key else f"{rat['value']:.2f}x"
        say(f"{key:<34}{value:>9}  target {rat['target']:<8} {rat['what']}{met}")
    for key, note in results["notes"].items():
        say(f"note: {key}: {note}")
    if "profile" in results:
        say("\n=== in-process profile: self time by library ===")
        total = results["profile"]["total_self_s"] or 1
        for area, secs in results["profile"]["self_time_by_area"].items():
            say(f"{area:<22}{secs:>8.1f} s {secs / total:>6.1%}")


if __name__ == "__main__":
    sys.exit(main())
