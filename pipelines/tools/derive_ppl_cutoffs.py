"""Derive per-language perplexity cutoffs from a sample of curated documents.

    python pipelines/derive_ppl_cutoffs.py --input CURATED_DIR --models MODEL_DIR [--k 2.5]

Writes ``MODEL_DIR/cutoffs.yaml`` (or ``--output``), which the perplexity filter reads beside the
models. Per language with a model and at least ``--min-docs`` documents (a deterministic sample of at
most ``--sample``):

* ``head`` / ``tail``: the 30th / 60th percentiles of document perplexity, cc_net's bucket edges;
* ``max``: ``exp(mean + k * std)`` of log perplexity. Perplexity is roughly log-normal across
  documents, so the mean and spread of its logarithm describe "average"; ``k`` (default 2.0) says
  how far above average a document may be before it is removed ("documents with perplexity scores
  largely above average are subsequently removed", paper §3.1.1). The default ``k = 2.5`` puts about
  1 % of a log-normal sample above ``max``; measured on held-out text of the 29 languages it removes at
  most 4 % of clean documents (k = 2 removed 8.5 % of Korean ones) and 96-100 % of garbled ones.

Curate the sample without the perplexity step (or with cutoffs that drop nothing) so that the
distribution is not already cut.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import os
from typing import Dict, List

import numpy as np
import yaml

from operators.web.perplexity import CUTOFFS_FILE, available_languages, load_language_model
from pipelines.tools.derive_thresholds import read_documents

HEAD_PERCENTILE, TAIL_PERCENTILE = 30, 60


def cutoffs_for(perplexities: List[float], k: float) -> Dict[str, float]:
    logs = np.log(np.asarray(perplexities, dtype=np.float64))
    return {
        "head": round(float(np.percentile(perplexities, HEAD_PERCENTILE)), 1),
        "tail": round(float(np.percentile(perplexities, TAIL_PERCENTILE)), 1),
        "max": round(float(math.exp(logs.mean() + k * logs.std())), 1),
    }


def derive(curated_dir: str, model_dir: str, k: float = 2.5, sample: int = 20_000, min_docs: int = 50) -> dict:
    per_language = read_documents(curated_dir)
    cutoffs: Dict[str, Dict[str, float]] = {}
    counts: Dict[str, int] = {}
    skipped: Dict[str, str] = {}
    for lang in sorted(per_language):
        model = load_language_model(model_dir, lang)
        if model is None:
            skipped[lang] = "no model"
            continue
        rows = sorted(per_language[lang], key=lambda r: hashlib.sha1(str(r.get("id", r["text"])).encode()).hexdigest())
        values = [p for p in (model.perplexity(r["text"]) for r in rows[:sample]) if p is not None and math.isfinite(p)]
        if len(values) < min_docs:
            skipped[lang] = f"{len(values)} documents (< {min_docs})"
            continue
        cutoffs[lang] = cutoffs_for(values, k)
        counts[lang] = len(values)
    return {
        "provenance": {
            "tool": "pipelines/derive_ppl_cutoffs.py",
            "input": curated_dir,
            "rule": f"head = P{HEAD_PERCENTILE}, tail = P{TAIL_PERCENTILE}, max = exp(mean + {k} x std) of ln(ppl)",
            "documents": counts,
            "skipped": skipped,
            "models": available_languages(model_dir),
        },
        "cutoffs": cutoffs,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="curated-output folder (<lang>/*.parquet)")
    parser.add_argument("--models", required=True, help="folder of <lang>.arpa.bin models")
    parser.add_argument("--output", help=f"default: MODELS/{CUTOFFS_FILE}")
    parser.add_argument("--k", type=float, default=2.5, help="max = exp(mean + k std) of log perplexity")
    parser.add_argument("--sample", type=int, default=20_000)
    parser.add_argument("--min-docs", type=int, default=50)
    args = parser.parse_args(argv)
    for flag, folder in (("--input", args.input), ("--models", args.models)):
        if not os.path.isdir(folder):
            raise SystemExit(f"{flag}: folder not found: {folder}")
    result = derive(args.input, args.models, args.k, args.sample, args.min_docs)
    output = args.output or os.path.join(args.models, CUTOFFS_FILE)
    with open(output, "w", encoding="utf-8") as out:
        out.write("# Perplexity cutoffs per language (operators/web/perplexity.py reads them beside the models).\n")
        yaml.safe_dump(result, out, allow_unicode=True, sort_keys=False, width=120)
    print(f"cutoffs for {len(result['cutoffs'])} languages -> {output}; skipped: {result['provenance']['skipped'] or '-'}")
    return 0

