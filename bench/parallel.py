"""Parallel-pair throughput: the heuristic filters, and the LASER encoder path, pairs/s per core.

    .venv/bin/python -m bench.parallel            # ~2 min

Pairs: NTREX-128, the 1,997 sentences of 8 directions (en-de, en-zh, en-ja, en-th, en-ar, en-ru,
zh-ja, de-fr), 15,976 pairs.

(a) heuristics: ``PairFilter`` (all rules, lid.176 on both sides) in batches of 2,000, one process.
(b) LASER path: ``SimilarityScorer``, ``encoder: laser`` (tokenize -> BPE -> BiLSTM -> margin) on 2,000 en-de
    pairs with an encoder of the real LASER shape (5-layer BiLSTM, 512 units per direction, 320-dim embeddings,
    50,004-token vocabulary) and random weights: the real checkpoint cannot be downloaded here, and
    the cost depends on the shape, not the weights. BPE codes are small, so the BPE step is cheaper
    than with the real 50k codes. One torch thread (per core); ``device: cpu``.

docs/s per core = pairs / CPU seconds (``time.process_time``).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import pyarrow as pa

from bench.report import save_report
from common.config_check import build
from common.languages import FLORES_CODES
from operators.embeddings.encoders import LASER_FILES
from operators.parallel.pair_filters import PairFilter, PairFilterConfig
from operators.parallel.similarity import SimilarityConfig, SimilarityScorer

ENCODER = LASER_FILES[2]  # the BiLSTM checkpoint
DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))
DIRECTIONS = [("en", "de"), ("en", "zh"), ("en", "ja"), ("en", "th"), ("en", "ar"), ("en", "ru"), ("zh", "ja"), ("de", "fr")]


def sentences(data: Path, lang: str):
    with open(data / "ntrex128" / f"{FLORES_CODES[lang]}.txt", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle]


def table(src_lang, tgt_lang, sources, targets):
    return pa.table({"id": [str(i) for i in range(len(sources))], "src_text": sources, "tgt_text": targets,
                     "src_lang": [src_lang] * len(sources), "tgt_lang": [tgt_lang] * len(sources)})


def laser_sized_model(folder: str, texts) -> str:
    import torch
    from laserembeddings.encoder import Encoder

    from tests.fixtures.tiny_laser import build_tiny_laser

    build_tiny_laser(folder, texts, merges=2000)
    checkpoint = torch.load(os.path.join(folder, ENCODER))
    dictionary = checkpoint["dictionary"]
    for i in range(len(dictionary), 50004):
        dictionary[f"<filler{i}>"] = i
    params = {"num_embeddings": 50004, "padding_idx": 1, "embed_dim": 320, "hidden_size": 512, "num_layers": 5,
              "bidirectional": True, "left_pad": True, "padding_value": 0.0}
    torch.manual_seed(0)
    torch.save({"params": params, "model": Encoder(**params).state_dict(), "dictionary": dictionary},
               os.path.join(folder, ENCODER))
    return folder


def main() -> int:
    import torch

    torch.set_num_threads(1)
    data = DEFAULT_DATA
    report = {}
    pair_filter = PairFilter(build(PairFilterConfig, {}))
    pair_filter.setup()
    batches = [table(s, t, sentences(data, s), sentences(data, t)) for s, t in DIRECTIONS]
    pair_filter.reasons(batches[0].slice(0, 10))  # warm-up: lid.176, ICU, stop-word lists
    started = time.process_time()
    pairs = 0
    for batch in batches:
        for lo in range(0, batch.num_rows, 2000):
            part = batch.slice(lo, 2000)
            pair_filter.reasons(part)
            pairs += part.num_rows
    cpu = time.process_time() - started
    report["heuristics"] = {"pairs": pairs, "cpu_s": round(cpu, 2), "pairs_per_core_s": round(pairs / cpu, 1)}
    print(f"heuristics: {pairs} pairs, {pairs / cpu:.0f} pairs/s per core", flush=True)

    en, de = sentences(data, "en")[:2000], sentences(data, "de")[:2000]
    with tempfile.TemporaryDirectory() as folder:
        laser_sized_model(folder, en + de)
        config = build(SimilarityConfig, {"encoder": "laser", "model_dir": folder, "device": "cpu"})
        scorer = SimilarityScorer(config)
        scorer.setup()
        scorer.process(table("en", "de", en[:20], de[:20]))  # warm-up
        started = time.process_time()
        scorer.process(table("en", "de", en, de))
        cpu = time.process_time() - started
    report["laser"] = {"pairs": len(en), "cpu_s": round(cpu, 2), "pairs_per_core_s": round(len(en) / cpu, 1),
                       "model": "LASER shape (5x BiLSTM 512, embed 320, vocab 50,004), random weights, CPU, 1 thread"}
    print(f"LASER path: {len(en)} pairs, {len(en) / cpu:.1f} pairs/s per core (both sides encoded + margin)")
    save_report("parallel", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
