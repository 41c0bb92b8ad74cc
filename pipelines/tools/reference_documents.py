"""Documents of clean reference text in the curated-output layout (``OUT/<lang>/*.parquet``).

    python pipelines/reference_documents.py --corpus flores --data ../shared/data --output build/reference/flores

Three corpora of professionally written or translated text, grouped into documents:

* ``flores``: FLORES-200 dev, sentences kept in order and grouped by source article
  (``metadata_dev.tsv`` URL); an article shorter than ``FLORES_MIN_SENTENCES`` sentences is joined
  with the articles after it (FLORES articles are 3-5 sentences, shorter than web documents, and
  their signal distributions would be too wide). 118 documents per language. The shipped quality
  thresholds are derived from these.
* ``ntrex``: NTREX-128, sentences grouped by news article (``DOCUMENT_IDS.tsv``), 123 per language.
* ``leipzig``: the Leipzig web sentences of ``mono_leipzig_lingua``, ten per document, dealt out
  round-robin from the alphabetically sorted file (28 languages; no Nepali).

One sentence per line, as extracted article text looks. Used to derive thresholds
(``derive_thresholds.py``), to test the filters and to benchmark them.
"""

from __future__ import annotations

import argparse
import hashlib
import os
from itertools import groupby
from typing import Dict, List, Sequence

import pyarrow as pa
import pyarrow.parquet as pq

from common.languages import FLORES_CODES, TARGET_LANGUAGES

CORPORA = ("flores", "ntrex", "leipzig")
LEIPZIG_SENTENCES_PER_DOCUMENT = 10
FLORES_MIN_SENTENCES = 8


def _lines(path: str) -> List[str]:
    with open(path, encoding="utf-8") as handle:
        return [line.rstrip("\n") for line in handle]


def _group(sentences: Sequence[str], keys: Sequence[str]) -> List[str]:
    if len(sentences) != len(keys):
        raise ValueError(f"{len(sentences)} sentences but {len(keys)} document keys")
    pairs = zip(keys, sentences)
    return ["\n".join(s.strip() for _, s in group) for _, group in groupby(pairs, key=lambda ks: ks[0])]


def _join_short(docs: Sequence[str], min_lines: int) -> List[str]:
    """Join consecutive documents until each has at least ``min_lines`` lines (the last may have fewer)."""
    joined: List[str] = []
    pending: List[str] = []
    for doc in docs:
        pending.append(doc)
        if sum(d.count("\n") + 1 for d in pending) >= min_lines:
            joined.append("\n".join(pending))
            pending = []
    if pending:
        joined.append("\n".join(pending))
    return joined


def documents(corpus: str, data_dir: str, lang: str) -> List[str]:
    """The documents of ``corpus`` in ``lang`` (empty when the corpus lacks the language)."""
    code = FLORES_CODES[lang]
    if corpus == "flores":
        urls = [row.split("\t")[0] for row in _lines(os.path.join(data_dir, "flores200_dev", "metadata_dev.tsv"))[1:]]
        articles = _group(_lines(os.path.join(data_dir, "flores200_dev", f"{code}.dev")), urls)
        return _join_short(articles, FLORES_MIN_SENTENCES)
    if corpus == "ntrex":
        ids = [row.split("\t")[0] for row in _lines(os.path.join(data_dir, "ntrex128", "DOCUMENT_IDS.tsv"))]
        return _group(_lines(os.path.join(data_dir, "ntrex128", f"{code}.txt")), ids)
    if corpus == "leipzig":
        path = os.path.join(data_dir, "mono_leipzig_lingua", f"{lang}.txt")
        if not os.path.isfile(path):
            return []
        sentences = [s.strip() for s in _lines(path) if s.strip()]
        # The files are sorted alphabetically, so neighbours are often the same template sentence
        # ("... population was N in 2006."): deal them out round-robin instead.
        count = -(-len(sentences) // LEIPZIG_SENTENCES_PER_DOCUMENT)
        return ["\n".join(sentences[k::count]) for k in range(count)]
    raise ValueError(f"unknown corpus {corpus!r} (known: {', '.join(CORPORA)})")


def document_table(corpus: str, lang: str, docs: Sequence[str]) -> pa.Table:
    ids = [f"{corpus}:{lang}:{i}" for i in range(len(docs))]
    return pa.table({
        "id": ids,
        "url": [f"reference://{corpus}/{lang}/{i}" for i in range(len(docs))],
        "source": [corpus] * len(docs),
        "text": list(docs),
        "lang": [lang] * len(docs),
        "lang_score": pa.array([1.0] * len(docs), type=pa.float32()),
    })


def write_corpus(corpus: str, data_dir: str, output: str) -> Dict[str, int]:
    counts: Dict[str, int] = {}
    for lang in TARGET_LANGUAGES:
        docs = documents(corpus, data_dir, lang)
        if not docs:
            continue
        os.makedirs(os.path.join(output, lang), exist_ok=True)
        digest = hashlib.sha1("\n\0".join(docs).encode()).hexdigest()[:8]
        pq.write_table(document_table(corpus, lang, docs), os.path.join(output, lang, f"{corpus}-{digest}.parquet"))
        counts[lang] = len(docs)
    return counts


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", choices=CORPORA, required=True)
    parser.add_argument("--data", required=True, help="the shared data folder (holds flores200_dev/, ntrex128/, ...)")
    parser.add_argument("--output", required=True)
    args = parser.parse_args(argv)
    counts = write_corpus(args.corpus, args.data, args.output)
    print(" ".join(f"{lang}={n}" for lang, n in counts.items()))
    return 0

