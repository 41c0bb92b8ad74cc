"""Train a per-language KenLM n-gram model for the perplexity filter (CCNet-style).

    python pipelines/train_kenlm.py --lang de --input de_sentences.txt more.txt --output models/kenlm

Each input line is normalized and segmented exactly as the filter will score it
(:func:`operators.lm_text.lm_tokens`: lowercase, Latin/Greek accents removed, digits -> 0, ASCII
punctuation, ICU words), then ``lmplz`` estimates a modified-Kneser-Ney model of ``--order``
(default 5, as cc_net) with its memory bounded by ``--memory`` (``lmplz -S``; never lmplz's default of
80 % of RAM), and ``build_binary`` turns the ARPA file into ``<lang>.arpa.bin``. A model card
``<lang>.card.json`` records the order, token and vocabulary counts, the sources and how text was
prepared.

lmplz and build_binary come from ``make kenlm`` (built from the kenlm sdist into
``$KENLM_BIN``, default ``~/.cache/marco-curation/kenlm-0.3.0/bin``) or from ``--kenlm-bin`` / PATH.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from operators.config_check import ConfigError  # noqa: E402
from operators.lm_text import lm_tokens  # noqa: E402
from operators.words import icu_version  # noqa: E402

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


def prepare_corpus(inputs: Sequence[str], lang: str, out_path: str) -> Dict[str, int]:
    """Normalized, segmented lines of ``inputs`` into ``out_path``; counts of lines, tokens, types."""
    lines = tokens = 0
    vocabulary = set()
    with open(out_path, "w", encoding="utf-8") as out:
        for path in inputs:
            with open(path, encoding="utf-8", errors="replace") as handle:
                for raw in handle:
                    words = lm_tokens(raw, lang)
                    if not words:
                        continue
                    out.write(" ".join(words) + "\n")
                    lines += 1
                    tokens += len(words)
                    vocabulary.update(words)
    return {"lines": lines, "tokens": tokens, "vocabulary": len(vocabulary)}


def train(lang: str, inputs: Sequence[str], output_dir: str, order: int = 5, memory: str = "20%",
          kenlm_bin: Optional[str] = None, prune: Optional[List[int]] = None) -> dict:
    """Train and binarize ``<output_dir>/<lang>.arpa.bin``; returns the model card."""
    for path in inputs:
        if not os.path.isfile(path):
            raise ConfigError(f"--input: file not found: {path}")
    if order < 2:
        raise ConfigError(f"--order: must be at least 2, got {order}")
    lmplz, build_binary = kenlm_tool("lmplz", kenlm_bin), kenlm_tool("build_binary", kenlm_bin)
    os.makedirs(output_dir, exist_ok=True)
    model_path = os.path.join(output_dir, f"{lang}.arpa.bin")
    with tempfile.TemporaryDirectory(dir=output_dir) as tmp:
        corpus = os.path.join(tmp, "corpus.txt")
        started = time.perf_counter()
        counts = prepare_corpus(inputs, lang, corpus)
        if counts["tokens"] == 0:
            raise ConfigError(f"--input: no words in {', '.join(inputs)}")
        prepared = time.perf_counter()
        arpa = os.path.join(tmp, f"{lang}.arpa")
        command = [lmplz, "-o", str(order), "-S", memory, "-T", tmp, "--discount_fallback"]
        if prune:
            command += ["--prune", *map(str, prune)]
        with open(corpus, "rb") as stdin, open(arpa, "wb") as stdout:
            subprocess.run(command, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, check=True)
        subprocess.run([build_binary, arpa, model_path + ".tmp"], stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, check=True)
        os.replace(model_path + ".tmp", model_path)
        finished = time.perf_counter()
    card = {
        "language": lang,
        "model": os.path.basename(model_path),
        "order": order,
        "smoothing": "modified Kneser-Ney (lmplz), --discount_fallback",
        "prune": prune or [],
        "training_lines": counts["lines"],
        "training_tokens": counts["tokens"],
        "vocabulary_size": counts["vocabulary"],
        "text_preparation": "operators/lm_text.py: lowercase, Latin/Greek accents removed, digits -> 0, "
                            f"ASCII punctuation, ICU {icu_version()} words",
        "sources": [{"path": os.path.abspath(p), "sha1": _sha1(p)} for p in inputs],
        "seconds": {"prepare": round(prepared - started, 2), "lmplz_and_binarize": round(finished - prepared, 2)},
    }
    with open(os.path.join(output_dir, f"{lang}.card.json"), "w", encoding="utf-8") as out:
        json.dump(card, out, indent=2, ensure_ascii=False)
    return card


def _sha1(path: str) -> str:
    digest = hashlib.sha1()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lang", required=True, help="ISO 639-1 code (segmentation and file names)")
    parser.add_argument("--input", required=True, nargs="+", help="text files, one sentence or paragraph per line")
    parser.add_argument("--output", required=True, help="folder for <lang>.arpa.bin and <lang>.card.json")
    parser.add_argument("--order", type=int, default=5)
    parser.add_argument("--memory", default="20%", help="lmplz -S (memory for sorting), e.g. 20%% or 2G")
    parser.add_argument("--prune", type=int, nargs="*", help="lmplz --prune thresholds per order")
    parser.add_argument("--kenlm-bin", help="folder holding lmplz and build_binary")
    args = parser.parse_args(argv)
    try:
        card = train(args.lang, args.input, args.output, args.order, args.memory, args.kenlm_bin, args.prune)
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


if __name__ == "__main__":
    sys.exit(main())
