"""datatrove's MinHash signatures over a JSONL of documents, timed (runs inside ``bench/.venv-datatrove``).

    bench/.venv-datatrove/bin/python bench/minhash_datatrove_run.py --input docs.jsonl

Started by ``bench/minhash.py``. Each input line is ``{"text", "lang", "code"}``. Each language gets
its own ``MinhashDedupSignature`` with datatrove's default ``MinhashConfig`` (word 5-grams, 14 buckets
x 8 hashes, 64-bit xxhash) and the word tokenizer datatrove assigns to the language (resolved and
probed as ``quality_datatrove_run.py`` does; English where it cannot load). Timed: the step's own
per-document work, ``get_signature(get_shingles(text))``; not timed: writing the signatures to
bucket files, which ``run`` adds. One process, one thread, after a warm-up on the first document of
each language. Prints one JSON line: docs, cpu_s, wall_s, fallback_langs, tokenizers.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time

from datatrove.pipeline.dedup.minhash import MinhashConfig, MinhashDedupSignature
from quality_datatrove_run import resolve_language


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--input", required=True, help="JSONL of {text, lang, code}")
    args = parser.parse_args(argv)
    with open(args.input, encoding="utf-8") as handle:
        rows = [json.loads(line) for line in handle if line.strip()]
    first_docs = {}
    for row in rows:
        first_docs.setdefault(row["lang"], row)
    steps, tokenizers, fallbacks = {}, {}, {}
    folder = tempfile.mkdtemp()
    for lang, row in first_docs.items():
        chosen, missing = resolve_language(row["code"], lang, row["text"])
        tokenizers[lang] = chosen["words"]
        if "words" in missing:
            fallbacks[lang] = missing["words"]
        steps[lang] = MinhashDedupSignature(output_folder=folder, config=MinhashConfig(), language=chosen["words"])
    for lang, row in first_docs.items():
        steps[lang].get_signature(steps[lang].get_shingles(row["text"]))
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for row in rows:
        step = steps[row["lang"]]
        step.get_signature(step.get_shingles(row["text"]))
    cpu_s, wall_s = time.process_time() - cpu_start, time.perf_counter() - wall_start
    print(json.dumps({"docs": len(rows), "cpu_s": cpu_s, "wall_s": wall_s, "fallback_langs": fallbacks,
                      "tokenizers": tokenizers}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
