"""Per-language thresholds of the quality filter: the rules, the YAML file, and how they are derived.

Each rule bounds one signal of :mod:`operators.web.quality_signals` from below (``min_*``) or above
(``max_*``); a document failing a rule is dropped with the reason ``quality:<rule>``. Thresholds are
kept per language in a YAML file shaped like a ``curate_cc.py`` config, so the file a derivation
writes is itself a valid ``--config``::

    quality:
      thresholds:
        default: {min_word_count: 50, max_dup_line_frac: 0.3, ...}   # any language not listed
        en: {min_stop_word_ratio: 0.21, ...}                         # missing keys: from default
        zh: {max_mean_word_length: null, ...}                        # null disables a rule

How a threshold is derived from a sample of documents of one language (paper §3.1.1: "the filtering
thresholds are based on a statistical analysis of large document samples"): take the 10th and 90th
percentiles P10 and P90 of the signal and put a Tukey fence 1.5 x (P90 - P10) beyond them:
``max_* = P90 + 1.5 (P90 - P10)`` and ``min_* = P10 - 1.5 (P90 - P10)``. Outer percentiles rather than
quartiles because web signals are long-tailed, and a fence rather than a bare percentile so that a
clean sample does not lose a fixed share of its documents by construction. This is how we implement
CulturaX's percentile-based thresholds; data-juicer's recipes use mean ± 3σ instead.

The derived value is then clamped into the rule's guard range ``[lo, hi]``. For rules that a peer
publishes, the peer's default is the strict end of the range (Gopher's quality rules, FineWeb's line
rules, FineWeb-2's n-gram repetition values): statistics may loosen a peer default where a language needs it, never tighten
it. Document length is a policy, not a statistic (Gopher: 50 to 100,000 words) and is not derived.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Dict, List, Mapping, Optional, Sequence

import numpy as np

from common.config_check import ConfigError
from operators.web.quality_signals import DUP_NGRAMS, SIGNALS, TOP_NGRAMS


@dataclass(frozen=True)
class Rule:
    key: str            # threshold key and drop reason (quality:<key>)
    signal: str         # column q_<signal>
    direction: str      # "min": drop when signal < threshold; "max": drop when signal > threshold
    default: float      # value for languages without a derived threshold
    lo: float           # guard range of a derived value
    hi: float
    derived: bool = True
    source: str = ""


def _max(signal, default, lo, hi, source, derived=True):
    return Rule(f"max_{signal}", signal, "max", default, lo, hi, derived, source)


def _min(signal, default, lo, hi, source, derived=True):
    return Rule(f"min_{signal}", signal, "min", default, lo, hi, derived, source)


# Evaluation order = order of this table: the first failing rule names the drop reason.
RULES: tuple = (
    # Garbled text: clean text has none; derived thresholds are 0 unless a sample shows otherwise.
    _max("replacement_ratio", 0.0, 0.0, 0.01, "undecodable bytes"),
    _max("mojibake_per_kchar", 0.0, 0.0, 1.0, "ftfy badness"),
    _max("control_ratio", 0.0, 0.0, 0.01, "control / private-use characters"),
    # Length and words.
    _min("word_count", 50, 50, 50, "Gopher min_doc_words (policy)", derived=False),
    _max("word_count", 100_000, 100_000, 100_000, "Gopher max_doc_words (policy)", derived=False),
    _min("mean_word_length", 3.0, 0.5, 3.0, "Gopher 3 (spaced scripts)"),
    _max("mean_word_length", 10.0, 10.0, 30.0, "Gopher 10"),
    _max("symbol_ratio", 0.25, 0.25, 0.50, "web pages: lists, separators, CJK brackets"),
    _max("digit_ratio", 0.15, 0.15, 0.50, "news and listings reach 10 % digits"),
    _min("alpha_word_ratio", 0.8, 0.5, 0.8, "Gopher 80 % words with a letter"),
    _min("stop_word_ratio", 0.05, 0.0, 0.15, "ROOTS per-language minimums 0.002-0.17"),
    _max("blocklist_ratio", 0.02, 0.02, 0.10, "ROOTS flagged-word ratio; news on crime reaches 1 %"),
    # Lines.
    _max("short_line_ratio", 0.67, 0.67, 1.0, "FineWeb short_line_thr"),
    _max("no_terminal_punct_ratio", 0.88, 0.88, 1.0, "FineWeb line_punct_thr 0.12"),
    _max("consecutive_dup_line_ratio", 0.1, 0.1, 0.5, ""),
    # Repetition (Gopher Table A1). For word n-grams the strict end is FineWeb-2's per-language value
    # for Chinese (cmn_Hani: top 2/3/4 = 0.256/0.201/0.171, dup 5 = 0.198 ... 10 = 0.127, 6-9
    # interpolated here), a little looser than Gopher's: news articles repeat their headline in the
    # lead sentence, which puts clean NTREX articles at 5-gram duplicate fractions up to 0.2.
    _max("dup_line_frac", 0.30, 0.30, 0.6, "Gopher"),
    _max("dup_para_frac", 0.30, 0.30, 0.6, "Gopher"),
    _max("dup_line_char_frac", 0.20, 0.20, 0.6, "Gopher"),
    _max("dup_para_char_frac", 0.20, 0.20, 0.6, "Gopher"),
    *(_max(f"top_{n}gram_frac", v, v, 0.5, "FineWeb-2 cmn_Hani") for n, v in zip(TOP_NGRAMS, (0.256, 0.201, 0.171))),
    *(_max(f"dup_{n}gram_frac", v, v, 0.5, "FineWeb-2 cmn_Hani")
      for n, v in zip(DUP_NGRAMS, (0.198, 0.184, 0.170, 0.155, 0.141, 0.127))),
)
RULES_BY_KEY: Dict[str, Rule] = {rule.key: rule for rule in RULES}
assert all(rule.signal in SIGNALS for rule in RULES)

FENCE = 1.5
LOW_PERCENTILE, HIGH_PERCENTILE = 10.0, 90.0
_LANG_KEY = re.compile(r"^(default|[a-z]{2,3})$")

Thresholds = Dict[str, Optional[float]]  # rule key -> threshold (None: rule off)


def default_thresholds() -> Thresholds:
    return {rule.key: float(rule.default) for rule in RULES}


def derive(rule: Rule, values: Sequence[float]) -> float:
    """A threshold for ``rule`` from one language's sample of signal values (fence, then guard)."""
    if not rule.derived:
        return float(rule.default)
    low, high = np.percentile(np.asarray(values, dtype=np.float64), [LOW_PERCENTILE, HIGH_PERCENTILE])
    spread = FENCE * (high - low)
    value = high + spread if rule.direction == "max" else low - spread
    return float(min(max(value, rule.lo), rule.hi))


def check_thresholds(data: object, where: str = "quality.thresholds") -> Dict[str, Thresholds]:
    """Validate a ``{lang: {rule: value}}`` mapping; one error naming the first bad key."""
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where}: expected a mapping of language -> thresholds")
    checked: Dict[str, Thresholds] = {}
    for lang, rules in data.items():
        if not isinstance(lang, str) or not _LANG_KEY.match(lang):
            raise ConfigError(f"{where}.{lang}: not a language code (ISO 639-1/3) or 'default'")
        if rules is None:
            rules = {}
        if not isinstance(rules, Mapping):
            raise ConfigError(f"{where}.{lang}: expected a mapping of rule -> threshold")
        checked[lang] = {}
        for key, value in rules.items():
            if key not in RULES_BY_KEY:
                raise ConfigError(f"{where}.{lang}.{key}: unknown rule (known: {', '.join(RULES_BY_KEY)})")
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value)):
                raise ConfigError(f"{where}.{lang}.{key}: expected a number or null, got {value!r}")
            checked[lang][key] = None if value is None else float(value)
    return checked


def resolve(per_language: Mapping[str, Thresholds], lang: str) -> Thresholds:
    """Thresholds for ``lang``: built-in defaults < the file's ``default`` < the file's ``lang``."""
    resolved = default_thresholds()
    resolved.update(per_language.get("default", {}))
    resolved.update(per_language.get(lang, {}))
    return resolved


def failing_rule(signals: Mapping[str, float], thresholds: Thresholds) -> Optional[str]:
    """Key of the first rule a document fails, or None."""
    for rule in RULES:
        limit = thresholds.get(rule.key)
        if limit is None:
            continue
        value = signals[rule.signal]
        if (value < limit) if rule.direction == "min" else (value > limit):
            return rule.key
    return None


def rule_table() -> List[dict]:
    return [
        {"rule": r.key, "direction": r.direction, "default": r.default, "guard": [r.lo, r.hi],
         "derived": r.derived, "source": r.source}
        for r in RULES
    ]


__all__ = ["RULES", "RULES_BY_KEY", "Rule", "Thresholds", "derive", "check_thresholds", "resolve",
           "failing_rule", "default_thresholds", "rule_table"]
