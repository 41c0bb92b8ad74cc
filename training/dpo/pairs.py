"""DPO preference pairs, tokenized once per data file and tokenizer and cached.

Each side of a pair is tokenized with the ChatML template and labelled on its response only
(``ChatML.tokenize_response``); pairs longer than ``max_length`` and malformed records are left out
and counted. The result is saved under ``<output_dir>/tokenized/<key>/`` (key: the data file's path,
size and mtime, the tokenizer, ``max_length`` and the system prompt, as the SFT packing cache), so the
launcher tokenizes the file once to check and plan the run, and its workers read the arrays instead
of tokenizing again.
"""

from __future__ import annotations

import json
import os
from typing import Dict, List, Tuple

import numpy as np

from training.engine.lm_loss import IGNORE_INDEX
from training.sft.chat_template import ChatML, ChatMLFormatError
from training.sft.dataset import cache_key, install_folder
from training.sft.packing import TokenizedExample

Pair = Tuple[TokenizedExample, TokenizedExample]


def tokenize_pairs(path: str, chatml: ChatML, max_length: int) -> Tuple[List[Pair], Dict[str, int]]:
    pairs, skipped = [], {"too_long": 0, "bad_format": 0}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            if not line.strip():
                continue
            try:
                record = json.loads(line)
                chosen = chatml.tokenize_response(record["prompt"], record["chosen"])
                rejected = chatml.tokenize_response(record["prompt"], record["rejected"])
            except (ChatMLFormatError, KeyError, TypeError, json.JSONDecodeError):
                skipped["bad_format"] += 1
                continue
            if max(len(chosen), len(rejected)) > max_length:
                skipped["too_long"] += 1
                continue
            pairs.append((chosen, rejected))
    return pairs, skipped


def save_pairs(pairs: List[Pair], skipped: Dict[str, int], folder: str) -> None:
    """Chosen and rejected sides interleaved in three arrays; written under a temporary name, then renamed."""
    sides = [side for pair in pairs for side in pair]
    tmp = folder + f".tmp-{os.getpid()}"
    os.makedirs(tmp, exist_ok=True)
    lengths = [len(side) for side in sides]
    np.save(os.path.join(tmp, "tokens.npy"), np.asarray([t for s in sides for t in s.input_ids], dtype=np.int32))
    np.save(os.path.join(tmp, "trained.npy"),
            np.asarray([label != IGNORE_INDEX for s in sides for label in s.labels], dtype=np.uint8))
    np.save(os.path.join(tmp, "offsets.npy"), np.concatenate(([0], np.cumsum(lengths, dtype=np.int64))))
    with open(os.path.join(tmp, "meta.json"), "w", encoding="utf-8") as handle:
        json.dump({"pairs": len(pairs), **skipped}, handle)
    install_folder(tmp, folder)


def load_pairs(folder: str) -> Tuple[List[Pair], Dict[str, int]]:
    with open(os.path.join(folder, "meta.json"), encoding="utf-8") as handle:
        meta = json.load(handle)
    tokens, trained = np.load(os.path.join(folder, "tokens.npy")), np.load(os.path.join(folder, "trained.npy"))
    offsets = np.load(os.path.join(folder, "offsets.npy"))
    sides = []
    for lo, hi in zip(offsets[:-1].tolist(), offsets[1:].tolist()):
        ids = tokens[lo:hi].tolist()
        sides.append(TokenizedExample(tuple(ids), tuple(t if m else IGNORE_INDEX
                                                        for t, m in zip(ids, trained[lo:hi].tolist()))))
    pairs = list(zip(sides[0::2], sides[1::2]))
    return pairs, {k: v for k, v in meta.items() if k != "pairs"}


def cached_pairs(data: str, chatml: ChatML, tokenizer_source: str, max_length: int, system_prompt: str,
                 output_dir: str) -> Tuple[List[Pair], Dict[str, int]]:
    """The pairs of ``data``: read from the cache, or tokenized and cached by this process."""
    folder = os.path.join(output_dir, "tokenized", cache_key(data, tokenizer_source, max_length, system_prompt))
    if os.path.isdir(folder):
        return load_pairs(folder)
    pairs, skipped = tokenize_pairs(data, chatml, max_length)
    save_pairs(pairs, skipped, folder)
    return pairs, skipped


__all__ = ["tokenize_pairs", "save_pairs", "load_pairs", "cached_pairs", "Pair"]
