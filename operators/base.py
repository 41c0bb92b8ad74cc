"""The operator contract every curation step follows.

An operator works on a batch of documents held as a ``pyarrow.Table`` (one row per document) and
knows nothing of Ray, files or statistics sinks:

* ``setup()`` loads heavy state (a fastText model, a KenLM model) once per worker process, lazily.
* ``process(batch)`` returns an :class:`Outcome`: the output table plus, optionally, one drop reason
  per output row (``None`` keeps the row).

Two conveniences cover most operators:

* :class:`Mapper` rewrites or adds columns (``transform``); it drops nothing.
* :class:`Filter` returns one reason per row (``reasons``); the batch passes through unchanged and the
  runner removes the rows that carry a reason. A filter never counts anything itself.

Operators that both transform and drop (main-text extraction) implement ``process`` directly.
Sources (the WARC reader) turn one input row, a file path, into a stream of outcomes.

The runner (:mod:`operators.runner`) applies the reasons, counts docs in / out / dropped per reason,
keeps a few examples of each reason (the values of the step's ``sample_column``, ``id`` by default),
and turns an exception raised on one document into the reason ``error:<operator name>``.
Compare datatrove's ``pipeline/filters/base_filter.py``: a filter returns keep or a reason, and the
statistics are derived from it in one place.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar, Iterable, Iterator, Optional, Sequence, Tuple

import pyarrow as pa

Reason = Optional[str]


@dataclass
class Outcome:
    """What an operator made of a batch: rows to emit and, aligned with them, why some are dropped."""

    table: pa.Table
    reasons: Optional[Sequence[Reason]] = None
    # Optional per-row notes on rows that are kept (e.g. "ppl:no_model": kept without a score);
    # the runner counts them, so a pass-through is never silent.
    notes: Optional[Sequence[Optional[str]]] = None

    def __post_init__(self) -> None:
        for name, values in (("reasons", self.reasons), ("notes", self.notes)):
            if values is not None and len(values) != self.table.num_rows:
                raise ValueError(
                    f"operator returned {len(values)} {name} for {self.table.num_rows} rows"
                )


class Operator(ABC):
    """Base of every curation step. Subclasses set ``name`` (shown in statistics and dashboards)."""

    name: ClassVar[str] = "operator"
    # The column whose values the statistics show as examples of dropped rows.
    sample_column: ClassVar[str] = "id"

    def setup(self) -> None:
        """Load heavy state once per worker; called by the runner before the first batch."""

    @abstractmethod
    def process(self, batch: pa.Table) -> Outcome:
        """Turn a batch into an outcome."""


class Mapper(Operator):
    """Adds or rewrites columns; keeps every row."""

    @abstractmethod
    def transform(self, batch: pa.Table) -> pa.Table:
        """Return the transformed batch."""

    def process(self, batch: pa.Table) -> Outcome:
        return Outcome(self.transform(batch))


class Filter(Operator):
    """Decides per row: ``None`` keeps it, a short reason string drops it."""

    @abstractmethod
    def reasons(self, batch: pa.Table) -> Sequence[Reason]:
        """One entry per row of ``batch``."""

    def process(self, batch: pa.Table) -> Outcome:
        return Outcome(batch, self.reasons(batch))


class Source(ABC):
    """Turns one input location (a file, a URL) into outcomes of documents, streamed in batches."""

    name: ClassVar[str] = "source"
    sample_column: ClassVar[str] = "id"

    def setup(self) -> None:
        """Load heavy state once per worker."""

    @abstractmethod
    def read(self, location: str) -> Iterator[Outcome]:
        """Yield outcomes whose rows are documents (or placeholders carrying a drop reason)."""


class OutcomeBatcher:
    """Collects rows (dicts of ``schema``) and their reasons from a source; emits an Outcome every
    ``size`` rows, so sources stream in bounded batches. With ``kept_only``, ``size`` counts the rows without
    a reason (documents), so that many small placeholder rows of dropped records (a WARC's request and metadata
    records) do not shrink the batches the next steps get; a batch then holds at most ``DROPPED_FACTOR * size``
    rows."""

    DROPPED_FACTOR = 16

    def __init__(self, size: int, schema: pa.Schema, kept_only: bool = False) -> None:
        self.size = size
        self.schema = schema
        self.kept_only = kept_only
        self.rows: list = []
        self.reasons: list = []
        self.kept = 0

    def add(self, row: dict, reason: Reason) -> Optional[Outcome]:
        self.rows.append(row)
        self.reasons.append(reason)
        self.kept += reason is None
        if not self.kept_only:
            return self.flush() if len(self.rows) >= self.size else None
        full = self.kept >= self.size or len(self.rows) >= self.DROPPED_FACTOR * self.size
        return self.flush() if full else None

    def flush(self) -> Optional[Outcome]:
        if not self.rows:
            return None
        outcome = Outcome(pa.Table.from_pylist(self.rows, schema=self.schema), self.reasons)
        self.rows, self.reasons, self.kept = [], [], 0
        return outcome

    def batches(self, rows: Iterable[Tuple[dict, Reason]]) -> Iterator[Outcome]:
        """Every ``(row, reason)`` of ``rows``, as Outcomes of ``size`` rows (the last one shorter)."""
        for row, reason in rows:
            outcome = self.add(row, reason)
            if outcome is not None:
                yield outcome
        outcome = self.flush()
        if outcome is not None:
            yield outcome
