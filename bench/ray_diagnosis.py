"""Where does the Ray overhead of bench/curate.py come from? CPU seconds per document, one factor at a time.

    .venv/bin/python -m bench.ray_diagnosis [--repeat 4] [--only E1,E4]
    BENCH_GC_DIR=/tmp/gc .venv/bin/python -m bench.ray_diagnosis ...   # also time the garbage collector

Every experiment runs our whole pipeline in-process (``pipelines.web.curate.run_chunk`` without a collector) over the same copies of
the shared WARC/WET files and reports CPU seconds per document of the process doing the work:

E1  a fresh Python process (the baseline; what ``curate --in-process`` does)
E2  a fresh process that imported ray and ray.data first (a Ray worker's larger heap)
E3  two fresh processes at once, half of the files each (both CPUs busy: contention between them)
E4  one Ray task (num_cpus=1) on an embedded Ray with num_cpus=2 (the Ray worker environment)
E5  Ray Data: ``curate()`` on the embedded Ray, num_cpus=2, one chunk (what bench/curate.py measures)

E1 vs E4 isolates "being a Ray worker"; E1 vs E3 the cost of running two processes on the two vCPUs;
E4/E3 vs E5 what Ray Data adds on top (per-task scheduling, block handling, stats RPCs, actors).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAY_AUTH_MODE", "disabled")
os.environ.setdefault("OMP_NUM_THREADS", "1")

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent


def work(files, out_dir, import_ray=False) -> dict:
    """Run the in-process pipeline over ``files``; CPU seconds of this process and of this thread."""
    if os.environ.get("BENCH_GC_DIR"):
        from bench.gc_meter import install

        install()
    if import_ray:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    from pipelines.web.config import load_config
    from pipelines.web.curate import run_chunk
    from pipelines.web.shard_output import Chunk
    from pipelines.web.steps import web_steps

    config = load_config(None)
    started, cpu0, thread0 = time.perf_counter(), time.process_time(), time.thread_time()
    _, stats = run_chunk(web_steps(config), Chunk(0, tuple(files)), out_dir, config.output.rows_per_file)
    return {"wall_s": time.perf_counter() - started, "cpu_s": time.process_time() - cpu0,
            "thread_cpu_s": time.thread_time() - thread0, "docs": stats.operator("warc_reader").docs_out,
            "pid": os.getpid()}


def _child(args) -> int:
    files = json.loads(Path(args.child_files).read_text())
    result = work(files, args.child_out, import_ray=args.child_import_ray)
    Path(args.child_result).write_text(json.dumps(result))
    return 0


def run_children(groups, tmp, import_ray=False) -> list:
    """Fresh processes (``--child-*``), one per group of files, all started at once."""
    os.makedirs(tmp, exist_ok=True)
    procs = []
    for i, files in enumerate(groups):
        fl = os.path.join(tmp, f"files-{i}.json")
        Path(fl).write_text(json.dumps(files))
        res = os.path.join(tmp, f"result-{i}.json")
        cmd = [sys.executable, "-m", "bench.ray_diagnosis", "--child-files", fl, "--child-out", os.path.join(tmp, f"out-{i}"),
               "--child-result", res] + (["--child-import-ray"] if import_ray else [])
        procs.append((subprocess.Popen(cmd), res))
    out = []
    for proc, res in procs:
        proc.wait()
        out.append(json.loads(Path(res).read_text()))
    return out


def summarise(name, results, wall=None) -> dict:
    docs = sum(r["docs"] for r in results)
    cpu = sum(r["cpu_s"] for r in results)
    row = {"experiment": name, "docs": docs, "cpu_s": cpu, "ms_per_doc": 1000 * cpu / docs,
           "wall_s": wall if wall is not None else max(r["wall_s"] for r in results)}
    if all("thread_cpu_s" in r for r in results):
        row["thread_ms_per_doc"] = 1000 * sum(r["thread_cpu_s"] for r in results) / docs
    print(f"{name:<58} docs {docs:>5}  CPU {cpu:7.1f} s  {row['ms_per_doc']:6.1f} ms/doc"
          + (f"  (task thread {row['thread_ms_per_doc']:.1f})" if "thread_ms_per_doc" in row else "")
          + f"  wall {row['wall_s']:.1f} s  load {os.getloadavg()[0]:.2f}", flush=True)
    return row


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=4)
    parser.add_argument("--only", default="E1,E2,E3,E4,E5")
    parser.add_argument("--child-files")
    parser.add_argument("--child-out")
    parser.add_argument("--child-result")
    parser.add_argument("--child-import-ray", action="store_true")
    args = parser.parse_args()
    if args.child_files:
        return _child(args)

    from bench.cpu_meter import TreeCpuMeter
    from bench.curate import DEFAULT_DATA, replicate, shared_files

    only = set(args.only.split(","))
    tmp = tempfile.mkdtemp(prefix="bench-raydiag-")
    try:
        files = replicate(shared_files(DEFAULT_DATA), args.repeat, os.path.join(tmp, "input"))
        rows = []
        if "E1" in only:
            rows.append(summarise("E1 fresh process", run_children([files], os.path.join(tmp, "e1"))))
        if "E2" in only:
            rows.append(summarise("E2 fresh process, ray + ray.data imported",
                                  run_children([files], os.path.join(tmp, "e2"), import_ray=True)))
        if "E3" in only:
            started = time.perf_counter()
            res = run_children([files[0::2], files[1::2]], os.path.join(tmp, "e3"))
            rows.append(summarise("E3 two fresh processes at once, half the files each", res,
                                  time.perf_counter() - started))
        if only & {"E4", "E5"}:
            import ray

            env_vars = {"PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
            runtime_env = {"env_vars": env_vars}
            if os.environ.get("BENCH_GC_DIR"):
                env_vars["BENCH_GC_DIR"] = os.environ["BENCH_GC_DIR"]
                runtime_env["worker_process_setup_hook"] = "bench.gc_meter.install"
            ray.init(address="local", num_cpus=2, include_dashboard=False, runtime_env=runtime_env,
                     _temp_dir=tempfile.mkdtemp(prefix="rdiag", dir="/tmp"))
            try:
                if "E4" in only:
                    remote = ray.remote(num_cpus=1)(work)
                    ray.get(remote.remote(files[:1], os.path.join(tmp, "e4-warm")))  # start a worker first
                    res = ray.get(remote.remote(files, os.path.join(tmp, "e4")))
                    rows.append(summarise("E4 one Ray task (in-process pipeline inside a Ray worker)", [res]))
                if "E5" in only:
                    from pipelines.web.config import load_config
                    from pipelines.web.curate import curate

                    config = load_config(None)
                    config.ray.num_cpus = 2
                    config.output.chunk_files = len(files)
                    ray.data.DataContext.get_current().enable_progress_bars = False
                    with TreeCpuMeter() as meter:
                        started = time.perf_counter()
                        stats = curate(config, files, os.path.join(tmp, "e5"), in_process=False)
                        wall = time.perf_counter() - started
                    docs = stats.operator("warc_reader").docs_out
                    row = summarise("E5 Ray Data curate(), num_cpus=2 (all Ray processes)",
                                    [{"docs": docs, "cpu_s": meter.cpu_s, "wall_s": wall}])
                    row["cpu_s_by_process"] = meter.by_name
                    print("   CPU s by process:", {k: round(v, 1) for k, v in list(meter.by_name.items())[:8]})
                    rows.append(row)
            finally:
                ray.shutdown()
        print(json.dumps({"rusage_children_s": resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime}))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
