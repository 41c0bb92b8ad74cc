"""Deterministic corruptions of clean documents, the failure modes the quality filter must catch.

Each takes a document and its index (the seed) and returns the corrupted text, or None when the
corruption would not change this document (mojibake of pure ASCII text).
"""

from __future__ import annotations

import random
from typing import Callable, Dict, Optional

from operators.words import words


def shuffle_characters(doc: str, index: int, lang: str) -> Optional[str]:
    """Every line's characters (spaces included) in random order: word salad of non-words."""
    rng = random.Random(f"shuffle:{index}")
    lines = []
    for line in doc.split("\n"):
        chars = list(line)
        rng.shuffle(chars)
        lines.append("".join(chars))
    return "\n".join(lines)


def repeat_lines(doc: str, index: int, lang: str) -> Optional[str]:
    """Even documents: every line twice in a row; odd ones: the whole text pasted three times."""
    lines = doc.split("\n")
    if index % 2 == 0:
        return "\n".join(line for line in lines for _ in range(2))
    return "\n".join(lines * 3)


def boilerplate_only(doc: str, index: int, lang: str) -> Optional[str]:
    """A page of navigation: menu items of one to three of the document's words, a footer line."""
    rng = random.Random(f"boilerplate:{index}")
    vocabulary = words(doc, lang)
    items = []
    position = 0
    while position < len(vocabulary) and len(items) < 40:
        size = rng.randint(1, 3)
        items.append(" ".join(vocabulary[position:position + size]))
        position += size + rng.randint(0, 4)
    return "\n".join(items + ["© 2024 | " + " | ".join(vocabulary[:3])])


def mojibake(doc: str, index: int, lang: str) -> Optional[str]:
    """UTF-8 bytes decoded as Windows-1252, as a page with a wrong charset header renders."""
    garbled = doc.encode("utf-8").decode("cp1252", errors="replace")
    return garbled if garbled != doc else None


CORRUPTIONS: Dict[str, Callable[[str, int, str], Optional[str]]] = {
    "shuffled_characters": shuffle_characters,
    "repeated_lines": repeat_lines,
    "boilerplate_only": boilerplate_only,
    "mojibake": mojibake,
}


def encoding_damage(sentence: str) -> bool:
    """True for a sentence whose bytes were already mangled at the source (not clean text).

    Independent of the filter's detectors: a C1 control character or U+FFFD, or text that turns into
    different valid UTF-8 when re-encoded in a single-byte code page (UTF-8 that was decoded as
    cp1252, cp1250 or Latin-1, e.g. "Ã¤" for "ä" or "ďż˝" for U+FFFD).
    """
    if "\ufffd" in sentence or any(0x80 <= ord(c) <= 0x9F for c in sentence):
        return True
    # U+FFFD's own UTF-8 bytes shown through Latin-1/cp1252 and through cp1250.
    if "ï¿½" in sentence or "ďż˝" in sentence:
        return True
    for codepage in ("cp1252", "cp1250", "latin-1"):
        try:
            repaired = sentence.encode(codepage).decode("utf-8")
        except UnicodeError:
            continue
        if repaired != sentence:
            return True
    return False
