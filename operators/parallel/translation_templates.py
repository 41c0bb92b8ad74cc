"""The translation templates of paper Table 13 (Appendix A.1.1), which turn a parallel pair into
pretraining text.

"^ indicates the position of a line break"; ``<src_lang>`` and ``<tgt_lang>`` are language names
(in English), ``<input>`` the source text and ``<output>`` the target text. Templates A-B are bare
pairs, C-K instructions. A pair's template is drawn by :func:`choose_template` from a seeded RNG
keyed by the pair itself, so the choice does not depend on batch boundaries or worker order.
"""

from __future__ import annotations

import hashlib
import random
from typing import Dict

# Table 13, verbatim ("^" = line break).
TEMPLATES: Dict[str, str] = {
    "A": "<src_lang> phrase: <input> ^ <tgt_lang> phrase: <output>",
    "B": "<src_lang> text: <input> ^ <tgt_lang> text: <output>",
    "C": "Translate the text from <src_lang> to <tgt_lang>: ^ <src_lang> text: <input> ^ <tgt_lang> text: <output>",
    "D": "Translate the words from <src_lang> to <tgt_lang>: ^ <src_lang> words: <input> ^ <tgt_lang> words: <output>",
    "E": "Convert the phrase from <src_lang> to <tgt_lang>: ^ <src_lang> phrase: <input> ^ <tgt_lang> phrase: <output>",
    "F": "Render the <src_lang> sentence <input> to <tgt_lang>: <output>",
    "G": "Provide the translation of the sentence <input> from <src_lang> to <tgt_lang>: <output>",
    "H": "Change the phrase <input> to <tgt_lang>, the translated phrase is: <output>",
    "I": "Please change the sentence <input> to <tgt_lang>, and the resulting translation is: <output>",
    "J": "Change the phrase <input> to <tgt_lang>, resulting in: <output>",
    "K": "The sentence <input> in <src_lang> means <output> in <tgt_lang>",
}

# English names of the 29 target languages (paper Table 1).
LANGUAGE_NAMES: Dict[str, str] = {
    "en": "English", "zh": "Chinese", "ar": "Arabic", "de": "German", "es": "Spanish", "fr": "French",
    "ko": "Korean", "ja": "Japanese", "pt": "Portuguese", "tr": "Turkish", "bn": "Bengali", "he": "Hebrew",
    "id": "Indonesian", "it": "Italian", "ms": "Malay", "nl": "Dutch", "pl": "Polish", "ru": "Russian",
    "th": "Thai", "uk": "Ukrainian", "ur": "Urdu", "vi": "Vietnamese", "cs": "Czech", "el": "Greek",
    "hu": "Hungarian", "kk": "Kazakh", "ro": "Romanian", "az": "Azerbaijani", "ne": "Nepali",
}


def render(template_id: str, src_lang: str, tgt_lang: str, source: str, target: str) -> str:
    """The pair in template ``template_id``; ``src_lang``/``tgt_lang`` are codes of LANGUAGE_NAMES."""
    text = TEMPLATES[template_id].replace(" ^ ", "\n")
    # Placeholders are replaced in one pass, so a "<output>" inside the source text stays literal.
    values = {"<src_lang>": LANGUAGE_NAMES[src_lang], "<tgt_lang>": LANGUAGE_NAMES[tgt_lang],
              "<input>": source, "<output>": target}
    out, position = [], 0
    while position < len(text):
        start = text.find("<", position)
        if start < 0:
            out.append(text[position:])
            break
        end = text.find(">", start)
        key = text[start:end + 1]
        out.append(text[position:start])
        out.append(values.get(key, key))
        position = end + 1
    return "".join(out)


def choose_template(seed: int, src_lang: str, tgt_lang: str, source: str, target: str) -> str:
    """A template id drawn uniformly by an RNG seeded with ``seed`` and the pair's content."""
    digest = hashlib.blake2b(f"{seed}\x00{src_lang}\x00{tgt_lang}\x00{source}\x00{target}".encode(), digest_size=8)
    return random.Random(int.from_bytes(digest.digest(), "little")).choice(sorted(TEMPLATES))


__all__ = ["TEMPLATES", "LANGUAGE_NAMES", "render", "choose_template"]
