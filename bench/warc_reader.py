"""WARC reader throughput: warcio alone against the default backend (FastWARC, checked, warcio where needed).

    .venv/bin/python -m bench.warc_reader                    # ~1 min
    .venv/bin/python -m bench.warc_reader --repeat 10 --rounds 5

Inputs: the shared WARC/WET files (``shared/data/warc/*.warc.gz``, ``*.wet.gz``, as ``bench.curate`` picks them)
copied ``--repeat`` times under distinct names into a temporary folder (30 copies: about 6 CPU seconds per
pass with warcio here). Both backends read every copy with ``WarcReader(WarcReaderConfig(backend=...)).read``
in this process, one thread, batches and Arrow tables included, i.e. what the pipeline's first step costs.

* CPU seconds by ``time.process_time()``; docs/s per core = documents emitted / CPU seconds, records/s per core =
  rows emitted (records read, the reader's docs_in) / CPU seconds.
* ``--rounds`` rounds. Within a round the backends take turns copy by copy (one copy of the shared files each,
  going first in turn), because this shared machine's speed drifts within seconds even when it is idle (the same
  pass varies by 20 % and more); each round sums each backend's copies. The figures are each backend's best round
  (least CPU); the medians and every round are in the JSON, with the CPU other people's processes took meanwhile
  (``others_cpu_s``). The ratios are warcio's CPU seconds over auto's, the same work.
* One more pass per backend, untimed in the figures above, charges ``html_decoding.decode_html`` (a separate
  point of the issue) with its own CPU time, to show its share.
* Both backends must give the same counts (documents, records, reasons); the auto rounds also count the files
  FastWARC handed to warcio (its log line).
* Where the time goes (``--skip-breakdown`` leaves it out): the parts timed alone over the same files, taking
  turns copy by copy, best of ``--rounds``: Python's zlib inflating every gzip member (warcio's decompressor);
  warcio's ArchiveIterator with each block read through ``content_stream()`` (inflate + WARC and HTTP headers
  + content decoding); FastWARC's ArchiveIterator with each block read (its Rust inflate + split);
  ``warc_fastwarc.records`` (that plus the checks and warcio's header and HTTP-block semantics). What is left
  of a reader pass after its split and decode_html is the rows, the reasons and the Arrow batches.

Results go to ``bench/results/warc_reader-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import collections
import datetime as _dt
import io
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Callable, Dict, List

from bench.cpu_meter import MachineCpu
from bench.curate import DEFAULT_DATA, replicate, shared_files
from bench.curate_measures import machine_fields
from bench.report import save_report
from operators.web import warc_reader
from operators.web.warc_reader import WarcReader, WarcReaderConfig

BACKENDS = ("warcio", "auto")


class _Handovers(logging.Handler):
    """Counts the files the auto backend hands to warcio (warc_reader logs one line each)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.files: collections.Counter = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        if record.msg.startswith("warcio reads %s"):
            self.files[os.path.basename(str(record.args[0])).split("_", 1)[-1]] += 1


def read_all(files: List[str], backend: str) -> Dict[str, object]:
    """Read every file; CPU and wall seconds, documents, records and reasons."""
    reasons: collections.Counter = collections.Counter()
    records = 0
    with MachineCpu() as machine:
        wall, cpu = time.perf_counter(), time.process_time()
        for path in files:
            for outcome in WarcReader(WarcReaderConfig(backend=backend)).read(path):
                records += outcome.table.num_rows
                reasons.update(reason for reason in outcome.reasons if reason is not None)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    docs = records - sum(reasons.values())
    return {"backend": backend, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "docs": docs, "records": records,
            "reasons": dict(sorted(reasons.items())), **machine_fields(machine, cpu)}


def interleaved_round(copies: List[List[str]]) -> Dict[str, dict]:
    """Both backends over every copy of the shared files, copy by copy, taking turns at going first: the machine
    drifts within seconds, so both see the same conditions. Per backend, the sums over the copies."""
    totals: Dict[str, dict] = {}
    for number, files in enumerate(copies):
        for backend in (BACKENDS if number % 2 == 0 else BACKENDS[::-1]):
            run = read_all(files, backend)
            total = totals.setdefault(backend, {"backend": backend, "reasons": collections.Counter()})
            for key, value in run.items():
                if key == "reasons":
                    total["reasons"].update(value)
                elif isinstance(value, (int, float)) and not isinstance(value, bool):
                    total[key] = round(total.get(key, 0) + value, 3)
    for total in totals.values():
        total["reasons"] = dict(sorted(total["reasons"].items()))
    return totals


def decode_share(files: List[str], backend: str) -> Dict[str, float]:
    """CPU seconds of one pass, and of decode_html within it (the reader calls it once per document)."""
    spent = [0.0]
    original = warc_reader.decode_html

    def timed(data, content_type=None):
        started = time.process_time()
        try:
            return original(data, content_type)
        finally:
            spent[0] += time.process_time() - started

    warc_reader.decode_html = timed
    try:
        run = read_all(files, backend)
    finally:
        warc_reader.decode_html = original
    return {"cpu_s": run["cpu_s"], "decode_html_cpu_s": round(spent[0], 3),
            "decode_html_share": round(spent[0] / run["cpu_s"], 3)}


def _inflate(data: bytes) -> None:
    """Every gzip member, fed in 16 KiB blocks as warcio's reader feeds them."""
    member = zlib.decompressobj(16 + zlib.MAX_WBITS)
    for start in range(0, len(data), 16384):
        block = data[start:start + 16384]
        while block:
            member.decompress(block)
            block = member.unused_data if member.eof else b""
            if member.eof:
                member = zlib.decompressobj(16 + zlib.MAX_WBITS)


def _warcio_split(data: bytes) -> None:
    from warcio.archiveiterator import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data), check_digests=False):
        record.content_stream().read()


def _fastwarc_split(data: bytes) -> None:
    from fastwarc.warc import ArchiveIterator

    for record in ArchiveIterator(io.BytesIO(data), parse_http=False):
        record.reader.read()


def _checked_split(data: bytes) -> None:
    from operators.web import warc_fastwarc

    try:
        for _, record in warc_fastwarc.records(io.BytesIO(data), warc_reader._DOCUMENT_TYPES):
            if record is not None:
                record.content_stream().read()
    except warc_fastwarc.Fallback:
        pass  # the file warcio reads: counted in the reader pass, not here


# Parts of a reader pass, each timed alone (see the module docstring).
PARTS: Dict[str, Callable[[bytes], None]] = {
    "python zlib inflate (warcio's)": _inflate,
    "warcio ArchiveIterator + content_stream": _warcio_split,
    "FastWARC ArchiveIterator + block read": _fastwarc_split,
    "warc_fastwarc.records (+ checks, warcio semantics)": _checked_split,
}


def breakdown(copies: List[List[str]], rounds: int) -> Dict[str, float]:
    """Best round's CPU seconds of each part over every copy (read into memory first: no file reads timed), the
    parts taking turns copy by copy as the backends do."""
    payloads = [[Path(path).read_bytes() for path in files] for files in copies]
    best: Dict[str, float] = {}
    for _ in range(rounds):
        spent = dict.fromkeys(PARTS, 0.0)
        for data_of_copy in payloads:
            for name, part in PARTS.items():
                started = time.process_time()
                for data in data_of_copy:
                    try:
                        part(data)
                    except Exception:  # noqa: BLE001 - a file one parser refuses (warcio: the single-member WET)
                        pass
                spent[name] += time.process_time() - started
        best = {name: round(min(seconds, best.get(name, seconds)), 3) for name, seconds in spent.items()}
    return best


def rates(run: dict, input_mb: float) -> dict:
    return {**run, "docs_per_core_s": round(run["docs"] / run["cpu_s"]),
            "records_per_core_s": round(run["records"] / run["cpu_s"]),
            "mb_per_core_s": round(input_mb / run["cpu_s"], 2)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="folder of the shared WARC/WET files")
    parser.add_argument("--repeat", type=int, default=30, help="copies of the shared files")
    parser.add_argument("--rounds", type=int, default=3, help="timed rounds, the backends taking turns")
    parser.add_argument("--skip-breakdown", action="store_true", help="do not time the parts alone")
    args = parser.parse_args(argv)
    if args.repeat <= 0 or args.rounds <= 0:
        parser.error("--repeat and --rounds must be positive")
    handovers = _Handovers()
    reader_log = logging.getLogger(warc_reader.__name__)
    reader_log.addHandler(handovers)
    reader_log.setLevel(logging.INFO)
    reader_log.propagate = False  # counted, not printed

    sources = shared_files(Path(args.data))
    if not sources:
        parser.error(f"no *.warc.gz / *.wet.gz in {args.data}")
    report: dict = {
        "started": _dt.datetime.now().isoformat(timespec="seconds"),
        "command": " ".join([".venv/bin/python -m bench.warc_reader", *(argv if argv is not None else sys.argv[1:])]),
        "machine": {"python": platform.python_version(), "cpus": os.cpu_count(), "processor": platform.processor()},
        "code": _git_head(),
    }
    with tempfile.TemporaryDirectory(prefix="bench-warc-reader-") as work:
        files = replicate(sources, args.repeat, work)
        input_mb = sum(os.path.getsize(f) for f in files) / 1e6
        report["inputs"] = {"source_files": len(sources), "repeat": args.repeat, "files": len(files),
                            "mb": round(input_mb, 1)}
        print(f"{len(files)} files ({len(sources)} x {args.repeat}), {input_mb:.1f} MB", flush=True)
        for backend in BACKENDS:  # warm-up: imports, page cache, the decoders' first calls
            read_all(files[:len(sources)], backend)
        handovers.files.clear()
        runs: Dict[str, list] = {backend: [] for backend in BACKENDS}
        # replicate() names the copies rep000_..., rep001_...: sorted, each copy's files are together.
        copies = [files[start:start + len(sources)] for start in range(0, len(files), len(sources))]
        for number in range(args.rounds):
            for backend, run in interleaved_round(copies).items():
                run = rates(run, input_mb)
                runs[backend].append(run)
                print(f"round {number + 1} {backend:>6}: {run['cpu_s']:6.2f} CPU s, "
                      f"{run['docs_per_core_s']:5d} docs/s, {run['records_per_core_s']:5d} records/s per core "
                      f"(others: {run.get('others_cpu_s') or 0:.1f} CPU s)", flush=True)
        handed = {name: n // args.rounds for name, n in sorted(handovers.files.items())}
        report["decode_html"] = {backend: decode_share(files, backend) for backend in BACKENDS}
        if not args.skip_breakdown:
            report["parts_cpu_s"] = breakdown(copies, args.rounds)
    counts = {backend: {key: runs[backend][0][key] for key in ("docs", "records", "reasons")} for backend in BACKENDS}
    if counts["warcio"] != counts["auto"]:
        print(f"COUNTS DIFFER: {counts}")
        report["counts_differ"] = counts
    best = {backend: min(runs[backend], key=lambda run: run["cpu_s"]) for backend in BACKENDS}
    report["runs"] = runs
    report["best"] = best
    report["median_cpu_s"] = {backend: statistics.median(run["cpu_s"] for run in runs[backend]) for backend in BACKENDS}
    report["ratio_auto_over_warcio"] = round(best["warcio"]["cpu_s"] / best["auto"]["cpu_s"], 2)
    report["ratio_median"] = round(report["median_cpu_s"]["warcio"] / report["median_cpu_s"]["auto"], 2)
    report["handed_to_warcio_per_round"] = handed

    print(f"\n{'backend':<8}{'CPU s':>8}{'docs':>8}{'records':>9}{'docs/s/core':>13}{'records/s/core':>16}"
          f"{'MB/s/core':>11}{'decode_html':>13}")
    for backend in BACKENDS:
        run, share = best[backend], report["decode_html"][backend]["decode_html_share"]
        print(f"{backend:<8}{run['cpu_s']:>8.2f}{run['docs']:>8}{run['records']:>9}{run['docs_per_core_s']:>13}"
              f"{run['records_per_core_s']:>16}{run['mb_per_core_s']:>11}{share:>12.0%}")
    if "parts_cpu_s" in report:
        print("\nparts timed alone, CPU s:")
        for name, seconds in report["parts_cpu_s"].items():
            print(f"  {name:<52}{seconds:>7.2f}")
        for backend in BACKENDS:
            label = f"decode_html, in a {backend} pass"
            print(f"  {label:<52}{report['decode_html'][backend]['decode_html_cpu_s']:>7.2f}")
    print(f"auto / warcio: {report['ratio_auto_over_warcio']}x (best rounds), {report['ratio_median']}x (medians); "
          f"copies handed to warcio per round: {report['handed_to_warcio_per_round'] or 'none'}")
    save_report("warc_reader", report)
    return 0


def _git_head() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, timeout=10,
                              cwd=Path(__file__).resolve().parent).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain"], capture_output=True, text=True, timeout=10,
                               cwd=Path(__file__).resolve().parent).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return f"{head}{' + uncommitted changes' if dirty else ''}"


if __name__ == "__main__":
    sys.exit(main())
