"""A tiny model in LASER's file layout, built from text: fastBPE codes and vocabulary, and a BiLSTM
encoder checkpoint as ``laserembeddings`` loads it (random weights: for running the path, not for
judging translations; the real model cannot be downloaded here)."""

from __future__ import annotations

import os
from collections import Counter
from typing import Sequence

from operators.laser import BPE_CODES, BPE_VOCAB, ENCODER


def build_tiny_laser(folder: str, sentences: Sequence[str], merges: int = 60, seed: int = 0) -> str:
    import torch
    from laserembeddings.encoder import Encoder

    os.makedirs(folder, exist_ok=True)
    words = Counter(w for s in sentences for w in s.lower().split())
    pairs = Counter()
    for word, count in words.items():
        symbols = list(word[:-1]) + [word[-1] + "</w>"] if word else []
        for a, b in zip(symbols, symbols[1:]):
            pairs[(a, b)] += count
    with open(os.path.join(folder, BPE_CODES), "w", encoding="utf-8") as handle:
        for (a, b), count in pairs.most_common(merges):
            handle.write(f"{a} {b} {count}\n")
    characters = Counter(ch for w, c in words.items() for ch in w for _ in range(c))
    tokens = [f"{ch}@@" for ch, _ in characters.most_common()] + [ch for ch, _ in characters.most_common()]
    tokens += [a + b.replace("</w>", "") for (a, b), _ in pairs.most_common(merges)]
    with open(os.path.join(folder, BPE_VOCAB), "w", encoding="utf-8") as handle:
        for token in dict.fromkeys(tokens):
            handle.write(f"{token} 1\n")
    dictionary = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for token in dict.fromkeys(tokens):
        dictionary.setdefault(token, len(dictionary))
    params = {"num_embeddings": len(dictionary), "padding_idx": 1, "embed_dim": 16, "hidden_size": 16,
              "num_layers": 1, "bidirectional": True, "left_pad": True, "padding_value": 0.0}
    torch.manual_seed(seed)
    encoder = Encoder(**params)
    torch.save({"params": params, "model": encoder.state_dict(), "dictionary": dictionary},
               os.path.join(folder, ENCODER))
    return folder
