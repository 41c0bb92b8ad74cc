"""datatrove's heuristic quality filters over a JSONL of documents, timed (runs inside ``bench/.venv-datatrove``).

    bench/.venv-datatrove/bin/python bench/quality_datatrove_run.py --input docs.jsonl [--all-filters]

Started by ``bench/quality.py``. Each input line is ``{"text", "lang", "code"}``: ``lang`` is our ISO 639-1
label and ``code`` its FLORES-200 code (``rus_Cyrl``), which is how datatrove names languages.

The filters are GopherRepetitionFilter -> GopherQualityFilter -> C4QualityFilter -> FineWebQualityFilter,
the order of FineWeb's pipeline, with their default parameters except ``language``. Each document goes
through their public ``filter(doc)`` method in that order and stops at the first filter that drops it,
as in a pipeline (``--all-filters`` runs all four on every document instead, to time the full cost).
Skipped on purpose: the pipeline's own bookkeeping around ``filter`` (stats, timers, the generator
chain), which only adds to datatrove's cost.

``language`` picks the word tokenizer. The Gopher and FineWeb filters only split words; C4QualityFilter
only splits sentences. Each language uses datatrove's own tokenizer where it works here, probed on the
language's first document, and English where it does not (a dependency that needs a model download at
run time, or one that is not installed). Those fall-backs are reported per language and capability.

One process, one thread. After a warm-up over the first document of every language (loading spaCy,
jieba, Sudachi, Kiwi, ...), the timed loop reads ``time.process_time`` and ``time.perf_counter``.
The result is printed as one JSON line on stdout: docs, cpu_s, wall_s, kept, kept_by_lang,
per_filter_drops (by the first filter that dropped a document), per_filter_s (wall seconds inside each
filter), seconds_by_lang (wall), fallback_langs, and tokenizers (the datatrove key used per language and
capability).

datatrove keeps its last five splits (``functools.lru_cache`` on ``split_into_parts``), so a document is
split into words once, by GopherRepetitionFilter, and the later filters reuse that (FineWebQualityFilter
splits again when C4QualityFilter has removed lines). per_filter_s credits the split to the first filter.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from typing import Dict, List, Optional, Tuple

from datatrove.data import Document
from datatrove.pipeline.filters import (
    C4QualityFilter,
    FineWebQualityFilter,
    GopherQualityFilter,
    GopherRepetitionFilter,
)
from datatrove.utils.word_tokenizers import load_tokenizer_assignments, load_word_tokenizer

ENGLISH = "eng_Latn"
# datatrove's table names Chinese script "Hani"; FLORES distinguishes simplified and traditional.
SCRIPT_ALIASES = {"Hans": "Hani", "Hant": "Hani"}


def candidate_keys(code: str, lang: str) -> List[str]:
    """datatrove tokenizer keys to try for a FLORES code, most specific first.

    The bare ISO 639-1 key comes last: in datatrove 0.10.1's table it can point at another script's
    tokenizer (``bn`` resolves to Stanza for Bengali in Latin script).
    """
    code3, _, script = code.partition("_")
    keys = [code, f"{code3}_{SCRIPT_ALIASES.get(script, script)}", code3, lang]
    return list(dict.fromkeys(keys))


def _probe(key: str, sample: str, capability: str) -> Optional[str]:
    """None if datatrove's tokenizer for ``key`` can split ``sample`` into words/sentences, else why not."""
    try:
        tokenizer = load_word_tokenizer(key)
        if capability == "words":
            tokenizer.word_tokenize(sample)
        else:
            tokenizer.span_tokenize(sample)
    except Exception as exc:  # ImportError for a missing package, or a model a tokenizer cannot download
        return f"{type(exc).__name__}: {str(exc).splitlines()[0][:160] if str(exc) else ''}"
    return None


def resolve_language(code: str, lang: str, sample: str) -> Tuple[Dict[str, str], Dict[str, str]]:
    """({capability: datatrove key}, {capability: reason for the English fall-back}) for one language."""
    assigned = load_tokenizer_assignments()
    key = next((k for k in candidate_keys(code, lang) if k in assigned), None)
    chosen: Dict[str, str] = {}
    fallbacks: Dict[str, str] = {}
    for capability in ("words", "sentences"):
        reason = "no tokenizer assigned in datatrove" if key is None else _probe(key, sample, capability)
        chosen[capability] = ENGLISH if reason else key
        if reason:
            fallbacks[capability] = reason
    return chosen, fallbacks


def build_filters(word_key: str, sentence_key: str) -> List:
    """The four filters with default parameters, in FineWeb's order."""
    return [
        GopherRepetitionFilter(language=word_key),
        GopherQualityFilter(language=word_key),
        C4QualityFilter(language=sentence_key),
        FineWebQualityFilter(language=word_key),
    ]


def verdict(result) -> Tuple[bool, Optional[str]]:
    """A ``filter`` result (bool, or (False, reason)) as (keep, reason)."""
    if isinstance(result, tuple):
        return bool(result[0]), result[1]
    return bool(result), None


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="JSONL of {text, lang, code}")
    parser.add_argument("--all-filters", action="store_true",
                        help="run all four filters on every document (no stop at the first drop)")
    args = parser.parse_args(argv)

    with open(args.input, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]

    # Per language: the tokenizer keys (probed on its first document) and its own filter instances,
    # since a filter's language is fixed at construction.
    filters: Dict[str, List] = {}
    tokenizers: Dict[str, Dict[str, str]] = {}
    fallback_langs: Dict[str, Dict[str, str]] = {}
    first_docs: Dict[str, dict] = {}
    for row in rows:
        first_docs.setdefault(row["lang"], row)
    for lang, row in first_docs.items():
        chosen, fallbacks = resolve_language(row["code"], lang, row["text"])
        tokenizers[lang] = chosen
        if fallbacks:
            fallback_langs[lang] = fallbacks
        filters[lang] = build_filters(chosen["words"], chosen["sentences"])

    def run_one(index: int, row: dict, drops: Counter, spent: List[float]) -> bool:
        doc = Document(text=row["text"], id=str(index), metadata={"language": row["code"]})
        kept = True
        for position, step in enumerate(filters[row["lang"]]):
            started = time.perf_counter()
            keep, reason = verdict(step.filter(doc))
            spent[position] += time.perf_counter() - started
            if not keep:
                if kept:  # the first filter that drops it is the one a pipeline would credit
                    drops[f"{type(step).__name__}:{reason or 'dropped'}"] += 1
                kept = False
                if not args.all_filters:
                    break
        return kept

    # Warm-up: every language's tokenizers load their models and dictionaries here.
    for index, row in enumerate(first_docs.values()):
        run_one(index, row, Counter(), [0.0] * 4)

    drops: Counter = Counter()
    spent = [0.0] * 4
    kept_by_lang: Counter = Counter()
    seconds_by_lang: Counter = Counter()
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for index, row in enumerate(rows):
        started = time.perf_counter()
        if run_one(index, row, drops, spent):
            kept_by_lang[row["lang"]] += 1
        seconds_by_lang[row["lang"]] += time.perf_counter() - started
    cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start

    names = [type(step).__name__ for step in next(iter(filters.values()))] if filters else []
    print(json.dumps({
        "docs": len(rows), "cpu_s": cpu_s, "wall_s": wall_s, "kept": sum(kept_by_lang.values()),
        "kept_by_lang": {lang: kept_by_lang[lang] for lang in first_docs},
        "all_filters": args.all_filters,
        "per_filter_drops": dict(drops.most_common()),
        "per_filter_s": {name: round(s, 3) for name, s in zip(names, spent)},
        "seconds_by_lang": {lang: round(seconds_by_lang[lang], 3) for lang in first_docs},
        "fallback_langs": fallback_langs,
        "tokenizers": tokenizers,
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
