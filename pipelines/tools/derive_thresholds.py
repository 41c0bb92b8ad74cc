"""Derive per-language quality thresholds from the signal distributions of curated documents.

    python pipelines/derive_thresholds.py --input CURATED_DIR --output thresholds.yaml
    python pipelines/curate_cc.py --config thresholds.yaml ...      # the output is a valid config

Input: a curated-output folder (``<lang>/*.parquet`` with ``text`` and ``lang``; ``q_*`` signal
columns are used when present, computed otherwise). For the most faithful distributions, curate with
``quality.mode: annotate`` so that no document was removed by the thresholds being replaced.

Per language, a deterministic sample of at most ``--sample`` documents (smallest SHA-1 of the id) is
taken; each rule's threshold is the fenced percentile of :func:`operators.web.quality_thresholds.derive`
(``P90 + 1.5 (P90 - P10)`` for upper bounds, ``P10 - 1.5 (P90 - P10)`` for lower bounds, clamped to the
rule's guard range). A language with fewer than ``--min-docs`` documents keeps the thresholds of the
``--base`` file (the shipped ones by default), or the built-in defaults if the base lacks it; the
output's ``provenance`` says which languages were derived and which fell back.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
from collections import defaultdict
from typing import Dict, List, Optional

import pyarrow.parquet as pq
import yaml

from common.config_check import ConfigError
from common.words import icu_version
from operators.web.quality_filter import (
    DEFAULT_BLOCKLIST_DIR,
    DEFAULT_STOP_WORDS_DIR,
    DEFAULT_THRESHOLDS_FILE,
    QualitySignals,
    load_thresholds_file,
    signal_column,
)
from operators.web.quality_signals import SIGNALS
from operators.web.quality_thresholds import FENCE, HIGH_PERCENTILE, LOW_PERCENTILE, RULES, default_thresholds, derive


def _sample_key(doc_id: str) -> str:
    return hashlib.sha1(doc_id.encode("utf-8")).hexdigest()


def read_documents(curated_dir: str) -> Dict[str, List[dict]]:
    """Rows per language of a curated-output folder (folders starting with '_' are skipped)."""
    per_language: Dict[str, List[dict]] = defaultdict(list)
    paths = sorted(glob.glob(os.path.join(curated_dir, "*", "*.parquet")))
    paths = [p for p in paths if not os.path.basename(os.path.dirname(p)).startswith("_")]
    for path in paths:
        table = pq.read_table(path)
        wanted = [c for c in ["id", "text", "lang"] + [signal_column(s) for s in SIGNALS] if c in table.column_names]
        for row in table.select(wanted).to_pylist():
            lang = row.get("lang") or os.path.basename(os.path.dirname(path))
            per_language[lang].append(row)
    return per_language


def already_filtered(curated_dir: str) -> bool:
    """True if the curation stats show documents dropped by the quality filter."""
    for path in glob.glob(os.path.join(curated_dir, "_chunks", "*", "stats.json")):
        with open(path, encoding="utf-8") as handle:
            for op in json.load(handle).get("operators", []):
                if op["name"] == "quality" and any(r.startswith("quality:") for r in op.get("dropped", {})):
                    return True
    return False


def signal_values(rows: List[dict], lang: str, signals: QualitySignals) -> Dict[str, List[float]]:
    values: Dict[str, List[float]] = {s: [] for s in SIGNALS}
    for row in rows:
        if all(row.get(signal_column(s)) is not None for s in SIGNALS):
            computed = {s: float(row[signal_column(s)]) for s in SIGNALS}
        else:
            computed = signals.compute(row["text"], lang)
        for s in SIGNALS:
            values[s].append(computed[s])
    return values


def _rounded(value: Optional[float]) -> Optional[float]:
    return None if value is None else float(f"{value:.4g}")


def derive_all(per_language: Dict[str, List[dict]], sample: int, min_docs: int,
               base: Dict[str, Dict[str, Optional[float]]], signals: QualitySignals) -> tuple:
    thresholds: Dict[str, Dict[str, Optional[float]]] = {"default": {k: _rounded(v) for k, v in default_thresholds().items()}}
    derived, fallback = {}, {}
    for lang in sorted(per_language):
        rows = sorted(per_language[lang], key=lambda r: _sample_key(str(r.get("id", r["text"]))))[:sample]
        if len(rows) < min_docs:
            fallback[lang] = len(rows)
            if lang in base:
                thresholds[lang] = {k: _rounded(v) for k, v in base[lang].items()}
            continue
        values = signal_values(rows, lang, signals)
        entry = {rule.key: _rounded(derive(rule, values[rule.signal])) for rule in RULES}
        if not signals.has_stop_words(lang):
            entry["min_stop_word_ratio"] = None
        thresholds[lang] = entry
        derived[lang] = len(rows)
    return thresholds, derived, fallback


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, nargs="+", help="curated-output folder(s)")
    parser.add_argument("--output", required=True, help="thresholds YAML to write")
    parser.add_argument("--sample", type=int, default=20_000, help="most documents per language")
    parser.add_argument("--min-docs", type=int, default=100, help="fewest documents to derive a language")
    parser.add_argument("--base", default=DEFAULT_THRESHOLDS_FILE,
                        help="thresholds for languages with too few documents ('' = built-in defaults)")
    parser.add_argument("--stop-words-dir", default=DEFAULT_STOP_WORDS_DIR)
    parser.add_argument("--blocklist-dir", default=DEFAULT_BLOCKLIST_DIR)
    args = parser.parse_args(argv)

    for folder in args.input:
        if not os.path.isdir(folder):
            raise SystemExit(f"--input: folder not found: {folder}")
    if args.sample <= 0 or args.min_docs <= 0:
        raise SystemExit("--sample and --min-docs must be positive")
    try:
        base = load_thresholds_file(args.base) if args.base else {}
    except ConfigError as exc:
        raise SystemExit(f"--base: {exc}") from None

    per_language: Dict[str, List[dict]] = defaultdict(list)
    for folder in args.input:
        for lang, rows in read_documents(folder).items():
            per_language[lang].extend(rows)
        if already_filtered(folder):
            print(f"warning: {folder} was curated with the quality filter on; its distributions are "
                  "truncated. Curate with quality.mode: annotate for a fresh derivation.", file=sys.stderr)
    if not per_language:
        raise SystemExit(f"--input: no <lang>/*.parquet documents under {' '.join(args.input)}")

    signals = QualitySignals(args.stop_words_dir, args.blocklist_dir)
    thresholds, derived, fallback = derive_all(per_language, args.sample, args.min_docs, base, signals)
    no_blocklist = sorted(lang for lang in per_language if signals.lists(lang).blocklist is None)
    provenance = {
        "tool": "pipelines/derive_thresholds.py",
        "input": list(args.input),
        "rule": (f"max = P{HIGH_PERCENTILE:g} + {FENCE} x (P{HIGH_PERCENTILE:g} - P{LOW_PERCENTILE:g}); "
                 f"min = P{LOW_PERCENTILE:g} - {FENCE} x (P{HIGH_PERCENTILE:g} - P{LOW_PERCENTILE:g}); "
                 "clamped to each rule's guard range (operators/web/quality_thresholds.py)"),
        "segmenter": f"ICU {icu_version()}",
        "derived_languages": derived,
        "fallback_languages": {lang: {"documents": n, "from": "base" if lang in base else "default"}
                               for lang, n in fallback.items()},
        "blocklist": {lang: "none" for lang in no_blocklist},
        "sample_per_language": args.sample,
        "min_docs": args.min_docs,
    }
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    with open(args.output, "w", encoding="utf-8") as out:
        out.write("# Quality-filter thresholds per language; loadable with curate_cc.py --config.\n")
        yaml.safe_dump({"quality": {"provenance": provenance, "thresholds": thresholds}}, out,
                       allow_unicode=True, sort_keys=False, width=120)
    print(f"derived {len(derived)} languages ({', '.join(f'{k}={v}' for k, v in derived.items())}); "
          f"fell back for {len(fallback)} ({', '.join(f'{k}={v}' for k, v in fallback.items()) or '-'}) -> {args.output}")
    return 0

