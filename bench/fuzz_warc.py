"""Long mode of the WARC fuzzing: damaged copies of the shared Common Crawl files through curate_cc end to end.

    .venv/bin/python -m bench.fuzz_warc [--mutants 1000] [--seed 20261207] [--huge-mb 50]

Writes ``--mutants`` seeded mutants (tests/fixtures/warc_mutations.py: byte flips, truncations, duplicated and
swapped gzip members, absurd Content-Length, records of ``--huge-mb`` MB, HTTP headers without bodies,
non-UTF-8 headers) to a folder, counts the rows the reader gives for each on its own, then runs curate_cc
in-process over the whole folder. Prints: files, rows the reader gave, the reader's ``docs_in`` in stats.json
(equal: every record accounted for), the fault reasons counted, the slowest file and the run's peak RSS. Exit 1
when a count differs or a whole record went missing. (``tests/operators/web/test_warc_fuzz.py`` is the short
mode: the same 1,000 mutants through the reader, 40 through curate_cc.)
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[1]


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--mutants", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=20261207)
    parser.add_argument("--huge-mb", type=int, default=50)
    args = parser.parse_args(argv)

    from operators.web.warc_reader import FAULT_REASONS, WarcReader, WarcReaderConfig
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate
    from tests.fixtures.warc_mutations import member_sources, mutants

    sources = member_sources(ROOT.parent / "shared" / "data" / "warc")
    work = Path(tempfile.mkdtemp(prefix="fuzz-warc-"))
    folder = work / "in"
    folder.mkdir()
    reader = WarcReader(WarcReaderConfig())
    rows, missing, slowest, kinds = 0, 0, (0.0, ""), Counter()
    for mutant in mutants(sources, args.mutants, args.seed, huge_bytes=args.huge_mb << 20):
        path = folder / mutant.name
        path.write_bytes(mutant.data)
        started = time.monotonic()
        ids = [i for outcome in reader.read(str(path)) for i in outcome.table.column("id").to_pylist()]
        slowest = max(slowest, (time.monotonic() - started, mutant.name))
        missing += len(set(mutant.intact) - set(ids))
        rows += len(ids)
        kinds[mutant.kind] += 1
    config = load_config(None)
    config.output.chunk_files = 50
    started = time.monotonic()
    stats = curate(config, [str(folder)], str(work / "out"), in_process=True)
    seconds = time.monotonic() - started
    reader_stats = stats.operators[0]
    faults = {reason: count for reason, count in reader_stats.dropped.items() if reason in FAULT_REASONS}
    report = {"mutants": args.mutants, "seed": args.seed, "kinds": dict(kinds), "reader_rows": rows,
              "stats_docs_in": reader_stats.docs_in, "whole_records_missing": missing, "faults": faults,
              "kept": sum(stats.kept_per_language.values()), "curate_seconds": round(seconds, 1),
              "slowest_file_s": round(slowest[0], 2), "slowest_file": slowest[1],
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}
    print(json.dumps(report, indent=1))
    shutil.rmtree(work, ignore_errors=True)
    return 0 if rows == reader_stats.docs_in and missing == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
