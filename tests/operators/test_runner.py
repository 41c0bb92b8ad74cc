"""The runner's contract: drops by reason, counts that add up, per-document failures contained."""

from __future__ import annotations

import pyarrow as pa
import pytest

from operators.base import Filter, Mapper, Outcome, Source
from operators.runner import OperatorRunner, SourceRunner
from operators.stats import PipelineStats

SENTENCES = [
    "The council approved the budget for the new bridge on Tuesday.",
    "",
    "Der Stadtrat hat den Haushalt für die neue Brücke genehmigt.",
    "x",
    "Le conseil municipal a approuvé le budget du nouveau pont.",
]


def _batch():
    return pa.table({"id": [f"d{i}" for i in range(len(SENTENCES))], "text": SENTENCES})


class ShortTextFilter(Filter):
    name = "short_text"

    def reasons(self, batch):
        return ["empty" if not t else "too_short" if len(t) < 5 else None for t in batch.column("text").to_pylist()]


class FragileMapper(Mapper):
    """Fails on any batch holding the document "x" (a stand-in for a library crashing on one page)."""

    name = "fragile"

    def transform(self, batch):
        texts = batch.column("text").to_pylist()
        if "x" in texts:
            raise RuntimeError("cannot handle x")
        return batch.append_column("length", pa.array([len(t) for t in texts]))


class RowDroppingMapper(Mapper):
    name = "bad_contract"

    def transform(self, batch):
        return batch.slice(0, batch.num_rows - 1)


def test_filter_reasons_are_counted_and_rows_dropped():
    stats = PipelineStats()
    out = OperatorRunner(ShortTextFilter(), stats)(_batch())
    assert out.column("id").to_pylist() == ["d0", "d2", "d4"]
    op = stats.operator("short_text")
    assert (op.docs_in, op.docs_out, dict(op.dropped)) == (5, 3, {"empty": 1, "too_short": 1})
    stats.check()


def test_exception_on_one_document_becomes_a_reason_and_keeps_the_others():
    stats = PipelineStats()
    out = OperatorRunner(FragileMapper(), stats)(_batch())
    assert out.column("id").to_pylist() == ["d0", "d1", "d2", "d4"]
    assert out.column("length").to_pylist() == [len(SENTENCES[i]) for i in (0, 1, 2, 4)]
    assert dict(stats.operator("fragile").dropped) == {"error:fragile": 1}
    stats.check()


def test_operator_that_loses_rows_is_an_error_not_a_silent_drop():
    stats = PipelineStats()
    out = OperatorRunner(RowDroppingMapper(), stats)(_batch())
    # Row by row every document loses its only row: all are counted, none vanish.
    assert out.num_rows == 0
    assert dict(stats.operator("bad_contract").dropped) == {"error:bad_contract": 5}
    stats.check()


def test_outcome_rejects_misaligned_reasons():
    with pytest.raises(ValueError):
        Outcome(_batch(), [None])


def test_stats_merge_and_json_round_trip():
    a, b = PipelineStats(), PipelineStats()
    a.add("f", 10, 7, {"r1": 3})
    b.add("f", 5, 4, {"r1": 1})
    b.add_kept({"en": 4})
    merged = PipelineStats.from_dict(a.merge(b).to_dict())
    assert merged.to_dict() == {
        "operators": [{"name": "f", "docs_in": 15, "docs_out": 11, "dropped": {"r1": 4}}],
        "kept_per_language": {"en": 4},
    }
    merged.add("g", 3, 3, {"r": 1})
    with pytest.raises(AssertionError):
        merged.check()


def _batch_with_languages():
    return _batch().append_column("lang", pa.array(["en", "en", "de", "fr", "fr"]))


def test_counts_per_language_when_rows_carry_a_language():
    stats = PipelineStats()
    OperatorRunner(ShortTextFilter(), stats)(_batch_with_languages())
    by_language = stats.to_dict()["operators"][0]["by_language"]
    assert by_language == {
        "de": {"docs_in": 1, "docs_out": 1, "dropped": {}},
        "en": {"docs_in": 2, "docs_out": 1, "dropped": {"empty": 1}},
        "fr": {"docs_in": 2, "docs_out": 1, "dropped": {"too_short": 1}},
    }
    stats.check()
    # Errors contained row by row are attributed to the document's language too.
    stats = PipelineStats()
    OperatorRunner(FragileMapper(), stats)(_batch_with_languages())
    assert stats.to_dict()["operators"][0]["by_language"]["fr"] == {
        "docs_in": 2, "docs_out": 1, "dropped": {"error:fragile": 1}
    }
    # Per-language counts survive merging and the JSON round trip, and the invariant covers them.
    merged = PipelineStats.from_dict(stats.merge(PipelineStats.from_dict(stats.to_dict())).to_dict())
    assert merged.to_dict()["operators"][0]["by_language"]["fr"]["docs_in"] == 4
    merged.operator("fragile").by_language["fr"].docs_out += 1
    with pytest.raises(AssertionError):
        merged.check()


def test_runner_samples_the_ids_of_each_reason_and_of_errors():
    stats = PipelineStats()
    OperatorRunner(ShortTextFilter(), stats)(_batch())
    assert stats.operator("short_text").samples == {"empty": ["d1"], "too_short": ["d3"]}
    stats = PipelineStats()
    OperatorRunner(FragileMapper(), stats)(_batch())  # retried row by row; d3 raises
    assert stats.operator("fragile").samples == {"error:fragile": ["d3"]}
    assert stats.to_dict()["operators"][0]["samples"] == {"error:fragile": ["d3"]}


class _ListSource(Source):
    """Reads "a,b,-" as rows a, b and a dropped placeholder; "" as nothing at all."""

    name = "list_source"

    def read(self, location):
        rows = [r for r in location.split(",") if r]
        if rows:
            yield Outcome(pa.table({"id": [f"{location}/{r}" for r in rows]}),
                          ["dash" if r == "-" else None for r in rows])


def test_source_runner_names_the_locations_that_gave_no_documents():
    stats = PipelineStats()
    runner = SourceRunner(_ListSource(), stats)
    out = list(runner(pa.table({"path": ["a,b", "-", ""]})))
    assert [t.num_rows for t in out] == [2]
    op = stats.operator("list_source")
    assert (op.docs_in, op.docs_out, dict(op.dropped)) == (3, 2, {"dash": 1})
    assert op.samples == {"dash": ["-/-"]}
    assert op.files_dict() == {"read": 3, "without_documents": 2, "samples": ["", "-"]}
