"""Word segmentation: ICU (what common/words.py uses) against each language's usual analyzer.

    .venv/bin/pip install -r bench/requirements-segmentation.txt
    .venv/bin/python -m bench.segmentation [--data ../shared/data]

For Chinese (jieba), Japanese (MeCab with UniDic, through fugashi) and Thai (PyThaiNLP newmm), on the
NTREX-128 and FLORES-200 dev sentences of the language: characters per second of each segmenter, and
the boundary F1 of ICU against the reference analyzer (word start and end offsets, sentence by
sentence, punctuation and spaces ignored). References that are not installed are skipped.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Callable, Dict, List, Optional, Set

from common.languages import FLORES_CODES
from common.words import icu_version, words


def _is_word(token: str) -> bool:
    return any(ch.isalnum() for ch in token)


def reference_segmenters() -> Dict[str, tuple]:
    """{lang: (name, function)} for the reference analyzers that are installed."""
    found: Dict[str, tuple] = {}
    try:
        import jieba

        jieba.setLogLevel(60)
        found["zh"] = ("jieba 0.42", lambda t: [w for w in jieba.cut(t) if _is_word(w)])
    except ImportError:
        print("jieba not installed: zh skipped")
    try:
        import fugashi

        tagger = fugashi.Tagger()
        found["ja"] = ("MeCab+UniDic (fugashi)", lambda t: [w.surface for w in tagger(t) if _is_word(w.surface)])
    except (ImportError, RuntimeError) as exc:
        print(f"fugashi/unidic-lite not usable ({exc}): ja skipped")
    try:
        from pythainlp.tokenize import word_tokenize

        found["th"] = ("PyThaiNLP newmm", lambda t: [w for w in word_tokenize(t, engine="newmm") if _is_word(w)])
    except ImportError:
        print("pythainlp not installed: th skipped")
    return found


def boundaries(tokens: List[str], text: str) -> Set[int]:
    found: Set[int] = set()
    position = 0
    for token in tokens:
        start = text.find(token, position)
        if start < 0:
            continue
        found.update((start, start + len(token)))
        position = start + len(token)
    return found


def f1(predicted: Set[int], reference: Set[int]) -> float:
    if not predicted or not reference:
        return 0.0
    hits = len(predicted & reference)
    precision, recall = hits / len(predicted), hits / len(reference)
    return 2 * precision * recall / (precision + recall) if hits else 0.0


def timed(segment: Callable[[str], List[str]], sentences: List[str]) -> tuple:
    segment(sentences[0])  # load dictionaries outside the timing
    start = time.process_time()
    out = [segment(s) for s in sentences]
    return out, time.process_time() - start


def sentences_of(data: str, lang: str) -> List[str]:
    code = FLORES_CODES[lang]
    lines: List[str] = []
    for path in (os.path.join(data, "ntrex128", f"{code}.txt"), os.path.join(data, "flores200_dev", f"{code}.dev")):
        with open(path, encoding="utf-8") as handle:
            lines += [line.strip() for line in handle if line.strip()]
    return lines


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_data = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "shared", "data")
    parser.add_argument("--data", default=default_data)
    args = parser.parse_args(argv)
    print(f"ICU {icu_version()}")
    print(f"{'lang':<5}{'sentences':>10}{'ICU Mchar/s':>13}  {'reference':<24}{'Mchar/s':>9}{'F1 ICU vs ref':>15}")
    for lang, (name, reference) in reference_segmenters().items():
        sentences = sentences_of(args.data, lang)
        chars = sum(len(s) for s in sentences)
        icu_out, icu_s = timed(lambda t: words(t, lang), sentences)
        ref_out, ref_s = timed(reference, sentences)
        score = sum(f1(boundaries(a, s), boundaries(b, s)) for a, b, s in zip(icu_out, ref_out, sentences)) / len(sentences)
        print(f"{lang:<5}{len(sentences):>10}{chars / icu_s / 1e6:>13.2f}  {name:<24}{chars / ref_s / 1e6:>9.2f}{score:>15.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
