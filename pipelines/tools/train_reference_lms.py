"""KenLM models for all 29 languages from the real text in shared/data, with held-out sentences.

    python pipelines/train_reference_lms.py --data ../shared/data --output build/kenlm

Per language: the Leipzig web sentences (``mono_leipzig_lingua``) and NTREX-128 news sentences; the
last ``--heldout`` share of each file (20 % by default) is kept out of training and written to
``<output>/heldout/<lang>.txt`` for evaluation. Nepali has no Leipzig file: it trains on NTREX-128 plus
FLORES-200 dev and holds out the end of NTREX-128. Models use ``train_kenlm.py``'s defaults
(order 6; SentencePiece subwords, characters for Chinese, Japanese and Thai: ``--unit auto``) unless
``--unit`` / ``--order`` say otherwise.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from typing import Dict, List, Optional, Tuple

from common.languages import FLORES_CODES, TARGET_LANGUAGES
from pipelines.tools.train_kenlm import train


def _sentences(path: str) -> List[str]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def split_language(data: str, lang: str, heldout: float) -> Tuple[List[str], List[str]]:
    """(training sentences, held-out sentences) of one language."""
    code = FLORES_CODES[lang]
    sources = [_sentences(os.path.join(data, "mono_leipzig_lingua", f"{lang}.txt")),
               _sentences(os.path.join(data, "ntrex128", f"{code}.txt"))]
    training: List[str] = []
    held: List[str] = []
    for sentences in sources:
        cut = len(sentences) - int(len(sentences) * heldout)
        training += sentences[:cut]
        held += sentences[cut:]
    if lang == "ne":
        training += _sentences(os.path.join(data, "flores200_dev", f"{code}.dev"))
    return training, held


CHARACTER_LANGUAGES = ("zh", "ja", "th")  # no spaces between words: character models (train_kenlm.py)


def unit_for(lang: str, unit: str) -> str:
    if unit != "auto":
        return unit
    return "chars" if lang in CHARACTER_LANGUAGES else "sentencepiece"


def train_all(data: str, output: str, heldout: float = 0.2, order: Optional[int] = None, memory: str = "10%",
              unit: str = "auto") -> Dict[str, dict]:
    os.makedirs(os.path.join(output, "heldout"), exist_ok=True)
    cards: Dict[str, dict] = {}
    for lang in TARGET_LANGUAGES:
        training, held = split_language(data, lang, heldout)
        with open(os.path.join(output, "heldout", f"{lang}.txt"), "w", encoding="utf-8") as out:
            out.write("\n".join(held) + "\n")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as tmp:
            tmp.write("\n".join(training) + "\n")
        try:
            cards[lang] = train(lang, [tmp.name], output, order=order, memory=memory, unit=unit_for(lang, unit))
        finally:
            os.unlink(tmp.name)
    return cards


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True, help="the shared data folder")
    parser.add_argument("--output", required=True)
    parser.add_argument("--heldout", type=float, default=0.2)
    parser.add_argument("--order", type=int)
    parser.add_argument("--unit", choices=("auto", "sentencepiece", "words", "chars"), default="auto")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    cards = train_all(args.data, args.output, args.heldout, args.order, unit=args.unit)
    tokens = sum(c["training_tokens"] for c in cards.values())
    lmplz = sum(c["seconds"]["lmplz_and_binarize"] for c in cards.values())
    print(f"{len(cards)} models, {tokens} training tokens, {time.perf_counter() - started:.1f} s "
          f"({lmplz:.1f} s in lmplz + build_binary: {lmplz / tokens * 1e6:.1f} s per million tokens)")
    return 0

