"""Derive the per-language cosine thresholds of cross-lingual decontamination for an encoder.

    python pipelines/derive_similarity_thresholds.py --flores ../shared/data/flores200_dev \
        --ntrex ../shared/data/ntrex128 --leipzig ../shared/data/mono_leipzig_lingua \
        --output operators/resources/decontamination/use_similarity.json

Rule: the benchmark is FLORES-200 dev; for language X its sentences are represented as the index does
(``operators/decontamination/index.py``), by the normalized mean of their versions in the encoder's
languages — here all but X, as for a translation into a language the benchmark lacks — and scored as the check
scores them: cosine minus half the benchmark sentence's hubness. The null is clean text in language X that translates no
benchmark sentence — the first ``--ntrex-lines`` NTREX-128 news sentences (the same news genre as FLORES's
Wikinews, so topic neighbours are as close as they get) and the first ``--leipzig-lines`` Leipzig web
sentences. X's threshold is the highest score any null sentence reaches with any benchmark sentence, plus
``--margin``, and at least ``--floor``: on this data no clean sentence would match. The rest of NTREX and
Leipzig is what the tests measure clean documents on. Languages the encoder does not cover get no entry:
the check never scores them. ``default`` (for a covered language without data here) is the highest
threshold of all.

Measured with USE (Universal Sentence Encoder Multilingual v3) and FLORES dev: true translations score
0.69-0.81 median against English; clean news sentences reach 0.53-0.65, and where they do they share a
subject ("Japan", "cavalry"), not a meaning. USE ranks topic above translation, which is why the thresholds
sit this high and why Korean and Chinese translations are caught less often (bench/NOTES.md).
"""

from __future__ import annotations

import argparse
import os
from typing import List

import numpy as np

from common.atomic_io import write_json
from common.languages import FLORES_CODES
from operators.decontamination.index import HUB_WEIGHT, hubness
from operators.embeddings.encoders import EncoderConfig, load_encoder, unit_rows


def _lines(path: str, count: int) -> List[str]:
    if not os.path.exists(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line, _ in zip(handle, range(count)) if line.strip()]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--flores", required=True, help="FLORES-200 folder with eng_Latn.<split>")
    parser.add_argument("--split", default="dev")
    parser.add_argument("--ntrex", required=True)
    parser.add_argument("--leipzig", required=True)
    parser.add_argument("--ntrex-lines", type=int, default=1000)
    parser.add_argument("--leipzig-lines", type=int, default=600)
    parser.add_argument("--encoder", default="use", choices=["use", "laser"])
    parser.add_argument("--model-dir", default=None)
    parser.add_argument("--margin", type=float, default=0.01)
    parser.add_argument("--floor", type=float, default=0.2)
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    config = EncoderConfig(encoder=args.encoder, model_dir=args.model_dir)
    config.validate()
    config.check_files()
    encoder = load_encoder(config)
    versions = {}
    for lang, code in sorted(FLORES_CODES.items()):
        path = os.path.join(args.flores, f"{code}.{args.split}")
        if encoder.covers(lang) and os.path.exists(path):
            versions[lang] = encoder.encode(_lines(path, 10**9), lang)
    languages, null_max = {}, {}
    for lang, code in sorted(FLORES_CODES.items()):
        if not encoder.covers(lang):
            continue
        benchmark = unit_rows(np.mean([v for other, v in versions.items() if other != lang], axis=0))
        hub = HUB_WEIGHT * hubness(benchmark)
        null = _lines(os.path.join(args.ntrex, f"{code}.txt"), args.ntrex_lines)
        null += _lines(os.path.join(args.leipzig, f"{lang}.txt"), args.leipzig_lines)
        if not null:
            continue
        highest = float((encoder.encode(null, lang) @ benchmark.T - hub).max())
        null_max[lang] = round(highest, 4)
        languages[lang] = round(max(args.floor, np.ceil((highest + args.margin) * 100) / 100), 2)
        print(f"{lang}: null max {highest:.3f} -> threshold {languages[lang]}")
    write_json(args.output, {"encoder": encoder.name, "rule": f"max score (cosine - {HUB_WEIGHT} x hubness) of clean text + {args.margin}, at least {args.floor}",
                             "benchmark": f"FLORES-200 {args.split}, mean of the other covered languages' versions",
                             "null": f"NTREX-128 first {args.ntrex_lines} lines + Leipzig first {args.leipzig_lines} lines",
                             "default": max(languages.values()), "languages": languages, "null_max": null_max})
    return 0
