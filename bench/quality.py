"""Throughput of our heuristic quality filters against datatrove's, on the same documents in one run.

    .venv/bin/python -m bench.quality                      # all 29 languages, ~4 min
    .venv/bin/python -m bench.quality --langs en,de,zh --repeat 3

Documents: NTREX-128 news articles and Leipzig web sentences (ten per document) of every language, built
by ``pipelines/reference_documents.py`` from ``--data`` (``<repo>/../shared/data`` or $MARCO_SHARED_DATA),
repeated ``--repeat`` times (default: enough copies for ``--min-docs``, 5,000).

(a) ours: ``operators.web.quality_filter.QualityFilter`` with its default config (every signal, the shipped
    per-language thresholds), in this process, over batches of ``--batch-size`` documents. Measured
    twice, before and after datatrove, because the shared machine's speed drifts; the figure is the
    sum of both.
(b) datatrove 0.10.1 in ``bench/.venv-datatrove``: GopherRepetitionFilter -> GopherQualityFilter ->
    C4QualityFilter -> FineWebQualityFilter with default parameters and each document's language where
    datatrove has a tokenizer for it (``bench/quality_datatrove_run.py``), one process, each document
    stopping at the first filter that drops it. Then, for the full cost, all four on every document.

Both sides warm up on one document per language first (char tables, ICU, spaCy, jieba, Sudachi, Kiwi)
and time only the loop over the documents. docs/s per core = docs / CPU seconds of that loop
(``time.process_time``; one thread each). Results go to ``bench/results/quality-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import pyarrow as pa

from bench import datatrove_anchor
from bench.cpu_meter import MachineCpu
from common.languages import FLORES_CODES, TARGET_LANGUAGES
from operators.web.quality_filter import QualityConfig, QualityFilter
from pipelines.tools.reference_documents import documents

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))
RESULTS_DIR = BENCH_DIR / "results"
RUNNER = BENCH_DIR / "quality_datatrove_run.py"
CORPORA = ("ntrex", "leipzig")
TARGET_RATIO = 2.0

Doc = Tuple[str, str]  # (text, lang)


def load_documents(data: Path, langs: Sequence[str]) -> Tuple[List[Doc], Dict[str, int]]:
    """The reference documents of ``langs`` in language order, and how many each corpus gave."""
    docs: List[Doc] = []
    per_corpus: Counter = Counter()
    for lang in langs:
        for corpus in CORPORA:
            texts = documents(corpus, str(data), lang)
            docs.extend((text, lang) for text in texts)
            per_corpus[corpus] += len(texts)
    return docs, dict(per_corpus)


def first_per_language(docs: Sequence[Doc]) -> List[Doc]:
    seen: Dict[str, Doc] = {}
    for doc in docs:
        seen.setdefault(doc[1], doc)
    return list(seen.values())


def _table(docs: Sequence[Doc]) -> pa.Table:
    return pa.table({"text": [text for text, _ in docs], "lang": [lang for _, lang in docs]})


def measure_ours(docs: Sequence[Doc], batch_size: int) -> dict:
    """One timed pass of QualityFilter over ``docs`` (after a warm-up batch of one doc per language)."""
    quality = QualityFilter(QualityConfig())
    quality.setup()
    quality.process(_table(first_per_language(docs)))  # char table, ICU, word lists, thresholds
    reasons: Counter = Counter()
    kept_by_lang: Counter = Counter()
    with MachineCpu() as machine:
        cpu_start, wall_start = time.process_time(), time.perf_counter()
        for start in range(0, len(docs), batch_size):
            batch = docs[start:start + batch_size]
            outcome = quality.process(_table(batch))
            for (_, lang), reason in zip(batch, outcome.reasons):
                if reason is None:
                    kept_by_lang[lang] += 1
                else:
                    reasons[reason] += 1
        cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start
    return {"docs": len(docs), "cpu_s": cpu_s, "wall_s": wall_s, "kept": sum(kept_by_lang.values()),
            "kept_by_lang": dict(kept_by_lang), "drops": dict(reasons.most_common()),
            "others_cpu_s": _others(machine, cpu_s)}


def _others(machine: MachineCpu, own_cpu_s: float) -> Optional[float]:
    """CPU seconds the rest of the machine used while we measured (other people's load)."""
    return None if machine.busy_s is None else round(max(0.0, machine.busy_s - own_cpu_s), 1)


def _datatrove_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1"})
    return env


def write_jsonl(docs: Sequence[Doc], path: str) -> None:
    """Input of the datatrove runner: our language label plus its FLORES code (datatrove's naming)."""
    with open(path, "w", encoding="utf-8") as handle:
        for text, lang in docs:
            handle.write(json.dumps({"text": text, "lang": lang, "code": FLORES_CODES[lang]},
                                    ensure_ascii=False) + "\n")


def measure_datatrove(python: Path, jsonl: str, workdir: str, all_filters: bool,
                      timeout_s: float = 3600) -> dict:
    """One run of the datatrove runner; its JSON plus the whole subprocess's CPU and others' load."""
    cmd = [str(python), str(RUNNER), "--input", jsonl] + (["--all-filters"] if all_filters else [])
    log_path = os.path.join(workdir, f"datatrove{'-all' if all_filters else ''}.log")
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log_path, "w", encoding="utf-8") as log_file, MachineCpu() as machine:
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=log_file, text=True, env=_datatrove_env(),
                              cwd=workdir, timeout=timeout_s)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            tail = "\n".join(handle.read().splitlines()[-20:])
        raise RuntimeError(f"{RUNNER.name} failed with exit code {proc.returncode}:\n{tail}")
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    result = json.loads(lines[-1])
    process_cpu_s = sum(getattr(children_after, f) - getattr(children_before, f) for f in ("ru_utime", "ru_stime"))
    result["process_cpu_s"] = round(process_cpu_s, 2)  # start-up, imports and warm-up included
    result["others_cpu_s"] = _others(machine, process_cpu_s)
    return result


def per_core(run: dict) -> float:
    return run["docs"] / run["cpu_s"] if run["cpu_s"] else float("nan")


def combine(runs: Sequence[dict]) -> dict:
    """Our measurements added up (docs, CPU and wall seconds)."""
    return {key: sum(run[key] for run in runs) for key in ("docs", "cpu_s", "wall_s", "kept")}


def report(results: dict) -> None:
    docs = results["documents"]
    print(f"\ndocuments: {docs['count']} ({len(docs['langs'])} languages; per copy "
          f"{', '.join(f'{c} {n}' for c, n in docs['per_corpus'].items())}; repeat {docs['repeat']}; "
          f"{docs['chars'] / 1e6:.1f} M characters)")
    print(f"{'measurement':<44}{'docs':>7}{'CPU s':>8}{'wall s':>8}{'docs/s/core':>13}{'kept':>8}{'others s':>10}")
    for label, run in results["rows"]:
        others = "" if run.get("others_cpu_s") is None else f"{run['others_cpu_s']:.1f}"
        print(f"{label:<44}{run['docs']:>7}{run['cpu_s']:>8.2f}{run['wall_s']:>8.2f}{per_core(run):>13.1f}"
              f"{100 * run['kept'] / run['docs']:>7.1f}%{others:>10}")
    for key, value in results.get("ratios", {}).items():
        print(f"ratio ours / {key}: {value:.2f}x (target >= {TARGET_RATIO:g}x)")
    if "datatrove" in results:
        first = results["datatrove"]["first_fail"]
        print("datatrove drops, by the first filter that dropped:",
              ", ".join(f"{k} {v}" for k, v in first["per_filter_drops"].items()) or "none")
        print("datatrove seconds inside each filter (stop at first drop):",
              ", ".join(f"{k} {v:.1f}" for k, v in first["per_filter_s"].items()))
        ms_per_doc = {lang: 1e3 * secs / docs["per_lang"][lang] for lang, secs in first["seconds_by_lang"].items()}
        slowest = sorted(ms_per_doc.items(), key=lambda kv: -kv[1])[:6]
        print("datatrove ms per document, slowest languages:", ", ".join(f"{k} {v:.1f}" for k, v in slowest))
        fallbacks = first["fallback_langs"]
        print("datatrove languages on the English tokenizer:",
              "; ".join(f"{lang} ({', '.join(f'{cap}: {why}' for cap, why in caps.items())})"
                        for lang, caps in fallbacks.items()) or "none")
    if "datatrove_error" in results:
        print(f"datatrove not measured: {results['datatrove_error']}")


def git_state() -> dict:
    """The commit measured, and which files of the filter (operators/, configs/) differ from it."""
    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"commit": git("rev-parse", "--short", "HEAD"),
            "modified": git("status", "--porcelain", "--", "operators", "configs").splitlines()}


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the shared data folder (default: %(default)s)")
    parser.add_argument("--langs", help="comma-separated ISO 639-1 codes (default: the 29 target languages)")
    parser.add_argument("--repeat", type=int, help="copies of the document set (default: enough for --min-docs)")
    parser.add_argument("--min-docs", type=int, default=5000)
    parser.add_argument("--batch-size", type=int, default=256, help="documents per QualityFilter.process call")
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--skip-all-filters", action="store_true",
                        help="skip the second datatrove run (all four filters on every document)")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    langs = args.langs.split(",") if args.langs else list(TARGET_LANGUAGES)
    unknown = [lang for lang in langs if lang not in FLORES_CODES]
    if unknown:
        print(f"error: unknown language(s) {', '.join(unknown)} (known: {', '.join(TARGET_LANGUAGES)})")
        return 2
    base, per_corpus = load_documents(args.data, langs)
    if not base:
        print(f"error: no documents under {args.data} (set --data or MARCO_SHARED_DATA)")
        return 2
    repeat = args.repeat or max(1, math.ceil(args.min_docs / len(base)))
    docs = base * repeat
    started = _dt.datetime.now()
    results: dict = {
        "started": started.isoformat(timespec="seconds"), "command": " ".join([sys.executable] + sys.argv),
        "host": platform.node(), "cpus": os.cpu_count(), "python": platform.python_version(), "git": git_state(),
        "documents": {"count": len(docs), "langs": langs, "per_corpus": per_corpus, "repeat": repeat,
                      "chars": sum(len(text) for text, _ in docs),
                      "per_lang": dict(Counter(lang for _, lang in docs))},
    }
    print(f"{len(docs)} documents ({len(base)} x {repeat}); timing ours...", flush=True)
    ours = [measure_ours(docs, args.batch_size)]
    rows: List[Tuple[str, dict]] = [("ours: QualityFilter, run 1", ours[0])]

    if not args.skip_datatrove:
        try:
            python = datatrove_anchor.ensure_venv(log=lambda msg: print(msg, flush=True))
        except datatrove_anchor.AnchorUnavailable as exc:
            results["datatrove_error"] = str(exc)
        else:
            with tempfile.TemporaryDirectory(prefix="quality-bench-") as workdir:
                jsonl = os.path.join(workdir, "docs.jsonl")
                write_jsonl(docs, jsonl)
                try:
                    print("timing datatrove (stop at first drop)...", flush=True)
                    first = measure_datatrove(python, jsonl, workdir, all_filters=False)
                    print("timing ours again...", flush=True)
                    ours.append(measure_ours(docs, args.batch_size))
                    rows.append(("ours: QualityFilter, run 2", ours[1]))
                    results["datatrove"] = {"first_fail": first}
                    rows.append(("datatrove: 4 filters, stop at first drop", first))
                    if not args.skip_all_filters:
                        print("timing datatrove (all four filters on every document)...", flush=True)
                        every = measure_datatrove(python, jsonl, workdir, all_filters=True)
                        results["datatrove"]["all_filters"] = every
                        rows.append(("datatrove: 4 filters, all on every doc", every))
                except (RuntimeError, subprocess.TimeoutExpired) as exc:
                    results["datatrove_error"] = str(exc)

    total = combine(ours)
    if len(ours) > 1:
        rows.insert(len(ours), ("ours: QualityFilter, runs together", total))
    results["ours"] = {"runs": ours, "total": total}
    labels = {"first_fail": "datatrove (stop at first drop)", "all_filters": "datatrove (all filters)"}
    results["ratios"] = {labels[key]: per_core(total) / per_core(run)
                         for key, run in results.get("datatrove", {}).items()}
    results["rows"] = rows
    results["finished"] = _dt.datetime.now().isoformat(timespec="seconds")

    args.results_dir.mkdir(parents=True, exist_ok=True)
    path = args.results_dir / f"quality-{started.strftime('%Y%m%d-%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=1, ensure_ascii=False), encoding="utf-8")
    report(results)
    print(f"\nresults: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
