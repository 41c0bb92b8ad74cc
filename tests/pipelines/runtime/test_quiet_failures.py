"""Quiet failures made loud: an empty file, a WAT file and the non-WARC files of a directory input show in the
driver's output and in stats.json, and the statistics chain is checked before stats.json is written."""

from __future__ import annotations

import gzip
import json
import logging
import shutil

import pytest

from operators.stats import PipelineStats
from pipelines.runtime.cli import run_pipeline
from pipelines.runtime.local_inputs import expand_record_files
from tests.fixtures.shared_data import shared_path

WARC = "CC-MAIN-2024-22_whirlwind.warc.gz"
WAT = "CC-MAIN-2024-22_whirlwind.warc.wat.gz"


def test_run_pipeline_ends_with_the_warnings(capsys):
    def job():
        stats = PipelineStats(["warc_reader"])
        stats.add("warc_reader", 1, 0, {"warc_unreadable": 1}, samples={"warc_unreadable": ["in/bad.warc.gz"]},
                  files={"read": 1, "without_documents": 1, "samples": ["in/bad.warc.gz"]})
        return stats

    assert run_pipeline("curate_cc", "OUT", job) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[-3:-1] == ["warning: 1 of 1 inputs gave no documents (warc_reader): in/bad.warc.gz",
                          "warning: warc_reader: warc_unreadable x 1: in/bad.warc.gz"]
    # The last line says where the run's files are.
    assert out[-1] == "curate_cc finished: statistics OUT/stats.json, report OUT/report.html"


def test_curate_directory_with_empty_wat_and_notes(tmp_path, capsys, caplog):
    from pipelines.web.curate import main

    crawl = tmp_path / "crawl"
    crawl.mkdir()
    for name in (WARC, WAT):
        shutil.copy(shared_path("warc", name), crawl / name)
    (crawl / "empty.warc.gz").write_bytes(gzip.compress(b""))
    (crawl / "SOURCE.md").write_text("# origin\n")
    (crawl / "readme.txt").write_text("hello\n")
    out = tmp_path / "out"
    with caplog.at_level(logging.WARNING):
        assert main(["--input", str(crawl), "--output", str(out), "--in-process"]) == 0
    assert f"skipped 2 non-WARC files in {crawl}: SOURCE.md, readme.txt" in caplog.text
    stats = json.loads((out / "stats.json").read_text())
    reader = stats["operators"][0]
    empty, wat = str(crawl / "empty.warc.gz"), str(crawl / WAT)
    # records read: 4 of the WARC, 2 of the WAT, and the empty file's fault
    assert (reader["docs_in"], reader["docs_out"]) == (7, 1)
    assert reader["dropped"] == {"warc_empty": 1, "warc_not_a_document": 5}
    assert reader["samples"]["warc_empty"] == [empty]
    assert reader["files"] == {"read": 3, "without_documents": 2, "samples": sorted([empty, wat])}
    skipped = [str(crawl / "SOURCE.md"), str(crawl / "readme.txt")]
    assert stats["inputs"] == {"skipped": {"count": 2, "samples": skipped}}
    printed = capsys.readouterr().out
    assert f"warning: 2 of 3 inputs gave no documents (warc_reader): {', '.join(sorted([empty, wat]))}" in printed
    assert f"warning: warc_reader: warc_empty x 1: {empty}" in printed
    report = (out / "report.html").read_text()
    assert 'id="samples"' in report and 'id="inputs"' in report and "empty.warc.gz" in report


def test_finish_run_refuses_a_broken_chain(tmp_path):
    from common.atomic_io import finish_run

    stats = PipelineStats(["warc_reader", "url_filter"])
    stats.add("warc_reader", 5, 5, {})
    stats.add("url_filter", 4, 4, {})
    with pytest.raises(AssertionError, match="warc_reader let 5 documents through but url_filter took 4"):
        finish_run(str(tmp_path), stats, "broken")
    assert not (tmp_path / "stats.json").exists()


def test_record_file_folders_name_what_they_leave_out(tmp_path, caplog):
    (tmp_path / "a.jsonl").write_text("{}\n")
    (tmp_path / "SOURCE.md").write_text("x")
    with caplog.at_level(logging.WARNING, logger="pipelines.runtime.local_inputs"):
        assert expand_record_files([str(tmp_path)]) == [str(tmp_path / "a.jsonl")]
    assert f"skipped 1 files that are not JSONL/JSON/Parquet/Arrow in {tmp_path}: SOURCE.md" in caplog.text
