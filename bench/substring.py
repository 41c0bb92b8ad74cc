"""Exact-substring dedup speed and memory on real text: MB/s per stage and the peak memory of one run.

    .venv/bin/python -m bench.substring                  # >= 50 MB, about 3 min
    .venv/bin/python -m bench.substring --min-mb 10

Text: every NTREX-128, FLORES-200 dev and Leipzig document of the 29 languages
(``pipelines/reference_documents.py``), about 20 MB of UTF-8. To reach ``--min-mb`` it is copied; in
each copy one word in ``--edit-every`` (default 8) is replaced by another word of the same document,
so a copy repeats its original mostly in runs shorter than 50 tokens, as a near-duplicate page would.
(Unedited copies would make every token a duplicate; the edits keep the removed share realistic.)

The substring stage of ``pipelines/dedup.py`` then runs in a child process, in-process (no Ray), with
the default config: the Qwen2 tokenizer, 50-token spans, partitions per language. Reported: MB/s of
UTF-8 input per stage and in total (CPU seconds of one process = per core), the largest partition,
the share of characters removed, and the child's peak RSS. Results go to
``bench/results/substring-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import pyarrow as pa
import pyarrow.parquet as pq

from bench.report import save_report
from common.languages import TARGET_LANGUAGES
from common.words import word_spans

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))


def edited_copy(text: str, lang: str, every: int, rng: random.Random) -> str:
    spans = word_spans(text, lang)
    if len(spans) < 2:
        return text
    pieces, position = [], 0
    for index in range(rng.randrange(every), len(spans), every):
        start, end = spans[index]
        other = spans[rng.randrange(len(spans))]
        pieces += [text[position:start], text[other[0]:other[1]]]
        position = end
    pieces.append(text[position:])
    return "".join(pieces)


def write_input(data: Path, folder: Path, min_mb: float, every: int) -> dict:
    from pipelines.tools.reference_documents import documents

    rng = random.Random(0)
    originals = {lang: [d for corpus in ("ntrex", "flores", "leipzig") for d in documents(corpus, str(data), lang)]
                 for lang in TARGET_LANGUAGES}
    size = sum(len(d.encode()) for docs in originals.values() for d in docs)
    copies = max(1, -(-int(min_mb * 1e6) // size))
    total_bytes, total_docs = 0, 0
    for lang, docs in originals.items():
        (folder / lang).mkdir(parents=True)
        for copy in range(copies):
            texts = docs if copy == 0 else [edited_copy(d, lang, every, rng) for d in docs]
            total_bytes += sum(len(t.encode()) for t in texts)
            total_docs += len(texts)
            pq.write_table(pa.table({"id": [f"{lang}-{copy}-{i}" for i in range(len(texts))], "text": texts,
                                     "lang": [lang] * len(texts)}), folder / lang / f"part-{copy:04d}.parquet")
    return {"copies": copies, "documents": total_docs, "input_mb": round(total_bytes / 1e6, 2)}


def child(input_dir: str, work: str) -> int:
    """Run the substring stages one by one, timing each (CPU seconds of this process)."""
    from pipelines.global_dedup.substring_dedup import (
        FilterItem,
        FindItem,
        SubstringConfig,
        SubstringRun,
        TokenizeItem,
        filter_task,
        find_task,
        plan_partitions,
        tokenize_task,
    )
    from pipelines.runtime.shard_files import list_inputs

    config = SubstringConfig()
    inputs = list_inputs(input_dir)
    run = SubstringRun(inputs, input_dir, os.path.join(work, "out"), os.path.join(work, "substring"), config)
    seconds = {}
    started = time.process_time()
    tokenized = [tokenize_task(TokenizeItem(i, p, run.work, config.tokenizer)) for i, p in enumerate(inputs)]
    seconds["tokenize"] = time.process_time() - started
    partitions = plan_partitions(run, [r.tokens for r in tokenized])
    base = max(r.vocabulary for r in tokenized)
    started = time.process_time()
    found = [find_task(FindItem(p, run.work, config.min_tokens, base)) for p in partitions]
    seconds["find"] = time.process_time() - started
    started = time.process_time()
    filtered = [filter_task(FilterItem(i, p, run.work, run.output_root, run.relative(i), config.min_doc_tokens))
                for i, p in enumerate(inputs)]
    seconds["filter"] = time.process_time() - started
    removed = sum(c[3] for r in filtered for c in r.by_language.values())
    dropped = sum(c[0] - c[1] for r in filtered for c in r.by_language.values())
    print(json.dumps({"seconds": seconds, "partitions": len(partitions),
                      "largest_partition_tokens": max(r.tokens for r in found),
                      "tokens": sum(r.tokens for r in found), "removed_tokens": sum(r.removed_tokens for r in found),
                      "removed_characters": removed, "dropped_documents": dropped,
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--min-mb", type=float, default=50.0)
    parser.add_argument("--edit-every", type=int, default=8)
    parser.add_argument("--child", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(*args.child)
    with tempfile.TemporaryDirectory() as workdir:
        folder = Path(workdir) / "in"
        report = write_input(Path(args.data), folder, args.min_mb, args.edit_every)
        print(f"{report['input_mb']} MB in {report['documents']} documents ({report['copies']} copies)", flush=True)
        env = dict(os.environ, OMP_NUM_THREADS="1", RAYON_NUM_THREADS="1", TOKENIZERS_PARALLELISM="false")
        proc = subprocess.run([sys.executable, "-m", "bench.substring", "--child", str(folder), workdir], capture_output=True,
                              text=True, env=env, timeout=7200)
        if proc.returncode != 0:
            raise RuntimeError(f"child failed:\n{proc.stderr[-3000:]}")
        result = json.loads(proc.stdout.strip().splitlines()[-1])
    mb = report["input_mb"]
    report.update(result)
    report["peak_rss_gb"] = round(report.pop("peak_rss_kb") / 2**20, 3)
    report["mb_per_core_s"] = {stage: round(mb / s, 2) for stage, s in result["seconds"].items()}
    report["mb_per_core_s"]["total"] = round(mb / sum(result["seconds"].values()), 2)
    chars = report["removed_characters"]
    print("MB/s per core: " + ", ".join(f"{k} {v}" for k, v in report["mb_per_core_s"].items()))
    print(f"{report['partitions']} partitions, largest {report['largest_partition_tokens']} tokens; "
          f"{report['removed_tokens']} of {report['tokens']} tokens removed ({chars} characters), "
          f"{report['dropped_documents']} documents dropped; peak RSS {report['peak_rss_gb']} GB")
    save_report("substring", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
