"""Shared helpers of the perplexity tests: the held-out sentences written beside the reference models."""

import os
from typing import List


def heldout_sentences(model_dir: str, lang: str) -> List[str]:
    with open(os.path.join(model_dir, "heldout", f"{lang}.txt"), encoding="utf-8") as handle:
        return [line.strip() for line in handle if line.strip()]
