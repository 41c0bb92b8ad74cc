"""Tokenization into Megatron shards against raw ``tokenizers`` batch encoding, tokens/s per core.

    .venv/bin/python -m bench.tokenization        # ~1 min

Text: the NTREX-128, FLORES-200 dev and Leipzig documents of the 29 languages (~20 MB), as curated
shards (one Parquet file per language). (a) raw: ``Tokenizer.encode_batch_fast`` (what the pipeline
calls: ids without offsets) over the same texts in batches of 1,000, ids discarded. (b) ours: ``pipelines/tokenize_shards.py``'s per-shard task in this
process: read Parquet, encode, append <|endoftext|>, write ``.bin``/``.idx`` and the shard's entry.
Both with one tokenizer thread (``RAYON_NUM_THREADS=1``), per core = tokens / CPU seconds. The file is
not called ``tokenize.py``: that name would shadow Python's ``tokenize`` module for this folder.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("RAYON_NUM_THREADS", "1")  # before tokenizers starts its thread pool
BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import pyarrow as pa
import pyarrow.parquet as pq

from bench.report import save_report
from common.languages import TARGET_LANGUAGES
from common.tokenizer import load_tokenizer
from pipelines.mixture.tokenize_shards import EOD_TOKEN, TokenizeItem, tokenize_task
from pipelines.tools.reference_documents import documents

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGET_OVERHEAD = 0.10


def main() -> int:
    tokenizer = load_tokenizer("qwen2")
    texts = {lang: [d for corpus in ("ntrex", "flores", "leipzig") for d in documents(corpus, str(DEFAULT_DATA), lang)]
             for lang in TARGET_LANGUAGES}
    tokenizer.encode_batch(["warm up"] * 10, add_special_tokens=False)
    report = {"documents": sum(len(t) for t in texts.values()), "mb": round(sum(len(d.encode()) for t in texts.values() for d in t) / 1e6, 2)}
    with tempfile.TemporaryDirectory() as folder:
        for lang, docs in texts.items():
            os.makedirs(os.path.join(folder, "in", lang))
            pq.write_table(pa.table({"text": docs}), os.path.join(folder, "in", lang, "part.parquet"))
        runs = {"raw": [], "ours": []}
        for _ in range(2):  # alternate, twice: the shared machine drifts
            started, tokens = time.process_time(), 0
            for docs in texts.values():
                for lo in range(0, len(docs), 1000):
                    batch = tokenizer.encode_batch_fast(docs[lo:lo + 1000], add_special_tokens=False)
                    tokens += sum(len(e.ids) for e in batch)
            runs["raw"].append((tokens, time.process_time() - started))
            started, ours_tokens = time.process_time(), 0
            for lang in texts:
                prefix = os.path.join(folder, "out", lang, f"part-{len(runs['ours'])}")
                entry = tokenize_task(TokenizeItem(os.path.join(folder, "in", lang, "part.parquet"), lang, lang, prefix,
                                                   "qwen2", EOD_TOKEN))
                ours_tokens += entry.tokens - entry.documents  # without the appended <|endoftext|>
            runs["ours"].append((ours_tokens, time.process_time() - started))
    raw = sum(t for t, _ in runs["raw"]) / sum(s for _, s in runs["raw"])
    ours = sum(t for t, _ in runs["ours"]) / sum(s for _, s in runs["ours"])
    report.update({"raw_tokens_per_core_s": round(raw), "ours_tokens_per_core_s": round(ours),
                   "overhead": round(raw / ours - 1, 4), "tokens": runs["raw"][0][0]})
    print(f"{report['documents']} documents, {report['mb']} MB, {report['tokens']} tokens")
    print(f"raw encode_batch_fast: {raw:,.0f} tokens/s per core; tokenize_shards: {ours:,.0f} tokens/s per core; "
          f"overhead {100 * (raw / ours - 1):.1f} % (target <= {100 * TARGET_OVERHEAD:.0f} %)")
    save_report("tokenization", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
