"""Mergeable per-operator counts: docs in, docs out, dropped per reason, kept per language.

One source, several sinks: the runner records into a :class:`PipelineStats`; the pipeline writes it as
``stats.json``, prints it as a table and (on Ray) mirrors it into Ray metrics. Shape of the JSON::

    {"operators": [{"name", "docs_in", "docs_out", "dropped": {reason: count},
                    "by_language": {lang: {"docs_in", "docs_out", "dropped"}}}, ...],
     "kept_per_language": {lang: count}}

``by_language`` is present for operators that see a ``lang`` column (language ID and later steps);
``noted`` counts kept documents an operator flagged (``ppl:no_model``: kept without a perplexity).
Global steps add ``"details": {step: {...}}`` (dedup: cluster-size histogram, removed characters).

Invariant (checked by :meth:`OperatorStats.check`): ``docs_in - docs_out == sum(dropped)``.
Modelled on datatrove's ``utils/stats.py`` (mergeable, JSON round trip).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional

# Per-language counts as the runner reports them: {lang: (docs_in, docs_out, {reason: count})}.
LanguageCounts = Mapping[str, tuple]


@dataclass
class OperatorStats:
    name: str
    docs_in: int = 0
    docs_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    by_language: Dict[str, "OperatorStats"] = field(default_factory=dict)
    noted: Counter = field(default_factory=Counter)

    def add(self, docs_in: int, docs_out: int, dropped: Mapping[str, int],
            by_language: Optional[LanguageCounts] = None, noted: Optional[Mapping[str, int]] = None) -> None:
        self.docs_in += docs_in
        self.docs_out += docs_out
        self.dropped.update({k: v for k, v in dropped.items() if v})
        self.noted.update({k: v for k, v in (noted or {}).items() if v})
        for lang, (lang_in, lang_out, lang_dropped) in (by_language or {}).items():
            if lang not in self.by_language:
                self.by_language[lang] = OperatorStats(lang)
            self.by_language[lang].add(lang_in, lang_out, lang_dropped)

    def language_counts(self) -> Dict[str, tuple]:
        return {lang: (s.docs_in, s.docs_out, dict(s.dropped)) for lang, s in self.by_language.items()}

    def check(self) -> None:
        for stats in self.by_language.values():
            stats.check()
        if self.docs_in - self.docs_out != sum(self.dropped.values()):
            raise AssertionError(
                f"{self.name}: docs_in {self.docs_in} - docs_out {self.docs_out} "
                f"!= dropped {sum(self.dropped.values())}"
            )

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "docs_in": self.docs_in,
            "docs_out": self.docs_out,
            "dropped": dict(sorted(self.dropped.items())),
        }
        if self.noted:
            data["noted"] = dict(sorted(self.noted.items()))
        if self.by_language:
            data["by_language"] = {
                lang: {k: v for k, v in stats.to_dict().items() if k != "name"}
                for lang, stats in sorted(self.by_language.items())
            }
        return data


class PipelineStats:
    """Counts for a whole pipeline, in pipeline order."""

    def __init__(self, operator_names: Iterable[str] = ()) -> None:
        self._ops: Dict[str, OperatorStats] = {}
        for name in operator_names:
            self.operator(name)
        self.kept_per_language: Counter = Counter()
        # Whole-run figures of global steps (dedup: cluster-size histogram, removed characters).
        self.details: Dict[str, dict] = {}

    def operator(self, name: str) -> OperatorStats:
        if name not in self._ops:
            self._ops[name] = OperatorStats(name)
        return self._ops[name]

    def add(self, name: str, docs_in: int, docs_out: int, dropped: Mapping[str, int],
            by_language: Optional[LanguageCounts] = None, noted: Optional[Mapping[str, int]] = None,
            key: Optional[str] = None) -> None:
        """``key`` (the batch's identity) matters to sinks that may see a batch twice; here each batch
        is counted once because nothing retries in-process."""
        self.operator(name).add(docs_in, docs_out, dropped, by_language, noted)

    def add_kept(self, per_language: Mapping[str, int]) -> None:
        self.kept_per_language.update({k: v for k, v in per_language.items() if v})

    def merge(self, other: "PipelineStats") -> "PipelineStats":
        for op in other.operators:
            self.add(op.name, op.docs_in, op.docs_out, op.dropped, op.language_counts(), op.noted)
        self.add_kept(other.kept_per_language)
        self.details.update(other.details)
        return self

    @property
    def operators(self) -> List[OperatorStats]:
        return list(self._ops.values())

    def check(self) -> None:
        for op in self.operators:
            op.check()

    def to_dict(self) -> dict:
        data = {
            "operators": [op.to_dict() for op in self.operators],
            "kept_per_language": dict(sorted(self.kept_per_language.items())),
        }
        if self.details:
            data["details"] = self.details
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "PipelineStats":
        stats = cls()
        for op in data.get("operators", []):
            by_language = {
                lang: (c["docs_in"], c["docs_out"], c.get("dropped", {}))
                for lang, c in op.get("by_language", {}).items()
            }
            stats.add(op["name"], op["docs_in"], op["docs_out"], op.get("dropped", {}), by_language, op.get("noted"))
        stats.add_kept(data.get("kept_per_language", {}))
        stats.details.update(data.get("details", {}))
        return stats

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, ensure_ascii=False)

    def table(self) -> str:
        """Human-readable table: one line per operator, then its reasons, then kept per language."""
        lines = [f"{'operator':<22}{'docs_in':>10}{'docs_out':>10}{'dropped':>10}  reasons"]
        for op in self.operators:
            reasons = ", ".join(f"{r}={n}" for r, n in sorted(op.dropped.items(), key=lambda rn: (-rn[1], rn[0])))
            if op.noted:
                reasons += "; kept but noted: " + ", ".join(f"{r}={n}" for r, n in sorted(op.noted.items()))
            lines.append(
                f"{op.name:<22}{op.docs_in:>10}{op.docs_out:>10}"
                f"{sum(op.dropped.values()):>10}  {reasons}"
            )
        if self.kept_per_language:
            kept = ", ".join(f"{k}={v}" for k, v in sorted(self.kept_per_language.items()))
            lines.append(f"kept per language: {kept}")
        return "\n".join(lines)
