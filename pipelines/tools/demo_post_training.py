"""Tiny SFT and preference data built from a curated output, so the post-training launchers can be tried end
to end on the demo (``README.md``, "From WARC to a trained checkpoint").

    python pipelines/build_demo_post_training.py --input CURATED_DIR --output OUT

Every pair of consecutive paragraphs of a curated document (``CURATED_DIR/<lang>/*.parquet``) becomes one task
"continue this text": the first paragraph is the prompt, the next one the reply. Written as

* ``OUT/instructions.jsonl``: ``{"id", "lang", "messages": [user, assistant]}`` — input of ``curate_sft.py``;
* ``OUT/preference_pairs.jsonl``: ``{"id", "lang", "prompt", "chosen", "rejected"}`` — input of
  ``build_preferences.py``: the true next paragraph is chosen; rejected is the opening paragraph of another
  document (of the same language where there is one). Opening paragraphs are never a chosen reply, so no pair
  pushes down what another pushes up (which would cancel the pairs out early in DPO).

A smoke-test set for the plumbing — real text, a real task a model can learn from a few examples — not
training data for a real model: the paper's SFT and preference data are §4.1 and §4.2.
"""

from __future__ import annotations

import argparse
import glob
import hashlib
import json
import os
import sys
from typing import Dict, List, Optional, Tuple

from common.atomic_io import atomic_write
from common.config_check import ConfigError

MIN_PARAGRAPH_CHARS = 40  # shorter lines are headings and menu remnants, not a paragraph to continue
PROMPT = "Continue this text from a web page with its next paragraph:\n\n{paragraph}"


def _paragraphs(text: str) -> List[str]:
    return [line.strip() for line in text.split("\n") if len(line.strip()) >= MIN_PARAGRAPH_CHARS]


def read_documents(curated: str) -> List[Tuple[str, str, List[str]]]:
    """(id, lang, paragraphs) of every curated document, in path order."""
    import pyarrow.parquet as pq

    paths = sorted(p for p in glob.glob(os.path.join(curated, "*", "*.parquet"))
                   if not os.path.basename(os.path.dirname(p)).startswith("_"))
    if not paths:
        raise ConfigError(f"--input: no <lang>/*.parquet shards in {curated} (a curate_cc.py or dedup.py output)")
    documents = []
    for path in paths:
        for row in pq.read_table(path, columns=["id", "lang", "text"]).to_pylist():
            documents.append((row["id"], row["lang"], _paragraphs(row["text"] or "")))
    return documents


def _rejected(documents: List[Tuple[str, str, List[str]]], index: int, turn: int) -> Optional[str]:
    """The opening paragraph of another document, of the same language first; deterministic."""
    lang = documents[index][1]
    others = [d for i, d in enumerate(documents) if i != index and d[2]]
    same = [d for d in others if d[1] == lang] or others
    if not same:
        return None
    return same[(index + turn) % len(same)][2][0]


def build(curated: str, output: str) -> Dict[str, int]:
    documents = read_documents(curated)
    counts = {"documents": len(documents), "instructions": 0, "pairs": 0}
    with atomic_write(os.path.join(output, "instructions.jsonl")) as instructions, \
            atomic_write(os.path.join(output, "preference_pairs.jsonl")) as pairs:
        for index, (doc_id, lang, paragraphs) in enumerate(documents):
            for turn in range(len(paragraphs) - 1):
                task_id = hashlib.sha1(f"{doc_id}:{turn}".encode()).hexdigest()[:16]
                prompt, reply = PROMPT.format(paragraph=paragraphs[turn]), paragraphs[turn + 1]
                instructions.write(json.dumps({"id": task_id, "lang": lang, "messages": [
                    {"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]},
                    ensure_ascii=False) + "\n")
                counts["instructions"] += 1
                rejected = _rejected(documents, index, turn)
                if rejected is not None and rejected != reply:
                    pairs.write(json.dumps({"id": task_id, "lang": lang, "prompt": prompt, "chosen": reply,
                                            "rejected": rejected}, ensure_ascii=False) + "\n")
                    counts["pairs"] += 1
    return counts


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, help="a curate_cc.py or dedup.py output (<lang>/*.parquet)")
    parser.add_argument("--output", required=True, help="folder for instructions.jsonl and preference_pairs.jsonl")
    args = parser.parse_args(argv)
    try:
        counts = build(args.input, args.output)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"{counts['documents']} documents -> {counts['instructions']} instructions "
          f"({args.output}/instructions.jsonl), {counts['pairs']} preference pairs "
          f"({args.output}/preference_pairs.jsonl)")
    return 0
