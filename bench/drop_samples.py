"""What sampling the dropped documents costs: the whole curation in-process on the shared WARCs with
``drops.per_key`` 20 (the default) against 0 (off), in one run (issue 19: at most 3 % of docs/s).

    .venv/bin/python -m bench.drop_samples                 # 5 copies of the shared files, 3 rounds each
    .venv/bin/python -m bench.drop_samples --repeat 10 --rounds 5

Each round curates the same files into a fresh folder, once with sampling and once without, in alternating
order; CPU time of this process (``time.process_time``), each setting's best round counts. Memory: the peak of
Python's allocations (``tracemalloc``) in one more pass of each setting, and the size of the sample itself
(``_drops/drops.parquet`` on disk and as an Arrow table).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from typing import List, Optional

os.environ.setdefault("OMP_NUM_THREADS", "1")

from bench.curate import DEFAULT_DATA, replicate, shared_files
from operators.drop_samples import DropSampling
from pipelines.web.config import load_config
from pipelines.web.curate import curate

TARGET = 0.03


def _run(files: List[str], per_key: int, folder: str) -> tuple:
    config = load_config(None)
    config.drops = DropSampling(per_key=per_key)
    config.output.chunk_files = 1_000_000   # one chunk: the per-run costs once
    started = time.process_time()
    stats = curate(config, files, folder, in_process=True)
    return time.process_time() - started, stats.operators[0].docs_out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="copies of the shared files")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    args = parser.parse_args(argv)
    files = shared_files(Path(args.data))
    if not files:
        print(f"no WARC files in {args.data}", file=sys.stderr)
        return 2
    import pyarrow.parquet as pq

    with tempfile.TemporaryDirectory(prefix="bench-drops-") as tmp:
        inputs = replicate(files, args.repeat, os.path.join(tmp, "in"))
        _run(inputs[:2], 20, os.path.join(tmp, "warm"))  # imports and models, not timed
        cpu = {20: [], 0: []}
        docs = 0
        for index in range(args.rounds):
            for per_key in ((20, 0) if index % 2 == 0 else (0, 20)):
                seconds, docs = _run(inputs, per_key, os.path.join(tmp, f"r{index}-{per_key}"))
                cpu[per_key].append(seconds)
        peaks = {}
        for per_key in (0, 20):
            tracemalloc.start()
            _run(inputs, per_key, os.path.join(tmp, f"mem-{per_key}"))
            peaks[per_key] = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        sample = Path(tmp, "mem-20", "_drops", "drops.parquet")
        table = pq.read_table(sample)
        best = {per_key: min(values) for per_key, values in cpu.items()}
        rate = {per_key: docs / seconds for per_key, seconds in best.items()}
        cost = 1 - rate[20] / rate[0]
        print(f"{len(inputs)} files ({args.repeat} copies of {len(files)}), {docs} documents read per run, "
              f"{args.rounds} rounds")
        print(f"{'setting':<28}{'best CPU s':>12}{'rounds CPU s':>36}{'docs/s/core':>14}{'peak Python MB':>16}")
        for per_key, label in ((0, "drops.per_key 0 (off)"), (20, "drops.per_key 20 (default)")):
            rounds = " ".join(f"{value:.2f}" for value in cpu[per_key])
            print(f"{label:<28}{best[per_key]:>12.2f}{rounds:>36}{rate[per_key]:>14.1f}"
                  f"{peaks[per_key] / 2**20:>16.1f}")
        print(f"sample: {table.num_rows} documents, {sample.stat().st_size / 2**10:.0f} KiB on disk, "
              f"{table.nbytes / 2**20:.2f} MiB in memory")
        verdict = "met" if cost <= TARGET else "MISSED"
        print(f"docs/s cost of sampling: {cost:+.1%} (target <= {TARGET:.0%}: {verdict})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
