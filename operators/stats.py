"""Mergeable per-operator counts: docs in, docs out, dropped per reason, kept per language.

One source, several sinks: the runner records into a :class:`PipelineStats`; the pipeline writes it as
``stats.json``, prints it as a table and (on Ray) mirrors it into Ray metrics. Shape of the JSON::

    {"operators": [{"name", "docs_in", "docs_out", "dropped": {reason: count},
                    "samples": {reason: [id or location, ...]},
                    "files": {"read", "without_documents", "samples": [location, ...]},
                    "by_language": {lang: {"docs_in", "docs_out", "dropped"}}}, ...],
     "kept_per_language": {lang: count},
     "inputs": {"skipped": {"count", "samples": [path, ...]}}}

``by_language`` is present for operators that see a ``lang`` column (language ID and later steps);
``noted`` counts kept documents an operator flagged (``ppl:no_model``: kept without a perplexity).
Global steps add ``"details": {step: {...}}`` (dedup: cluster-size histogram, removed characters).

**Samples.** ``samples`` holds, per drop reason, up to :data:`SAMPLES_PER_REASON` examples of what was
dropped: the document ids (an operator's ``sample_column``, ``id`` by default; the WARC reader gives
``<file>:<record offset>``, and the bare file name for a whole-file fault such as ``warc_unreadable``).
They are the *smallest* values in sort order, not the first seen, so merging chunks, workers and retries in any
order gives the same samples, whatever the batch sizes. The runner fills them; operators only give reasons.

**Files.** A source operator (the one that reads input locations) also has ``files``: how many locations it
read (``read``), how many of them gave no document at all (``without_documents``: an empty file, a WAT file,
one whose every record was dropped) and up to :data:`SAMPLES_PER_REASON` of those locations. So "records read"
of a run is the source's ``docs_in`` (every record and every whole-file fault is one row), "documents read" its
``docs_out``.

**Inputs.** ``inputs.skipped``: files found in a directory ``--input`` that are not named like an input of the
pipeline (``SOURCE.md`` beside WARCs); how many and the first few, recorded by the pipeline that expanded them.

Invariants (checked by :meth:`PipelineStats.check` before ``stats.json`` is written): per operator,
``docs_in - docs_out == sum(dropped)``; along the pipeline, the ``docs_out`` of an operator equals the
``docs_in`` of the next (nothing is lost or invented between steps), unless the next one is marked with
:meth:`PipelineStats.break_chain` and a reason (kept in ``"chain_breaks": {operator: reason}``).
Modelled on datatrove's ``utils/stats.py`` (mergeable, JSON round trip).
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Sequence

from operators.drop_samples import DropSamples

# Per-language counts as the runner reports them: {lang: (docs_in, docs_out, {reason: count})}.
LanguageCounts = Mapping[str, tuple]

# Examples kept per reason (and per list of files).
SAMPLES_PER_REASON = 5

# Reasons that say an input is damaged or unreadable, not that a document was judged: the driver repeats them,
# with their samples, at the end of a run (``problem_lines``). ``error:<operator>`` reasons are problems too.
INPUT_PROBLEM_REASONS = frozenset({"warc_unreadable", "warc_empty", "warc_truncated", "warc_malformed", "warc_deadline",
                                   "read:truncated", "read:corrupt"})


def is_problem(reason: str) -> bool:
    return reason in INPUT_PROBLEM_REASONS or reason.startswith("error:")


def merge_samples(*lists: Iterable[str], limit: int = SAMPLES_PER_REASON) -> List[str]:
    """The ``limit`` smallest distinct values of ``lists``: the same whatever the order they are merged in."""
    values = set()
    for values_list in lists:
        values.update(values_list)
    return sorted(values)[:limit]


@dataclass
class OperatorStats:
    name: str
    docs_in: int = 0
    docs_out: int = 0
    dropped: Counter = field(default_factory=Counter)
    by_language: Dict[str, "OperatorStats"] = field(default_factory=dict)
    noted: Counter = field(default_factory=Counter)
    # {reason: the smallest few ids / locations dropped for it}
    samples: Dict[str, List[str]] = field(default_factory=dict)
    # Sources only: {"read": locations read, "without_documents": locations that gave none}
    files: Counter = field(default_factory=Counter)
    file_samples: List[str] = field(default_factory=list)  # locations without documents

    def add(self, docs_in: int, docs_out: int, dropped: Mapping[str, int],
            by_language: Optional[LanguageCounts] = None, noted: Optional[Mapping[str, int]] = None,
            samples: Optional[Mapping[str, Sequence[str]]] = None, files: Optional[Mapping] = None) -> None:
        self.docs_in += docs_in
        self.docs_out += docs_out
        self.dropped.update({k: v for k, v in dropped.items() if v})
        self.noted.update({k: v for k, v in (noted or {}).items() if v})
        for reason, values in (samples or {}).items():
            if values:
                self.samples[reason] = merge_samples(self.samples.get(reason, ()), values)
        if files:
            self.files.update({k: v for k, v in files.items() if k != "samples" and v})
            if files.get("samples"):
                self.file_samples = merge_samples(self.file_samples, files["samples"])
        for lang, (lang_in, lang_out, lang_dropped) in (by_language or {}).items():
            if lang not in self.by_language:
                self.by_language[lang] = OperatorStats(lang)
            self.by_language[lang].add(lang_in, lang_out, lang_dropped)

    def language_counts(self) -> Dict[str, tuple]:
        return {lang: (s.docs_in, s.docs_out, dict(s.dropped)) for lang, s in self.by_language.items()}

    def files_dict(self) -> dict:
        """``files`` as it appears in the JSON (empty for an operator that reads no locations)."""
        if not self.files and not self.file_samples:
            return {}
        return {"read": self.files["read"], "without_documents": self.files["without_documents"],
                "samples": list(self.file_samples)}

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
        if self.samples:
            data["samples"] = {reason: list(values) for reason, values in sorted(self.samples.items())}
        if self.files_dict():
            data["files"] = self.files_dict()
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
        # Files a directory input held that are not inputs of the pipeline (by name): count and the first few.
        self.skipped_inputs = 0
        self.skipped_samples: List[str] = []
        # {operator: why its docs_in is not the docs_out of the operator before it}
        self.chain_breaks: Dict[str, str] = {}
        # Sampled dropped documents (operators/drop_samples.py); not part of stats.json (``_drops/`` holds them).
        self.drop_samples = DropSamples()

    def operator(self, name: str) -> OperatorStats:
        if name not in self._ops:
            self._ops[name] = OperatorStats(name)
        return self._ops[name]

    def add(self, name: str, docs_in: int, docs_out: int, dropped: Mapping[str, int],
            by_language: Optional[LanguageCounts] = None, noted: Optional[Mapping[str, int]] = None,
            key: Optional[str] = None, samples: Optional[Mapping[str, Sequence[str]]] = None,
            files: Optional[Mapping] = None, drops: Optional[Mapping] = None) -> None:
        """``key`` (the batch's identity) matters to sinks that may see a batch twice; here each batch
        is counted once because nothing retries in-process. ``samples``: {reason: ids}; ``files``: a source's
        ``{"read", "without_documents", "samples"}`` for the locations the report covers; ``drops``:
        ``{"per_key", "rows"}``, the batch's candidates for the dropped-document sample."""
        self.operator(name).add(docs_in, docs_out, dropped, by_language, noted, samples, files)
        self.drop_samples.add_payload(drops)

    def add_kept(self, per_language: Mapping[str, int]) -> None:
        self.kept_per_language.update({k: v for k, v in per_language.items() if v})

    def add_skipped_inputs(self, paths: Sequence[str], count: Optional[int] = None) -> None:
        """Record files of directory inputs left out by name (``count`` when ``paths`` are only samples)."""
        self.skipped_inputs += len(paths) if count is None else count
        self.skipped_samples = merge_samples(self.skipped_samples, paths)

    def break_chain(self, name: str, reason: str) -> None:
        """Declare that operator ``name`` does not take the documents of the operator before it (the check
        then skips that link); ``reason`` is written to ``stats.json``."""
        self.operator(name)
        self.chain_breaks[name] = reason

    def merge(self, other: "PipelineStats") -> "PipelineStats":
        for op in other.operators:
            self.add(op.name, op.docs_in, op.docs_out, op.dropped, op.language_counts(), op.noted,
                     samples=op.samples, files=op.files_dict())
        self.add_kept(other.kept_per_language)
        self.details.update(other.details)
        if other.skipped_inputs:
            self.add_skipped_inputs(other.skipped_samples, other.skipped_inputs)
        self.chain_breaks.update(other.chain_breaks)
        self.drop_samples.merge(other.drop_samples)
        return self

    @property
    def operators(self) -> List[OperatorStats]:
        return list(self._ops.values())

    def check(self) -> None:
        """Each operator's counts add up, and each operator took what the one before it let through."""
        for op in self.operators:
            op.check()
        self.check_chain()

    def check_chain(self) -> None:
        for before, after in zip(self.operators, self.operators[1:]):
            if after.name in self.chain_breaks:
                continue
            if before.docs_out != after.docs_in:
                raise AssertionError(
                    f"statistics chain broken: {before.name} let {before.docs_out} documents through but "
                    f"{after.name} took {after.docs_in} (documents lost or counted twice between the two; "
                    "PipelineStats.break_chain declares a step that reads something else)"
                )

    def to_dict(self) -> dict:
        data = {
            "operators": [op.to_dict() for op in self.operators],
            "kept_per_language": dict(sorted(self.kept_per_language.items())),
        }
        if self.skipped_inputs:
            data["inputs"] = {"skipped": {"count": self.skipped_inputs, "samples": list(self.skipped_samples)}}
        if self.chain_breaks:
            data["chain_breaks"] = dict(sorted(self.chain_breaks.items()))
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
            stats.add(op["name"], op["docs_in"], op["docs_out"], op.get("dropped", {}), by_language, op.get("noted"),
                      samples=op.get("samples"), files=op.get("files"))
        stats.add_kept(data.get("kept_per_language", {}))
        skipped = data.get("inputs", {}).get("skipped")
        if skipped:
            stats.add_skipped_inputs(skipped.get("samples", []), skipped.get("count", 0))
        stats.chain_breaks.update(data.get("chain_breaks", {}))
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

    def problem_lines(self) -> List[str]:
        """The warnings a driver prints after the table: inputs that gave no documents, inputs skipped by name,
        and one line per problem reason (:func:`is_problem`) with its samples. Empty for a clean run."""
        lines = []
        for op in self.operators:
            if op.files["without_documents"]:
                lines.append(f"warning: {op.files['without_documents']} of {op.files['read']} inputs gave no "
                             f"documents ({op.name}): {_examples(op.file_samples, op.files['without_documents'])}")
        if self.skipped_inputs:
            lines.append(f"warning: skipped {self.skipped_inputs} files of directory inputs that are not inputs by "
                         f"name: {_examples(self.skipped_samples, self.skipped_inputs)}")
        for op in self.operators:
            for reason, count in sorted(op.dropped.items()):
                if count and is_problem(reason):
                    lines.append(f"warning: {op.name}: {reason} x {count}: "
                                 f"{_examples(op.samples.get(reason, []), count)}")
        return lines


def _examples(samples: Sequence[str], count: int) -> str:
    text = ", ".join(samples) if samples else "(no samples)"
    return text + (f" (+{count - len(samples)} more)" if count > len(samples) else "")
