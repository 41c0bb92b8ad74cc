"""What was dropped, not only how many: a bounded, deterministic sample of dropped documents.

Per operator × reason × language, up to ``per_key`` documents (20 by default) are kept: those whose identity
(the operator's ``sample_column``, ``id`` by default; the WARC reader's ``source``) hashes lowest (xxh3-64,
ties by the identity itself, then by ``source``: copies of one archive hold the same ids). A hash, never arrival order: the sample of a key is the ``per_key`` smallest of
every document dropped for it, so it is the same whatever the batches, workers, chunks or retries, and samples
merge in any order (:meth:`DropSamples.merge`). The runner (:mod:`operators.runner`) picks each batch's
candidates and reports them with the batch's counts, so they are counted once under retries like the counts;
the pipeline writes the merged sample as ``_drops/drops.parquet`` beside the output and ``report.html`` shows a
few per reason. Compare datatrove's ``exclusion_writer`` (every dropped document, unbounded) and NeMo
Curator's "removed" datasets: here the cost is bounded by the number of keys, not of documents.

One row per sampled document (:data:`COLUMNS`): ``operator``, ``reason``, ``lang`` (``""`` before language
ID), ``id``, ``url``, ``source`` (where it was read), ``signals`` (JSON of the row's numeric columns: the
quality signals ``q_*``, the language score, the perplexity...; what the operator decided on, as far as the
row carries it), ``text`` (the first ``text_chars`` characters; for a sentence pair, both sides on two lines) and
``rank`` (the hash that chose it).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

import pyarrow as pa
import xxhash

COLUMNS = ("operator", "reason", "lang", "id", "url", "source", "signals", "text", "rank")
SCHEMA = pa.schema([("operator", pa.string()), ("reason", pa.string()), ("lang", pa.string()),
                    ("id", pa.string()), ("url", pa.string()), ("source", pa.string()),
                    ("signals", pa.string()), ("text", pa.string()), ("rank", pa.uint64())])
# Columns that are bookkeeping, not signals, even where numeric.
_NOT_SIGNALS = frozenset({"offset", "record_offset", "content_length", "status", "http_status", "rank"})


@dataclass(frozen=True)
class DropSampling:
    """``per_key``: documents kept per operator × reason × language (0 turns sampling off); ``text_chars``:
    characters of each document's text kept."""

    per_key: int = 20
    text_chars: int = 2000

    def validate(self) -> None:
        from common.config_check import ConfigError

        if self.per_key < 0 or self.text_chars < 0:
            raise ConfigError("drops: per_key and text_chars must be >= 0")

    @property
    def enabled(self) -> bool:
        return self.per_key > 0


def rank_of(identity: str) -> int:
    return xxhash.xxh3_64_intdigest(identity.encode("utf-8", "surrogatepass"))


def _signal_columns(table: pa.Table) -> List[str]:
    return [field.name for field in table.schema if field.name not in _NOT_SIGNALS
            and (pa.types.is_floating(field.type) or pa.types.is_integer(field.type))]


def _signals(row: dict, columns: Sequence[str]) -> str:
    values = {}
    for name in columns:
        value = row.get(name)
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            continue
        values[name] = round(value, 6) if isinstance(value, float) else value
    return json.dumps(values, sort_keys=True)


def _string(row: dict, column: str, limit: int) -> str:
    value = row.get(column)
    return value[:limit] if isinstance(value, str) else ""


def _document_text(row: dict, limit: int) -> str:
    """The row's ``text``; for a sentence pair without one, both sides, a line break between them."""
    if isinstance(row.get("text"), str):
        return row["text"][:limit]
    sides = [row.get("src_text"), row.get("tgt_text")]
    if all(isinstance(side, str) for side in sides):
        return "\n".join(sides)[:limit]
    return ""


def candidates(operator: str, table: pa.Table, reasons: Sequence[Optional[str]], identity_column: Optional[str],
               sampling: DropSampling) -> List[dict]:
    """The rows of one batch that may be in the sample: per reason × language, the ``per_key`` dropped rows of
    lowest rank (the rest of the batch can never be)."""
    if not sampling.enabled or identity_column is None or identity_column not in table.column_names:
        return []
    dropped = [i for i, reason in enumerate(reasons) if reason is not None]
    if not dropped:
        return []
    identities = table.column(identity_column).to_pylist()
    langs = table.column("lang").to_pylist() if "lang" in table.column_names else [None] * table.num_rows
    sources = table.column("source").to_pylist() if "source" in table.column_names else [None] * table.num_rows
    groups: Dict[Tuple[str, str], List[Tuple[int, str, str, int]]] = {}
    for i in dropped:
        if identities[i] is None:
            continue
        identity = str(identities[i])
        source = sources[i] if isinstance(sources[i], str) else ""
        groups.setdefault((reasons[i], langs[i] or ""), []).append((rank_of(identity), identity, source, i))
    chosen = []
    for (reason, lang), members in groups.items():
        members.sort()
        chosen.extend((reason, lang, rank, identity, i) for rank, identity, _source, i in members[:sampling.per_key])
    # Only the chosen rows are turned into Python values.
    signal_columns = _signal_columns(table)
    wanted = ["url", "source", "text", "src_text", "tgt_text"] + signal_columns
    picked = table.select([c for c in wanted if c in table.column_names]).take([i for *_, i in chosen]).to_pylist()
    return [{"operator": operator, "reason": reason, "lang": lang, "id": identity,
             "url": _string(row, "url", 10_000), "source": _string(row, "source", 10_000),
             "signals": _signals(row, signal_columns), "text": _document_text(row, sampling.text_chars),
             "rank": rank}
            for (reason, lang, rank, identity, _i), row in zip(chosen, picked)]


def payload(rows: List[dict], per_key: int) -> dict:
    """How sampled rows travel (a runner's report, a task's result): ``{"per_key", "rows"}``."""
    return {"per_key": per_key, "rows": rows}


def _order(row: dict) -> tuple:
    # rank, then identity; then where it was read, for copies of one archive (same ids, other files).
    return row["rank"], row["id"], row["source"]


class DropSamples:
    """The sample so far: per (operator, reason, lang), the ``per_key`` rows of lowest (rank, id, source)."""

    def __init__(self, per_key: int = 0) -> None:
        self.per_key = per_key
        self._groups: Dict[Tuple[str, str, str], Dict[Tuple[str, str], dict]] = {}

    def __bool__(self) -> bool:
        return bool(self._groups)

    def add(self, rows: Iterable[dict], per_key: Optional[int] = None) -> None:
        if per_key is not None:
            self.per_key = max(self.per_key, per_key)
        touched = set()
        for row in rows:
            key = (row["operator"], row["reason"], row["lang"])
            self._groups.setdefault(key, {})[(row["id"], row["source"])] = row
            touched.add(key)
        for key in touched:
            group = self._groups[key]
            if len(group) > self.per_key:
                kept = sorted(group.values(), key=_order)[:self.per_key]
                self._groups[key] = {(row["id"], row["source"]): row for row in kept}

    def payload(self) -> dict:
        return payload(self.rows(), self.per_key)

    def add_payload(self, data: Optional[dict]) -> None:
        if data:
            self.add(data["rows"], data["per_key"])

    def merge(self, other: "DropSamples") -> "DropSamples":
        self.add(other.rows(), other.per_key)
        return self

    def rows(self) -> List[dict]:
        """Every sampled row, by operator, reason, language and rank."""
        return [row for key in sorted(self._groups) for row in sorted(self._groups[key].values(), key=_order)]

    def examples(self, operator: str, reason: str, count: int) -> List[dict]:
        """A few rows of one reason, across languages: the lowest ranks."""
        rows = [row for (op, why, _lang), group in self._groups.items() if op == operator and why == reason
                for row in group.values()]
        return sorted(rows, key=_order)[:count]

    def to_table(self) -> pa.Table:
        """The rows as a table; its schema metadata keeps ``per_key`` (what :meth:`from_table` reads back)."""
        rows = self.rows()
        table = pa.table({name: [row[name] for row in rows] for name in COLUMNS}, schema=SCHEMA)
        return table.replace_schema_metadata({"per_key": str(self.per_key)})

    @classmethod
    def from_table(cls, table: pa.Table) -> "DropSamples":
        metadata = table.schema.metadata or {}
        samples = cls(int(metadata.get(b"per_key", b"0")))
        samples.add(table.to_pylist())
        return samples


__all__ = ["COLUMNS", "DropSampling", "DropSamples", "candidates", "payload", "rank_of"]
