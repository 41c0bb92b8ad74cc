"""Near-duplicates planted in real text, with their exact Jaccard similarity known.

Base documents are NTREX-128 news articles and Leipzig web-sentence documents
(``pipelines/reference_documents.py``). A variant of a base replaces one randomly chosen word at a
time with a word from another document of the same language, until the exact Jaccard similarity of
the two documents' shingle sets (:func:`operators.minhash.shingles`, the definition MinHash
estimates) falls to a target drawn for that pair. Near variants target [0.8, 1.0] (1.0 = an exact
copy; the first four near variants are exact copies), far variants [0.3, 0.5). Returns the
documents (bases first) and ``{(base id, variant id): exact Jaccard}``.
"""

from __future__ import annotations

import random
from typing import Dict, List, Tuple

from operators.minhash import shingles
from operators.words import is_letter_word, segment
from pipelines.reference_documents import documents


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def replace_one_word(text: str, lang: str, rng: random.Random, vocabulary: List[str]) -> str:
    spans, statuses = segment(text, lang)
    choices = [span for span, status in zip(spans, statuses) if is_letter_word(status)]
    start, end = rng.choice(choices)
    return text[:start] + rng.choice(vocabulary) + text[end:]


def variant(base: str, lang: str, target: float, floor: float, rng: random.Random,
            vocabulary: List[str]) -> Tuple[str, float]:
    """(edited copy of ``base`` with Jaccard at most ``target`` and at least ``floor``, its exact
    Jaccard): one word replaced at a time; an edit that would fall below ``floor`` is undone and
    another word is tried (when none fits, the copy stays a little above ``target``)."""
    reference = set(shingles(base, lang))
    text, similarity, undone = base, 1.0, 0
    while similarity > target and undone < 20:  # 20 edits in a row undone: as close as it gets
        edited = replace_one_word(text, lang, rng, vocabulary)
        edited_similarity = jaccard(reference, set(shingles(edited, lang)))
        if edited_similarity >= floor:
            text, similarity, undone = edited, edited_similarity, 0
        else:
            undone += 1
    return text, similarity


EXACT_COPIES = 4


def planted_corpus(data_dir: str, lang: str, bases: int = 80, near: int = 24, far: int = 12,
                   seed: int = 0) -> Tuple[List[Tuple[str, str]], Dict[Tuple[str, str], float]]:
    rng = random.Random(f"{seed}:{lang}")
    pool = documents("ntrex", data_dir, lang)
    if lang != "ne":
        pool = pool[:60] + documents("leipzig", data_dir, lang)[:20]
    base_docs = [(f"{lang}-base-{i:03d}", text) for i, text in enumerate(pool[:bases])]
    vocabulary = [text[s:e] for _, text in base_docs[:10]
                  for (s, e), status in zip(*segment(text, lang)) if is_letter_word(status)]
    docs = list(base_docs)
    pairs: Dict[Tuple[str, str], float] = {}
    picked = rng.sample(range(10, len(base_docs)), near + far)
    for k, index in enumerate(picked):
        if k < near:
            floor, target = 0.8, 1.0 if k < EXACT_COPIES else rng.uniform(0.8, 1.0)
        else:
            floor, target = 0.3, rng.uniform(0.3, 0.5)
        text, similarity = variant(base_docs[index][1], lang, target, floor, rng, vocabulary)
        variant_id = f"{lang}-{'near' if k < near else 'far'}-{k:03d}"
        docs.append((variant_id, text))
        pairs[(base_docs[index][0], variant_id)] = similarity
    return docs, pairs
