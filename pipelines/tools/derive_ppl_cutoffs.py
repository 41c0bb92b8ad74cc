"""Derive per-language perplexity cutoffs from a sample of curated documents.

    python pipelines/derive_ppl_cutoffs.py --input CURATED_DIR --models MODEL_DIR [--k 2.5]

Writes ``MODEL_DIR/cutoffs.yaml`` (or ``--output``), which the perplexity filter reads beside the
models. Per language with a model and at least ``--min-docs`` documents (a deterministic sample of at
most ``--sample``):

* ``head`` / ``tail``: the 30th / 60th percentiles of document perplexity, cc_net's bucket edges;
* ``max``: ``exp(mean + k * std)`` of log perplexity. Perplexity is roughly log-normal across
  documents, so the mean and spread of its logarithm describe "average"; ``k`` (default 2.5) says
  how far above average a document may be before it is removed ("documents with perplexity scores
  largely above average are subsequently removed", paper §3.1.1). The default ``k = 2.5`` puts about
  1 % of a log-normal sample above ``max``; measured on held-out text of the 29 languages it removes at
  most 4 % of clean documents (k = 2 removed 8.5 % of Korean ones) and 96-100 % of garbled ones.

Curate the sample without the perplexity step (or with cutoffs that drop nothing) so that the
distribution is not already cut.

Every language of the sample gets one line: its cutoffs, or why it has none — no model in ``--models``,
fewer documents with a perplexity than ``--min-docs`` (documents without words have none), or
degenerate cutoffs (``head <= tail < max`` does not hold: the documents' perplexities are all about the
same, as with one document, or copies of one). A language whose cutoffs come from fewer than 50
documents is derived, with a warning that its percentiles are noisy. ``--min-docs`` below 2 is refused
(one document makes head = tail = max). When no language gets cutoffs the command says why, exits
with status 2 and leaves ``--output`` as it was (the default output is the models' own ``cutoffs.yaml``,
which the filter reads).
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
import sys
from typing import Dict, List

import numpy as np
import yaml

from common.atomic_io import write_text
from common.config_check import ConfigError
from operators.web.perplexity import CUTOFFS_FILE, available_languages, load_language_model
from pipelines.tools.derive_thresholds import read_documents

HEAD_PERCENTILE, TAIL_PERCENTILE = 30, 60
MIN_DOCS_FLOOR = 2        # one document gives head = tail = max
RECOMMENDED_DOCS = 50     # below this, percentiles move with every document added (a warning)


def cutoffs_for(perplexities: List[float], k: float) -> Dict[str, float]:
    logs = np.log(np.asarray(perplexities, dtype=np.float64))
    return {
        "head": round(float(np.percentile(perplexities, HEAD_PERCENTILE)), 1),
        "tail": round(float(np.percentile(perplexities, TAIL_PERCENTILE)), 1),
        "max": round(float(math.exp(logs.mean() + k * logs.std())), 1),
    }


def degenerate(cutoffs: Dict[str, float]) -> bool:
    """Cutoffs the filter cannot use as meant: ``0 < head <= tail < max`` does not hold."""
    return not 0 < cutoffs["head"] <= cutoffs["tail"] < cutoffs["max"]


def derive(curated_dir: str, model_dir: str, k: float = 2.5, sample: int = 20_000, min_docs: int = 50) -> dict:
    """Cutoffs per language, with ``provenance.skipped`` (language -> why it has none) and ``provenance.warnings``."""
    if min_docs < MIN_DOCS_FLOOR:
        raise ConfigError(f"--min-docs: must be at least {MIN_DOCS_FLOOR} (one document gives head = tail = max), "
                         f"got {min_docs}")
    per_language = read_documents(curated_dir)
    cutoffs: Dict[str, Dict[str, float]] = {}
    counts: Dict[str, int] = {}
    skipped: Dict[str, str] = {}
    warnings: List[str] = []
    models = available_languages(model_dir)
    for lang in sorted(per_language):
        model = load_language_model(model_dir, lang)
        if model is None:
            skipped[lang] = f"no model ({lang}.arpa.bin) in {model_dir}"
            continue
        rows = sorted(per_language[lang], key=lambda r: hashlib.sha1(str(r.get("id", r["text"])).encode()).hexdigest())
        values = [p for p in (model.perplexity(r["text"]) for r in rows[:sample]) if p is not None and math.isfinite(p)]
        if len(values) < min_docs:
            read = min(len(rows), sample)
            without = f" ({read - len(values)} of {read} have no words to score)" if read > len(values) else ""
            skipped[lang] = (f"{len(values)} documents with a perplexity{without}, fewer than --min-docs {min_docs}: "
                             f"give a larger sample" + (f" or --min-docs {len(values)}" if len(values) >= MIN_DOCS_FLOOR
                                                        else ""))
            continue
        derived = cutoffs_for(values, k)
        if degenerate(derived):
            skipped[lang] = (f"degenerate cutoffs from {len(values)} documents (head {derived['head']}, tail "
                             f"{derived['tail']}, max {derived['max']}; head <= tail < max is needed): their "
                             f"perplexities are all about the same; give a larger, varied sample")
            continue
        if len(values) < RECOMMENDED_DOCS:
            warnings.append(f"{lang}: cutoffs from only {len(values)} documents (fewer than {RECOMMENDED_DOCS}): "
                            f"its percentiles are noisy")
        cutoffs[lang] = derived
        counts[lang] = len(values)
    return {
        "provenance": {
            "tool": "pipelines/derive_ppl_cutoffs.py",
            "input": curated_dir,
            "rule": f"head = P{HEAD_PERCENTILE}, tail = P{TAIL_PERCENTILE}, max = exp(mean + {k} x std) of ln(ppl)",
            "documents": counts,
            "skipped": skipped,
            "warnings": warnings,
            "models": models,
            "models_without_documents": [lang for lang in models if lang not in per_language],
        },
        "cutoffs": cutoffs,
    }


def report_lines(result: dict) -> List[str]:
    """One line per language of the sample: its cutoffs, or why it has none; then the warnings."""
    provenance = result["provenance"]
    lines = []
    for lang in sorted(set(result["cutoffs"]) | set(provenance["skipped"])):
        if lang in result["cutoffs"]:
            c = result["cutoffs"][lang]
            lines.append(f"{lang}: {provenance['documents'][lang]} documents -> head {c['head']}, tail {c['tail']}, "
                         f"max {c['max']}")
        else:
            lines.append(f"{lang}: no cutoff: {provenance['skipped'][lang]}")
    if provenance["models_without_documents"]:
        lines.append(f"models without documents in the sample (no cutoff): "
                     f"{', '.join(provenance['models_without_documents'])}")
    lines += [f"warning: {w}" for w in provenance["warnings"]]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="curated-output folder (<lang>/*.parquet)")
    parser.add_argument("--models", required=True, help="folder of <lang>.arpa.bin models")
    parser.add_argument("--output", help=f"default: MODELS/{CUTOFFS_FILE}")
    parser.add_argument("--k", type=float, default=2.5, help="max = exp(mean + k std) of log perplexity")
    parser.add_argument("--sample", type=int, default=20_000, help="at most this many documents per language")
    parser.add_argument("--min-docs", type=int, default=50,
                        help=f"fewer documents with a perplexity: no cutoff (at least {MIN_DOCS_FLOOR}; "
                             f"below {RECOMMENDED_DOCS} a warning)")
    args = parser.parse_args(argv)
    for flag, folder in (("--input", args.input), ("--models", args.models)):
        if not os.path.isdir(folder):
            print(f"error: {flag}: folder not found: {folder}", file=sys.stderr)
            return 2
    try:
        result = derive(args.input, args.models, args.k, args.sample, args.min_docs)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    output = args.output or os.path.join(args.models, CUTOFFS_FILE)
    for line in report_lines(result):
        print(line)
    if not result["cutoffs"]:
        found = "no <lang>/*.parquet documents in it" if not result["provenance"]["skipped"] else "see above why"
        print(f"error: cutoffs for no language of {args.input} ({found}); {output} was not written", file=sys.stderr)
        return 2
    text = ("# Perplexity cutoffs per language (operators/web/perplexity.py reads them beside the models).\n"
            + yaml.safe_dump(result, allow_unicode=True, sort_keys=False, width=120))
    write_text(output, text)
    skipped = result["provenance"]["skipped"]
    print(f"cutoffs for {len(result['cutoffs'])} languages -> {output}"
          + (f"; none for {len(skipped)} ({', '.join(sorted(skipped))})" if skipped else ""))
    return 0
