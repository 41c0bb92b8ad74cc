"""Which quality rules fit which knowledge data (``kind``), as the default thresholds of the knowledge
pipeline's quality filter (``operators/web/quality_filter.py``; rules in ``operators/web/quality_thresholds.py``).

The web thresholds were derived from web pages; a QA item is a few lines, a math solution is formulas, a code
file is code. Off (``null``), and why:

* every kind — ``min_word_count`` becomes 10 (a question with its answer is one paragraph, not a page: 50 is
  Gopher's page minimum), ``short_line_ratio`` and ``no_terminal_punct_ratio`` (choices and "Answer: B" are
  short lines without a full stop);
* ``math`` — also ``symbol_ratio``, ``digit_ratio``, ``alpha_word_ratio``, ``mean_word_length`` and
  ``stop_word_ratio`` (formulas are symbols and digits, not words);
* ``code`` — every rule on words and lines (the above, plus ``max_mean_word_length``, ``blocklist_ratio``,
  the duplicate-line and repeated n-gram rules: code repeats lines and identifiers by nature); what stays is
  encoding damage (replacement characters, mojibake, control characters) and the word-count bounds.

Everything kept is the web filter's rule with its default threshold; a config's ``quality.thresholds`` overrides
any of it.
"""

from __future__ import annotations

from typing import Any, Dict

KINDS = ("text", "math", "code")

_TEXT = {"min_word_count": 10, "max_short_line_ratio": None, "max_no_terminal_punct_ratio": None}
_MATH = {**_TEXT, "max_symbol_ratio": None, "max_digit_ratio": None, "min_alpha_word_ratio": None,
         "min_mean_word_length": None, "max_mean_word_length": None, "min_stop_word_ratio": None}
_CODE = {**_MATH, "max_blocklist_ratio": None, "max_consecutive_dup_line_ratio": None,
         "max_dup_line_frac": None, "max_dup_para_frac": None, "max_dup_line_char_frac": None,
         "max_dup_para_char_frac": None}


def preset(kind: str) -> Dict[str, Any]:
    """The ``default`` thresholds of ``kind`` (rule -> value, None = off)."""
    base = {"text": _TEXT, "math": _MATH, "code": _CODE}[kind]
    if kind == "code":
        from operators.web.quality_thresholds import RULES

        base = {**base, **{r.key: None for r in RULES if "gram" in r.key}}
    return dict(base)


__all__ = ["KINDS", "preset"]
