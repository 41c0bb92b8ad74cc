"""PipelineStats beyond the counts: samples per reason, files of sources, inputs skipped by name, the
end-of-run warnings, and the check that each operator took what the one before it let through."""

from __future__ import annotations

import itertools
import json

import pytest

from operators.stats import SAMPLES_PER_REASON, PipelineStats


def _part(ids, files=None):
    stats = PipelineStats()
    stats.add("warc_reader", len(ids), 0, {"warc_unreadable": len(ids)}, samples={"warc_unreadable": ids},
              files=files)
    return stats


def test_samples_merge_in_any_order_to_the_same_few_and_survive_json():
    parts = [["f/3", "f/1"], ["f/7", "f/2", "f/9"], ["f/0", "f/5"], ["f/4"]]
    results = set()
    for order in itertools.permutations(parts):
        merged = PipelineStats(["warc_reader"])
        for ids in order:
            merged.merge(_part(ids))
        results.add(json.dumps(merged.to_dict()))
    assert len(results) == 1  # independent of the order chunks and workers report in
    merged = PipelineStats.from_dict(json.loads(results.pop()))
    op = merged.operator("warc_reader")
    assert op.docs_in == 8 and op.samples == {"warc_unreadable": ["f/0", "f/1", "f/2", "f/3", "f/4"]}
    assert len(op.samples["warc_unreadable"]) == SAMPLES_PER_REASON
    assert PipelineStats.from_dict(json.loads(merged.to_json())).to_dict() == merged.to_dict()


def test_files_and_skipped_inputs_round_trip_and_merge():
    a = _part(["a.wat.gz"], files={"read": 1, "without_documents": 1, "samples": ["a.wat.gz"]})
    a.add_skipped_inputs(["d/SOURCE.md"])
    b = PipelineStats()
    b.add("warc_reader", 0, 0, {}, files={"read": 2, "without_documents": 0, "samples": []})
    b.add_skipped_inputs(["d/readme.txt"])
    data = PipelineStats.from_dict(a.merge(b).to_dict()).to_dict()
    assert data["operators"][0]["files"] == {"read": 3, "without_documents": 1, "samples": ["a.wat.gz"]}
    assert data["inputs"] == {"skipped": {"count": 2, "samples": ["d/SOURCE.md", "d/readme.txt"]}}
    # operators that read no locations and runs that skipped nothing keep the old shape
    plain = PipelineStats()
    plain.add("quality", 3, 2, {"quality:short": 1})
    assert plain.to_dict() == {"operators": [{"name": "quality", "docs_in": 3, "docs_out": 2,
                                              "dropped": {"quality:short": 1}}], "kept_per_language": {}}


def test_problem_lines_name_files_without_documents_skipped_inputs_and_faults():
    stats = PipelineStats(["warc_reader", "quality"])
    stats.add("warc_reader", 7, 1, {"warc_empty": 1, "warc_not_a_document": 5},
              samples={"warc_empty": ["in/empty.warc.gz"], "warc_not_a_document": ["in/x.wat.gz:0"]},
              files={"read": 3, "without_documents": 2, "samples": ["in/empty.warc.gz", "in/x.wat.gz"]})
    stats.add("quality", 1, 0, {"error:quality": 1}, samples={"error:quality": ["<urn:uuid:1>"]})
    stats.add_skipped_inputs(["in/SOURCE.md", "in/readme.txt"])
    lines = stats.problem_lines()
    assert lines == [
        "warning: 2 of 3 inputs gave no documents (warc_reader): in/empty.warc.gz, in/x.wat.gz",
        "warning: skipped 2 files of directory inputs that are not inputs by name: in/SOURCE.md, in/readme.txt",
        "warning: warc_reader: warc_empty x 1: in/empty.warc.gz",
        "warning: quality: error:quality x 1: <urn:uuid:1>",
    ]
    clean = PipelineStats()
    clean.add("warc_reader", 3, 2, {"not_html": 1}, files={"read": 1, "without_documents": 0, "samples": []})
    assert clean.problem_lines() == []


def test_chain_check_names_both_operators():
    stats = PipelineStats(["warc_reader", "url_filter", "extract"])
    stats.add("warc_reader", 10, 8, {"not_html": 2})
    stats.add("url_filter", 8, 8, {})
    stats.add("extract", 7, 7, {})  # one document lost between url_filter and extract
    with pytest.raises(AssertionError, match="url_filter let 8 documents through but extract took 7"):
        stats.check()
    # every per-operator invariant holds: only the chain is broken
    for op in stats.operators:
        op.check()


def test_a_declared_chain_break_is_skipped_and_kept_in_the_json():
    stats = PipelineStats(["tokenize", "blend"])
    stats.add("tokenize", 5, 5, {})
    stats.add("blend", 9, 9, {})
    stats.break_chain("blend", "reads every group's shards, not the tokenized documents")
    stats.check()
    again = PipelineStats.from_dict(json.loads(stats.to_json()))
    assert again.to_dict()["chain_breaks"] == {"blend": "reads every group's shards, not the tokenized documents"}
    again.check()
