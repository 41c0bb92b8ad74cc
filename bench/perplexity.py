"""Perplexity filter throughput and KenLM training cost.

    .venv/bin/python -m bench.perplexity [--data ../shared/data] [--langs en,zh,...] [--repeat N]

1. Trains the 29 reference models (``pipelines/train_reference_lms.py``: Leipzig + NTREX-128,
   SentencePiece subwords, order 6) and reports lmplz + build_binary seconds per million training
   tokens (and the SentencePiece + text preparation time separately).
2. Derives cutoffs on the NTREX-128 documents, then runs ``PerplexityFilter`` in this process over
   the NTREX-128 and Leipzig documents of every language (batches of 256, after one warm-up document
   per language so models are loaded) and reports documents per second per core
   (``time.process_time``) and characters per second.

Results go to ``bench/results/perplexity-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

import pyarrow as pa
import pyarrow.parquet as pq

from bench.report import save_report
from common.languages import TARGET_LANGUAGES
from operators.web.perplexity import PerplexityConfig, PerplexityFilter
from pipelines.tools.derive_ppl_cutoffs import main as derive_cutoffs
from pipelines.tools.reference_documents import document_table, documents
from pipelines.tools.train_reference_lms import train_all

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--langs", default=",".join(TARGET_LANGUAGES))
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=256)
    args = parser.parse_args(argv)
    langs = args.langs.split(",")

    with tempfile.TemporaryDirectory() as work:
        models = os.path.join(work, "models")
        started = time.perf_counter()
        cards = train_all(args.data, models)
        training_wall = time.perf_counter() - started
        tokens = sum(c["training_tokens"] for c in cards.values())
        lmplz_s = sum(c["seconds"]["lmplz_and_binarize"] for c in cards.values())
        prepare_s = sum(c["seconds"]["prepare"] for c in cards.values())

        curated = Path(work, "ntrex")
        docs = []
        for lang in langs:
            ntrex = documents("ntrex", args.data, lang)
            (curated / lang).mkdir(parents=True)
            pq.write_table(document_table("ntrex", lang, ntrex), curated / lang / "part-0000.parquet")
            docs += [(d, lang) for d in ntrex + documents("leipzig", args.data, lang)]
        derive_cutoffs(["--input", str(curated), "--models", models, "--min-docs", "20"])

        op = PerplexityFilter(PerplexityConfig(model_dir=models))
        op.setup()
        op.process(pa.table({"text": [next(d for d, l in docs if l == lang) for lang in langs], "lang": langs}))
        docs = docs * args.repeat
        kept = 0
        cpu = time.process_time()
        for i in range(0, len(docs), args.batch_size):
            batch = docs[i:i + args.batch_size]
            outcome = op.process(pa.table({"text": [d for d, _ in batch], "lang": [l for _, l in batch]}))
            kept += sum(r is None for r in outcome.reasons)
        cpu = time.process_time() - cpu
    chars = sum(len(d) for d, _ in docs)
    report = {
        "when": _dt.datetime.now().isoformat(timespec="seconds"),
        "training": {"models": len(cards), "tokens": tokens, "wall_s": round(training_wall, 1),
                     "lmplz_and_binarize_s": round(lmplz_s, 1), "prepare_and_sentencepiece_s": round(prepare_s, 1),
                     "lmplz_s_per_million_tokens": round(lmplz_s / tokens * 1e6, 2),
                     "all_s_per_million_tokens": round((lmplz_s + prepare_s) / tokens * 1e6, 2)},
        "filter": {"docs": len(docs), "languages": len(langs), "cpu_s": round(cpu, 2),
                   "docs_per_s_per_core": round(len(docs) / cpu, 1), "chars_per_s": round(chars / cpu),
                   "kept": kept},
    }
    print(f"training: {len(cards)} models, {tokens} tokens; lmplz + build_binary "
          f"{report['training']['lmplz_s_per_million_tokens']} s per million tokens "
          f"(with text preparation and SentencePiece: {report['training']['all_s_per_million_tokens']} s)")
    print(f"filter: {len(docs)} docs in {len(langs)} languages, {report['filter']['docs_per_s_per_core']} docs/s/core, "
          f"{report['filter']['chars_per_s'] / 1e6:.2f} M chars/s, kept {kept}")
    save_report("perplexity", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
