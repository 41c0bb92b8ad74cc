"""Load: curate_cc over many copies of the shared WARCs on an embedded 2-CPU Ray, with the memory of every process
sampled; does anything grow with the run's length?

    .venv/bin/python -m bench.load --copies 446        # ~100,000 documents out of the reader
    .venv/bin/python -m bench.load --copies 4 --chunk-files 2   # what tests/pipelines/web/test_load.py runs

The shared Common Crawl files (``../shared/data/warc/*.gz``) are linked under distinct names ``--copies`` times
(distinct names, so distinct chunks); ``pipelines/curate_cc.py --num-cpus 2`` runs over them as a subprocess with
a private Ray temp dir. Every ``--interval`` seconds the resident memory (VmRSS) of the driver and of every
process below it (GCS, raylet, Ray workers and actors) is read from /proc, with the number of chunks committed so
far and the bytes in Ray's spill folder. Written to ``--out``: ``samples.csv``, ``rss.svg`` (RSS over time, one
line per process kind) and ``summary.json``; printed: peak RSS per process kind, the growth of each from the end
of warm-up (a quarter of the chunks) to the end, the driver's growth per committed chunk, and the spilled bytes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, List, Optional

from tests.fixtures.process_tree import descendants

ROOT = Path(__file__).resolve().parents[1]
SHARED_WARC = ROOT.parent / "shared" / "data" / "warc"


def documents_per_copy(source: Path = SHARED_WARC) -> int:
    """The documents the WARC reader passes on from one copy of ``source``, counted in this process (with
    curate_cc's default reader settings), so the expected total follows whatever files are there."""
    from operators.web.warc_reader import WarcReader, WarcReaderConfig

    reader, kept = WarcReader(WarcReaderConfig()), 0
    for path in sorted(source.glob("*.gz")):
        for outcome in reader.read(str(path)):
            kept += sum(1 for reason in (outcome.reasons or [None] * outcome.table.num_rows) if reason is None)
    return kept


def link_copies(folder: Path, copies: int, source: Path = SHARED_WARC) -> List[Path]:
    files = sorted(p for p in source.glob("*.gz"))
    folder.mkdir(parents=True, exist_ok=True)
    made = []
    for number in range(copies):
        for path in files:
            link = folder / f"copy{number:05d}-{path.name}"
            if not link.exists():
                link.symlink_to(path.resolve())
            made.append(link)
    return made


def process_kind(pid: int, driver: int) -> Optional[str]:
    """driver, gcs_server, raylet, a Ray worker by its title (``ray::IDLE`` and task titles are one kind:
    ``ray worker``), an actor by its class, or the helper's name."""
    if pid == driver:
        return "driver"
    try:
        words = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return None
    title = words[0].decode(errors="ignore")
    if title.startswith("ray::"):
        name = title[5:].split("(")[0].split(".")[0]
        return "ray worker" if name in ("IDLE", "MapBatches", "") or "->" in title else f"actor {name}"
    line = b" ".join(words).decode(errors="ignore")
    for kind in ("gcs_server", "raylet", "dashboard", "log_monitor", "runtime_env", "monitor.py"):
        if kind in line:
            return kind
    return os.path.basename(title) or None


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def folder_bytes(folder: Path) -> int:
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                total += path.stat().st_size
        except OSError:
            pass
    return total


def run_load(copies: int, chunk_files: int, out: Path, interval: float = 1.0, num_cpus: int = 2) -> dict:
    out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="load-", dir=os.environ.get("TMPDIR", "/tmp")))
    inputs = link_copies(work / "in", copies)
    ray_tmp = Path(tempfile.mkdtemp(prefix="rl", dir="/tmp"))
    output = work / "out"
    chunks = -(-len(inputs) // chunk_files)
    env = dict(os.environ, RAY_TMPDIR=str(ray_tmp), RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1")
    command = [sys.executable, str(ROOT / "pipelines" / "curate_cc.py"), "--input", str(work / "in"),
               "--output", str(output), "--num-cpus", str(num_cpus), "--chunk-files", str(chunk_files)]
    samples: List[dict] = []
    started = time.time()
    log = open(out / "driver.log", "w")
    driver = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT)
    try:
        while driver.poll() is None:
            done = len(list((output / "_chunks").glob("*/_SUCCESS"))) if (output / "_chunks").is_dir() else 0
            spilled = sum(folder_bytes(p) for p in ray_tmp.rglob("ray_spilled_objects*") if p.is_dir())
            moment = time.time() - started
            for pid in [driver.pid, *descendants(driver.pid)]:
                kind = process_kind(pid, driver.pid)
                rss = rss_bytes(pid)
                if kind and rss:
                    samples.append({"t": round(moment, 2), "pid": pid, "kind": kind, "rss": rss, "chunks": done,
                                    "spilled": spilled})
            time.sleep(interval)
    finally:
        if driver.poll() is None:
            driver.kill()
        driver.wait()
        log.close()
    seconds = time.time() - started
    summary = summarize(samples, chunks)
    summary.update(copies=copies, files=len(inputs), chunks=chunks, documents=copies * documents_per_copy(),
                   seconds=round(seconds, 1), exit_code=driver.returncode,
                   stats=json.loads((output / "stats.json").read_text()) if (output / "stats.json").exists() else None)
    with open(out / "samples.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["t", "pid", "kind", "rss", "chunks", "spilled"])
        writer.writeheader()
        writer.writerows(samples)
    (out / "rss.svg").write_text(svg_plot(samples))
    (out / "summary.json").write_text(json.dumps({k: v for k, v in summary.items() if k != "stats"}, indent=1))
    import shutil

    shutil.rmtree(work, ignore_errors=True)
    shutil.rmtree(ray_tmp, ignore_errors=True)
    return summary


def summarize(samples: List[dict], chunks: int) -> dict:
    """Per process kind: peak RSS (MB, the largest single process of the kind) and growth after warm-up: the
    largest RSS a process of the kind reached after a quarter of the chunks minus its largest before, over the
    processes alive in both; the driver's RSS slope per chunk after warm-up; the most bytes spilled."""
    warm = max(1, chunks // 4)
    peak: Dict[str, int] = defaultdict(int)
    before: Dict[int, int] = defaultdict(int)
    after: Dict[int, int] = defaultdict(int)
    kinds: Dict[int, str] = {}
    for sample in samples:
        peak[sample["kind"]] = max(peak[sample["kind"]], sample["rss"])
        kinds[sample["pid"]] = sample["kind"]
        side = before if sample["chunks"] < warm else after
        side[sample["pid"]] = max(side[sample["pid"]], sample["rss"])
    growth: Dict[str, int] = defaultdict(int)
    for pid in set(before) & set(after):
        growth[kinds[pid]] = max(growth[kinds[pid]], after[pid] - before[pid])
    driver = [(s["chunks"], s["rss"]) for s in samples if s["kind"] == "driver" and s["chunks"] >= warm]
    slope = 0.0
    if len({c for c, _ in driver}) >= 2:
        mean_c = sum(c for c, _ in driver) / len(driver)
        mean_r = sum(r for _, r in driver) / len(driver)
        slope = sum((c - mean_c) * (r - mean_r) for c, r in driver) / max(1e-9, sum((c - mean_c) ** 2 for c, _ in driver))
    mb = 1 << 20
    return {"peak_rss_mb": {k: round(v / mb, 1) for k, v in sorted(peak.items())},
            "growth_after_warmup_mb": {k: round(v / mb, 1) for k, v in sorted(growth.items())},
            "driver_kb_per_chunk": round(slope / 1024, 1),
            "spilled_mb": round(max((s["spilled"] for s in samples), default=0) / mb, 1),
            "samples": len(samples)}


def svg_plot(samples: List[dict], width: int = 900, height: int = 420) -> str:
    """RSS over time, one line per process kind (the sum over its processes at each sample)."""
    series: Dict[str, Dict[float, int]] = defaultdict(lambda: defaultdict(int))
    for sample in samples:
        series[sample["kind"]][sample["t"]] += sample["rss"]
    if not series:
        return "<svg xmlns='http://www.w3.org/2000/svg'/>"
    t_max = max(max(points) for points in series.values()) or 1.0
    r_max = max(max(points.values()) for points in series.values()) or 1
    colors = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22"]
    left, bottom = 60, 30
    parts = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' font-family='sans-serif' "
             f"font-size='11'>", f"<text x='{left}' y='14'>RSS (MB) over time (s); peak {r_max / (1 << 20):.0f} MB, "
             f"{t_max:.0f} s</text>"]
    for number, (kind, points) in enumerate(sorted(series.items())):
        xy = " ".join(f"{left + (t / t_max) * (width - left - 180):.1f},"
                      f"{height - bottom - (r / r_max) * (height - bottom - 30):.1f}" for t, r in sorted(points.items()))
        color = colors[number % len(colors)]
        parts.append(f"<polyline fill='none' stroke='{color}' stroke-width='1.5' points='{xy}'/>")
        parts.append(f"<text x='{width - 170}' y='{40 + 14 * number}' fill='{color}'>{kind}</text>")
    parts.append(f"<line x1='{left}' y1='{height - bottom}' x2='{width - 180}' y2='{height - bottom}' stroke='black'/>")
    parts.append(f"<line x1='{left}' y1='30' x2='{left}' y2='{height - bottom}' stroke='black'/>")
    parts.append("</svg>")
    return "\n".join(parts)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--copies", type=int, default=446, help="copies of the shared WARCs (446: ~100k documents)")
    parser.add_argument("--chunk-files", type=int, default=14, help="input files per chunk")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between memory samples")
    parser.add_argument("--out", default=str(ROOT / "bench" / "results" / "load"))
    args = parser.parse_args(argv)
    summary = run_load(args.copies, args.chunk_files, Path(args.out), args.interval)
    stats = summary.pop("stats") or {}
    reader = next((op for op in stats.get("operators", []) if op["name"] == "warc_reader"), {})
    print(json.dumps(summary, indent=1))
    print(f"records read {reader.get('docs_in')}, documents out of the reader {reader.get('docs_out')}, "
          f"kept {sum(stats.get('kept_per_language', {}).values())}; plot {args.out}/rss.svg")
    return 0 if summary["exit_code"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
