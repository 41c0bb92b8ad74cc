"""KenLM models for all 29 languages from the real text in shared/data, with held-out sentences.

    python pipelines/train_reference_lms.py --data ../shared/data --output build/kenlm
    python pipelines/train_reference_lms.py --curated sample/ --output models/kenlm

With ``--curated``, the text is a curated output's instead (``curate_cc.py`` or ``dedup.py``: ``<lang>/*.parquet``;
a first pass without the perplexity step): a model for each language it holds, from its documents' lines, the
last ``--heldout`` share of each language's lines held out the same way.

Per language: the Leipzig web sentences (``mono_leipzig_lingua``) and NTREX-128 news sentences; the
last ``--heldout`` share of each file (20 % by default) is kept out of training and written to
``<output>/heldout/<lang>.txt`` for evaluation. Nepali has no Leipzig file: it trains on NTREX-128 plus
FLORES-200 dev and holds out the end of NTREX-128. Models use ``train_kenlm.py``'s defaults
(order 6; SentencePiece subwords, characters for Chinese, Japanese and Thai: ``--unit auto``) unless
``--unit`` / ``--order`` say otherwise. ``--languages`` trains only some (default: all 29).

One line per language as it finishes: ``[3/29] de: 9,400 training sentences (1,980 held out), 146,000
tokens, vocabulary 2,300 -> OUTPUT/de.arpa.bin (0.9 s)``; a language that fails stops the run with an
error naming it.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional, Sequence, Tuple

from common.config_check import ConfigError
from common.languages import FLORES_CODES, TARGET_LANGUAGES
from pipelines.tools.train_kenlm import train


def _sentences(path: str) -> List[str]:
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]


def curated_languages(curated: str) -> List[str]:
    """The languages of a curated output: its ``<lang>/`` folders holding Parquet shards."""
    return sorted(name for name in os.listdir(curated) if not name.startswith("_")
                  and os.path.isdir(os.path.join(curated, name))
                  and any(f.endswith(".parquet") for f in os.listdir(os.path.join(curated, name))))


def split_curated(curated: str, lang: str, heldout: float) -> Tuple[List[str], List[str]]:
    """(training lines, held-out lines) of one language of a curated output, in shard order."""
    import pyarrow.parquet as pq

    folder = os.path.join(curated, lang)
    lines: List[str] = []
    for name in sorted(os.listdir(folder)):
        if name.endswith(".parquet"):
            for text in pq.read_table(os.path.join(folder, name), columns=["text"]).column("text").to_pylist():
                lines += [line.strip() for line in (text or "").split("\n") if line.strip()]
    cut = len(lines) - int(len(lines) * heldout)
    return lines[:cut], lines[cut:]


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
              unit: str = "auto", languages: Optional[Sequence[str]] = None,
              progress: Optional[Callable[[str], None]] = print, curated: bool = False) -> Dict[str, dict]:
    """Train a model per language (``languages``, default all 29, or those of ``data`` when it is a ``curated``
    output); ``progress`` gets one line per language."""
    if curated and not os.path.isdir(data):
        raise ConfigError(f"--curated: folder not found: {data}")
    if curated and not curated_languages(data):
        raise ConfigError(f"--curated: no <lang>/*.parquet shards in {data}")
    languages = list(languages or (curated_languages(data) if curated else TARGET_LANGUAGES))
    unknown = [lang for lang in languages if lang not in FLORES_CODES]
    if unknown:
        raise ConfigError(f"--languages: {', '.join(unknown)} not among the 29 target languages")
    say = progress or (lambda line: None)
    os.makedirs(os.path.join(output, "heldout"), exist_ok=True)
    say(f"training {len(languages)} KenLM models from {data} into {output}")
    cards: Dict[str, dict] = {}
    for number, lang in enumerate(languages, 1):
        started = time.perf_counter()
        training, held = (split_curated if curated else split_language)(data, lang, heldout)
        if not training:
            where = (f"{lang}/*.parquet" if curated
                     else f"mono_leipzig_lingua/{lang}.txt, ntrex128/{FLORES_CODES[lang]}.txt")
            raise ConfigError(f"{lang}: no training sentences in {data} ({where})")
        with open(os.path.join(output, "heldout", f"{lang}.txt"), "w", encoding="utf-8") as out:
            out.write("\n".join(held) + "\n")
        with tempfile.NamedTemporaryFile("w", suffix=".txt", encoding="utf-8", delete=False) as tmp:
            tmp.write("\n".join(training) + "\n")
        try:
            cards[lang] = train(lang, [tmp.name], output, order=order, memory=memory, unit=unit_for(lang, unit))
        except ConfigError as exc:
            raise ConfigError(f"{lang}: {exc}") from None
        except subprocess.CalledProcessError as exc:
            detail = (exc.stderr or b"").decode(errors="replace")[-2000:]
            raise ConfigError(f"{lang}: {os.path.basename(str(exc.cmd[0]))} failed: {detail}") from None
        finally:
            os.unlink(tmp.name)
        card = cards[lang]
        say(f"[{number}/{len(languages)}] {lang}: {len(training):,} training sentences ({len(held):,} held out), "
            f"{card['training_tokens']:,} {card['unit']} tokens, vocabulary {card['vocabulary_size']:,}, "
            f"order {card['order']} -> {os.path.join(output, card['model'])} ({time.perf_counter() - started:.1f} s)")
    return cards


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--data", help="the shared data folder")
    source.add_argument("--curated", help="a curated output (<lang>/*.parquet): a model for each of its languages")
    parser.add_argument("--output", required=True)
    parser.add_argument("--heldout", type=float, default=0.2)
    parser.add_argument("--order", type=int)
    parser.add_argument("--unit", choices=("auto", "sentencepiece", "words", "chars"), default="auto")
    parser.add_argument("--languages", nargs="+", help="only these languages (default: all 29)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    try:
        cards = train_all(args.data or args.curated, args.output, args.heldout, args.order, unit=args.unit,
                          languages=args.languages, progress=lambda line: print(line, flush=True),
                          curated=args.curated is not None)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    tokens = sum(c["training_tokens"] for c in cards.values())
    lmplz = sum(c["seconds"]["lmplz_and_binarize"] for c in cards.values())
    print(f"{len(cards)} models, {tokens} training tokens, {time.perf_counter() - started:.1f} s "
          f"({lmplz:.1f} s in lmplz + build_binary: {lmplz / max(tokens, 1) * 1e6:.1f} s per million tokens)")
    return 0
