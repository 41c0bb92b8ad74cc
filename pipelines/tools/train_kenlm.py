"""Train a per-language KenLM n-gram model for the perplexity filter (CCNet-style).

    python pipelines/train_kenlm.py --lang de --input de_sentences.txt more.txt --output models/kenlm

Each input line is normalized exactly as the filter will score it (:func:`common.lm_text.normalize`:
lowercase, Latin/Greek accents removed, digits -> 0, ASCII punctuation) and cut into tokens by
``--unit``:

* ``sentencepiece`` (default): a SentencePiece unigram model trained here on the same lines and
  saved as ``<lang>.sp.model``, the layout of cc_net's models. Its vocabulary is 1,000 pieces plus the
  characters that cover 99.95 % of the text (so Chinese and Japanese get one piece per common
  character). Measured on held-out Leipzig + NTREX text with models trained on ~50k words per
  language, subwords separate clean text from word-shuffled text in 98-100 % of sentences where ICU
  words manage only 85-94 % (most held-out words are unseen), and from character-garbled text in
  99-100 %; larger vocabularies (2,000+) lose the garbled cases, since perplexity is per token.
* ``words``: ICU words (:mod:`common.words`), for large training corpora.
* ``chars``: characters (spaces left out), for Chinese, Japanese and Thai, whose words are runs of
  characters without spaces. On navigation pages of frequent words from running text (the boilerplate
  of ``tests/operators/web/test_perplexity_filter.py``) order-6 character models give perplexities far above clean
  text, where subword models give the same: with the shipped cutoff, ja 100 %, th 75 %, zh 31 % of
  such pages removed against 0 % for subwords, clean text removed <= 4.2 %.

``lmplz`` then estimates a modified-Kneser-Ney model of ``--order`` (default 6 for subwords and
characters, 5 for words as cc_net) with its memory bounded by ``--memory`` (``lmplz -S``; never lmplz's default of
80 % of RAM), and ``build_binary`` turns the ARPA file into ``<lang>.arpa.bin``. A model card
``<lang>.card.json`` records the unit, order, token and vocabulary counts, the sources and how text
was prepared.

lmplz and build_binary come from ``make kenlm`` (built from the kenlm sdist into
``$KENLM_BIN``, default ``~/.cache/marco-curation/kenlm-0.3.0/bin``) or from ``--kenlm-bin`` / PATH.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from typing import Dict, List, Optional, Sequence

from common.atomic_io import atomic_path
from common.config_check import ConfigError
from common.fingerprints import content_digest
from common.lm_text import lm_characters, lm_tokens, normalize
from common.words import icu_version

# The kenlm query module from PyPI is compiled for orders up to 6 (KENLM_MAX_ORDER).
MAX_ORDER = 6
DEFAULT_KENLM_BIN = os.path.join(os.path.expanduser("~"), ".cache", "marco-curation", "kenlm-0.3.0", "bin")


def kenlm_tool(name: str, kenlm_bin: Optional[str] = None) -> str:
    """Path of ``lmplz`` or ``build_binary``: --kenlm-bin, then $KENLM_BIN, the default cache, PATH."""
    for folder in (kenlm_bin, os.environ.get("KENLM_BIN"), DEFAULT_KENLM_BIN):
        if folder and os.access(os.path.join(folder, name), os.X_OK):
            return os.path.join(folder, name)
    found = shutil.which(name)
    if found:
        return found
    raise ConfigError(f"--kenlm-bin: {name} not found (looked in --kenlm-bin, $KENLM_BIN, {DEFAULT_KENLM_BIN}, PATH); run `make kenlm`")


UNITS = ("sentencepiece", "words", "chars")
DEFAULT_ORDER = {"sentencepiece": 6, "words": 5, "chars": 6}
SENTENCEPIECE_BASE_VOCABULARY = 1000
CHARACTER_COVERAGE = 0.9995


def _normalized_lines(inputs: Sequence[str]) -> List[str]:
    lines = []
    for path in inputs:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines += [n for n in (" ".join(normalize(raw).split()) for raw in handle) if n]
    return lines


def sentencepiece_vocabulary_size(lines: Sequence[str]) -> int:
    """1,000 pieces plus the characters needed to cover 99.95 % of the text."""
    counts = Counter(ch for line in lines for ch in line if not ch.isspace())
    total, covered, needed = sum(counts.values()), 0, 0
    for _, n in counts.most_common():
        if covered >= CHARACTER_COVERAGE * total:
            break
        covered += n
        needed += 1
    return SENTENCEPIECE_BASE_VOCABULARY + needed


def train_sentencepiece(lines: Sequence[str], model_prefix: str) -> int:
    import sentencepiece

    vocabulary = sentencepiece_vocabulary_size(lines)
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines), model_prefix=model_prefix, vocab_size=vocabulary,
        model_type="unigram", character_coverage=CHARACTER_COVERAGE, hard_vocab_limit=False,
        minloglevel=2, num_threads=1,
    )
    return vocabulary


def prepare_corpus(inputs: Sequence[str], lang: str, out_path: str, unit: str, output_dir: str) -> Dict[str, int]:
    """Tokenized lines of ``inputs`` into ``out_path``; counts of lines, tokens, types."""
    lines = tokens = 0
    vocabulary = set()
    normalized = _normalized_lines(inputs)
    encode = None
    if unit == "sentencepiece":
        import sentencepiece

        prefix = os.path.join(output_dir, lang + ".sp")
        train_sentencepiece(normalized, prefix)
        os.remove(prefix + ".vocab")
        encode = sentencepiece.SentencePieceProcessor(model_file=prefix + ".model")
    with open(out_path, "w", encoding="utf-8") as out:
        for line in normalized:
            if encode is not None:
                pieces = encode.encode(line, out_type=str)
            else:
                pieces = lm_characters(line) if unit == "chars" else lm_tokens(line, lang)
            if not pieces:
                continue
            out.write(" ".join(pieces) + "\n")
            lines += 1
            tokens += len(pieces)
            vocabulary.update(pieces)
    return {"lines": lines, "tokens": tokens, "vocabulary": len(vocabulary)}


def train(lang: str, inputs: Sequence[str], output_dir: str, order: Optional[int] = None, memory: str = "20%",
          kenlm_bin: Optional[str] = None, prune: Optional[List[int]] = None, unit: str = "sentencepiece") -> dict:
    """Train and binarize ``<output_dir>/<lang>.arpa.bin``; returns the model card."""
    for path in inputs:
        if not os.path.isfile(path):
            raise ConfigError(f"--input: file not found: {path}")
    if unit not in UNITS:
        raise ConfigError(f"--unit: expected one of {', '.join(UNITS)}, got {unit!r}")
    order = order or DEFAULT_ORDER[unit]
    if not 2 <= order <= MAX_ORDER:
        raise ConfigError(f"--order: must be within 2..{MAX_ORDER} (the kenlm module's KENLM_MAX_ORDER), got {order}")
    stale_sp = os.path.join(output_dir, f"{lang}.sp.model")
    if unit != "sentencepiece" and os.path.exists(stale_sp):
        os.remove(stale_sp)  # a words or chars model must not be read through an old SentencePiece model
    lmplz, build_binary = kenlm_tool("lmplz", kenlm_bin), kenlm_tool("build_binary", kenlm_bin)
    os.makedirs(output_dir, exist_ok=True)
    model_path = os.path.join(output_dir, f"{lang}.arpa.bin")
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        started = time.perf_counter()
        counts = prepare_corpus(inputs, lang, corpus, unit, output_dir)
        if counts["tokens"] == 0:
            raise ConfigError(f"--input: no words in {', '.join(inputs)}")
        prepared = time.perf_counter()
        arpa = os.path.join(tmp, f"{lang}.arpa")
        command = [lmplz, "-o", str(order), "-S", memory, "-T", tmp, "--discount_fallback"]
        if prune:
            command += ["--prune", *map(str, prune)]
        with open(corpus, "rb") as stdin, open(arpa, "wb") as stdout:
            subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, check=True)
        with atomic_path(model_path) as tmp:
            subprocess.run([build_binary, arpa, tmp], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=True)
        finished = time.perf_counter()
    card = {
        "language": lang,
        "model": os.path.basename(model_path),
        "unit": unit,
        "normalization": "marco",
        "order": order,
        "smoothing": "modified Kneser-Ney (lmplz), --discount_fallback",
        "prune": prune or [],
        "training_lines": counts["lines"],
        "training_tokens": counts["tokens"],
        "vocabulary_size": counts["vocabulary"],
        "text_preparation": "common/lm_text.py: lowercase, Latin/Greek accents removed, digits -> 0, "
                            "ASCII punctuation; " + {"sentencepiece": f"SentencePiece unigram {lang}.sp.model",
                                                     "chars": "characters, spaces left out"}.get(
                                                         unit, f"ICU {icu_version()} words"),
        "sources": [{"path": os.path.abspath(p), "sha1": content_digest(p, "sha1")} for p in inputs],
        "seconds": {"prepare": round(prepared - started, 2), "lmplz_and_binarize": round(finished - prepared, 2)},
    }
    with open(os.path.join(output_dir, f"{lang}.card.json"), "w", encoding="utf-8") as out:
        json.dump(card, out, indent=2, ensure_ascii=False)
    return card


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", required=True, help="ISO 639-1 code (segmentation and file names)")
    parser.add_argument("--input", required=True, nargs="+", help="text files, one sentence or paragraph per line")
    parser.add_argument("--output", required=True, help="folder for <lang>.arpa.bin and <lang>.card.json")
    parser.add_argument("--unit", choices=UNITS, default="sentencepiece")
    parser.add_argument("--order", type=int, help="n-gram order (default 6 for subwords and characters, 5 for words)")
    parser.add_argument("--memory", default="20%", help="lmplz -S (memory for sorting), e.g. 20%% or 2G")
    parser.add_argument("--prune", type=int, nargs="*", help="lmplz --prune thresholds per order")
    parser.add_argument("--kenlm-bin", help="folder holding lmplz and build_binary")
    args = parser.parse_args(argv)
    try:
        card = train(args.lang, args.input, args.output, args.order, args.memory, args.kenlm_bin, args.prune, args.unit)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except subprocess.CalledProcessError as exc:
        print(f"error: {os.path.basename(exc.cmd[0])} failed: {exc.stderr.decode(errors='replace')[-2000:]}", file=sys.stderr)
        return 1
    print(f"{args.lang}: {card['training_tokens']} tokens, vocabulary {card['vocabulary_size']}, "
          f"order {card['order']} -> {os.path.join(args.output, card['model'])} "
          f"({card['seconds']['lmplz_and_binarize']} s lmplz + build_binary)")
    return 0

