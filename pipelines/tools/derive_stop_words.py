"""Derive per-language stop-word lists from word frequencies in reference text.

    python pipelines/derive_stop_words.py --flores ../shared/data/flores200_dev \
        --output operators/resources/quality/stop_words

Rule (a corpus-based stop list, as in classic IR): segment each sentence with the shared segmenter
(:mod:`common.words`), lowercase, and keep the words that occur in at least ``--min-share`` of the
sentences (default 3 %), at most ``--max-words`` of them (default 150), most frequent first. Tokens
with digits are skipped. Function words are exactly the words that occur everywhere whatever the topic,
which is what the stop-word ratio needs; the lists come out of the same segmenter that the filter
uses, so Chinese, Japanese and Thai lists match the words the filter sees.

Reference text: FLORES-200 dev (997 sentences of Wikinews, Wikivoyage and Wikibooks per language,
professionally translated from English into each language). The test corpora (NTREX-128 and the
Leipzig sentences) are kept out on purpose. No maintained package ships lists for all 29 languages
(spaCy lacks Kazakh; NLTK's lists download at run time), and one rule for every language keeps the
stop-word ratio comparable across languages.
"""

from __future__ import annotations

import argparse
import os
from collections import Counter
from typing import Dict, Iterable, List

from common.languages import FLORES_CODES, TARGET_LANGUAGES
from common.words import icu_version, words


def stop_words(sentences: Iterable[str], lang: str, min_share: float, max_words: int) -> List[str]:
    """The words found in at least ``min_share`` of ``sentences``, most frequent first."""
    sentence_count = 0
    frequency: Counter = Counter()
    for sentence in sentences:
        sentence_count += 1
        frequency.update({w.lower() for w in words(sentence, lang) if not any(c.isdigit() for c in w)})
    if not sentence_count:
        return []
    ranked = sorted(frequency.items(), key=lambda wc: (-wc[1], wc[0]))
    return [w for w, n in ranked if n / sentence_count >= min_share][:max_words]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--flores", required=True, help="FLORES-200 dev folder (<code>.dev files)")
    parser.add_argument("--output", required=True, help="folder for <lang>.txt lists")
    parser.add_argument("--min-share", type=float, default=0.03)
    parser.add_argument("--max-words", type=int, default=150)
    args = parser.parse_args(argv)
    os.makedirs(args.output, exist_ok=True)
    sizes: Dict[str, int] = {}
    for lang in TARGET_LANGUAGES:
        path = os.path.join(args.flores, f"{FLORES_CODES[lang]}.dev")
        with open(path, encoding="utf-8") as handle:
            sentences = [line.strip() for line in handle if line.strip()]
        chosen = stop_words(sentences, lang, args.min_share, args.max_words)
        sizes[lang] = len(chosen)
        with open(os.path.join(args.output, f"{lang}.txt"), "w", encoding="utf-8") as out:
            out.write(
                f"# Stop words for {lang}: words in >= {args.min_share:.0%} of the {len(sentences)} sentences of "
                f"FLORES-200 dev ({FLORES_CODES[lang]}),\n# segmented with ICU {icu_version()}, lowercased, "
                f"most frequent first (pipelines/derive_stop_words.py). One word per line.\n"
            )
            out.write("\n".join(chosen) + "\n")
    print(" ".join(f"{lang}={n}" for lang, n in sizes.items()))
    return 0

