"""The one place that applies drop reasons, counts documents and contains per-document failures.

The same :class:`OperatorRunner` is called in-process (tests, benchmarks, ``--in-process`` runs) and
as a Ray Data ``map_batches`` function; both executors of ``pipelines/runtime/executor.py`` wrap every step
in one, so both paths count alike.

Failure policy (never crash a job, never lose a document silently): if an operator raises on a batch,
the batch is retried one row at a time; a row that still raises is dropped with the reason
``error:<operator name>`` and the exception is logged with the document id.

Dropped documents: with a :class:`~operators.drop_samples.DropSampling`, every report also carries the batch's
candidates for the run's sample of dropped documents (``drops``; :mod:`operators.drop_samples`).

Samples: with every report goes, per drop reason, the smallest few values (:data:`SAMPLES_PER_REASON`) of the
operator's ``sample_column`` (``id`` unless the operator names another, e.g. the WARC reader's ``source``)
among the rows dropped for it, so stats.json names examples of every reason, also from Ray workers whose logs
nobody reads. A :class:`SourceRunner` reports each location once more when it is done with it:
``files={"read": 1, "without_documents": 0 or 1, "samples": [location] when it gave no document}``.
"""

from __future__ import annotations

import itertools
import logging
from collections import Counter
from typing import Iterator, List, Optional, Protocol

import pyarrow as pa
import xxhash

from operators.base import Operator, Outcome, Reason, Source
from operators.drop_samples import DropSampling, candidates, payload
from operators.stats import SAMPLES_PER_REASON, merge_samples

log = logging.getLogger(__name__)

# A worker logs the first few tracebacks of each operator, then only counts them.
_MAX_LOGGED_ERRORS = 5


class StatsSink(Protocol):
    """Where runners report counts. ``key`` names the batch the counts are for (see :func:`batch_key`):
    a sink that may see a batch twice (a retried Ray task) counts each key once."""

    def add(self, name: str, docs_in: int, docs_out: int, dropped: dict, by_language: Optional[dict] = None,
            noted: Optional[dict] = None, key: Optional[str] = None, samples: Optional[dict] = None,
            files: Optional[dict] = None, drops: Optional[dict] = None) -> None: ...


def batch_key(name: str, batch: pa.Table) -> str:
    """``operator:rows:digest`` of where a batch's documents come from (``source``, a record's file and offset)
    and their ids; of their texts where a batch has neither. A retried task re-reads the same files and, the
    pipeline being deterministic, re-forms the same batches: their reports carry the same keys. Ids alone are
    not enough: copies of one archive under two names hold the same WARC-Record-IDs, and a key that cannot
    tell them apart drops the second copy's counts as if they were a retry's."""
    columns = [c for c in ("source", "id") if c in batch.column_names] or (
        ["text"] if "text" in batch.column_names else [])
    digest = xxhash.xxh3_64()
    for column in columns:
        for value in batch.column(column).to_pylist():
            digest.update(b"\x00" if value is None else value.encode("utf-8", "surrogatepass") + b"\x01")
        digest.update(b"\x02")
    return f"{name}:{batch.num_rows}:{digest.hexdigest()}"


def _noted(outcome: Outcome) -> Counter:
    """Counts of the notes on kept rows."""
    if outcome.notes is None:
        return Counter()
    reasons = outcome.reasons if outcome.reasons is not None else [None] * len(outcome.notes)
    return Counter(note for note, reason in zip(outcome.notes, reasons) if note is not None and reason is None)


def error_reason(operator_name: str) -> str:
    return f"error:{operator_name}"


def _language_counts(outcome: Outcome) -> Optional[dict]:
    """{lang: (docs_in, docs_out, {reason: n})} when the rows carry a ``lang`` column, else None."""
    if "lang" not in outcome.table.column_names:
        return None
    langs = outcome.table.column("lang").to_pylist()
    reasons = outcome.reasons if outcome.reasons is not None else [None] * len(langs)
    counts: dict = {}
    for lang, reason in zip(langs, reasons):
        entry = counts.setdefault(lang or "unknown", [0, 0, Counter()])
        entry[0] += 1
        if reason is None:
            entry[1] += 1
        else:
            entry[2][reason] += 1
    return {lang: (n_in, n_out, dict(dropped)) for lang, (n_in, n_out, dropped) in counts.items()}


def _merge_language_counts(total: Optional[dict], part: Optional[dict]) -> Optional[dict]:
    if part is None:
        return total
    merged = dict(total or {})
    for lang, (n_in, n_out, dropped) in part.items():
        old_in, old_out, old_dropped = merged.get(lang, (0, 0, {}))
        merged[lang] = (old_in + n_in, old_out + n_out, dict(Counter(old_dropped) + Counter(dropped)))
    return merged


def sample_column(step, table: pa.Table) -> Optional[str]:
    """The column whose values name dropped rows: the step's ``sample_column``, else ``id``, else none."""
    for column in (getattr(step, "sample_column", "id"), "id"):
        if column in table.column_names:
            return column
    return None


def _samples(outcome: Outcome, column: Optional[str]) -> dict:
    """{reason: the smallest few values of ``column`` among the rows dropped for it}."""
    if outcome.reasons is None or column is None or all(r is None for r in outcome.reasons):
        return {}
    per_reason: dict = {}
    for value, reason in zip(outcome.table.column(column).to_pylist(), outcome.reasons):
        if reason is not None and value is not None:
            per_reason.setdefault(reason, set()).add(str(value))
    return {reason: sorted(values)[:SAMPLES_PER_REASON] for reason, values in per_reason.items()}


def _merge_samples(total: dict, part: dict) -> dict:
    for reason, values in part.items():
        total[reason] = merge_samples(total.get(reason, ()), values)
    return total


def _keep_rows(outcome: Outcome) -> tuple[pa.Table, Counter]:
    """Apply an outcome's reasons: the kept rows and the count of each reason."""
    if outcome.reasons is None:
        return outcome.table, Counter()
    dropped = Counter(r for r in outcome.reasons if r is not None)
    if not dropped:
        return outcome.table, dropped
    mask = pa.array([r is None for r in outcome.reasons], type=pa.bool_())
    return outcome.table.filter(mask), dropped


def _drop_candidates(step, outcome: Outcome, sampling: Optional[DropSampling]) -> list:
    if sampling is None or outcome.reasons is None:
        return []
    return candidates(step.name, outcome.table, outcome.reasons, sample_column(step, outcome.table), sampling)


class OperatorRunner:
    """Wraps a row-preserving operator (mapper, filter, extractor) with counting and containment."""

    def __init__(self, operator: Operator, sink: Optional[StatsSink], drops: Optional[DropSampling] = None) -> None:
        self.operator = operator
        self.sink = sink
        self.drops = drops if drops is not None and drops.enabled else None
        self._ready = False
        self._errors_logged = 0

    @property
    def name(self) -> str:
        return self.operator.name

    def _ensure_setup(self) -> None:
        if not self._ready:
            self.operator.setup()
            self._ready = True

    def _process_checked(self, batch: pa.Table) -> Outcome:
        outcome = self.operator.process(batch)
        if outcome.table.num_rows != batch.num_rows:
            raise RuntimeError(
                f"operator {self.name} returned {outcome.table.num_rows} rows for "
                f"{batch.num_rows}; drop rows with reasons instead"
            )
        return outcome

    def _log_error(self, batch: pa.Table, exc: BaseException) -> None:
        if self._errors_logged >= _MAX_LOGGED_ERRORS:
            return
        self._errors_logged += 1
        doc_id = batch.column("id")[0].as_py() if "id" in batch.column_names and batch.num_rows else None
        log.warning("%s failed on document %s: %r", self.name, doc_id, exc, exc_info=exc)

    def _process_row_by_row(self, batch: pa.Table) -> tuple[pa.Table, Counter, Optional[dict], Counter, dict, list]:
        kept: List[pa.Table] = []
        dropped: Counter = Counter()
        noted: Counter = Counter()
        samples: dict = {}
        drops: list = []
        by_language: Optional[dict] = None
        for i in range(batch.num_rows):
            row = batch.slice(i, 1)
            try:
                outcome = self._process_checked(row)
                table, row_dropped = _keep_rows(outcome)
            except Exception as exc:  # one bad document must not stop the job
                self._log_error(row, exc)
                dropped[error_reason(self.name)] += 1
                failed = Outcome(row, [error_reason(self.name)])
                by_language = _merge_language_counts(by_language, _language_counts(failed))
                _merge_samples(samples, _samples(failed, sample_column(self.operator, row)))
                drops.extend(_drop_candidates(self.operator, failed, self.drops))
                continue
            kept.append(table)
            dropped.update(row_dropped)
            noted.update(_noted(outcome))
            by_language = _merge_language_counts(by_language, _language_counts(outcome))
            _merge_samples(samples, _samples(outcome, sample_column(self.operator, outcome.table)))
            drops.extend(_drop_candidates(self.operator, outcome, self.drops))
        if not kept:
            return batch.slice(0, 0), dropped, by_language, noted, samples, drops
        return pa.concat_tables(kept, promote_options="permissive"), dropped, by_language, noted, samples, drops

    def __call__(self, batch: pa.Table) -> pa.Table:
        self._ensure_setup()
        if batch.num_rows == 0:
            return batch
        try:
            outcome = self._process_checked(batch)
            table, dropped = _keep_rows(outcome)
            by_language, noted = _language_counts(outcome), _noted(outcome)
            samples = _samples(outcome, sample_column(self.operator, outcome.table)) if dropped else {}
            drops = _drop_candidates(self.operator, outcome, self.drops) if dropped else []
        except Exception:
            table, dropped, by_language, noted, samples, drops = self._process_row_by_row(batch)
        if self.sink is not None:
            extra = {}
            if by_language is not None:
                extra["by_language"] = by_language
            if noted:
                extra["noted"] = dict(noted)
            if samples:
                extra["samples"] = samples
            if drops:
                extra["drops"] = payload(drops, self.drops.per_key)
            self.sink.add(self.name, batch.num_rows, table.num_rows, dict(dropped), key=batch_key(self.name, batch),
                          **extra)
        return table


class SourceRunner:
    """Wraps a source: each input row names a location; yields document batches read from it."""

    def __init__(self, source: Source, sink: Optional[StatsSink], location_column: str = "path",
                 drops: Optional[DropSampling] = None) -> None:
        self.source = source
        self.sink = sink
        self.location_column = location_column
        self.drops = drops if drops is not None and drops.enabled else None
        self._ready = False

    @property
    def name(self) -> str:
        return self.source.name

    def __call__(self, batch: pa.Table) -> Iterator[pa.Table]:
        if not self._ready:
            self.source.setup()
            self._ready = True
        for location in batch.column(self.location_column).to_pylist():
            yield from self._read_location(location)

    def _read_location(self, location: str) -> Iterator[pa.Table]:
        stream = self.source.read(location)
        documents = 0
        for index in itertools.count():
            key = f"{self.name}:{location}:{index}"  # the same batch of the same file on a retry
            try:
                outcome = next(stream)
            except StopIteration:
                break
            except Exception as exc:  # the source should count its own errors; this is the backstop
                log.warning("%s failed on %s: %r", self.name, location, exc, exc_info=exc)
                self._count(1, 0, {error_reason(self.name): 1}, key, {error_reason(self.name): [location]})
                break
            table, dropped = _keep_rows(outcome)
            samples = _samples(outcome, sample_column(self.source, outcome.table)) if dropped else {}
            drops = _drop_candidates(self.source, outcome, self.drops) if dropped else []
            self._count(outcome.table.num_rows, table.num_rows, dict(dropped), key, samples, drops)
            documents += table.num_rows
            if table.num_rows:
                yield table
        if self.sink is not None:  # once per location: a file that gave nothing is named in the statistics
            empty = documents == 0
            self.sink.add(self.name, 0, 0, {}, key=f"{self.name}:{location}:files",
                          files={"read": 1, "without_documents": int(empty), "samples": [location] if empty else []})

    def _count(self, docs_in: int, docs_out: int, dropped: dict, key: str, samples: dict,
               drops: Optional[list] = None) -> None:
        if self.sink is not None and docs_in:
            extra: dict = {"samples": samples} if samples else {}
            if drops:
                extra["drops"] = payload(drops, self.drops.per_key)
            self.sink.add(self.name, docs_in, docs_out, dropped, key=key, **extra)


__all__ = ["OperatorRunner", "SourceRunner", "StatsSink", "error_reason", "Reason"]
