"""WARC/WET reading on real archives, including broken ones."""

from __future__ import annotations

import pyarrow as pa
import pytest

from operators.runner import SourceRunner
from operators.stats import PipelineStats
from operators.web.warc_reader import WarcReader, WarcReaderConfig
from tests.fixtures.shared_data import shared_path


def read_all(path, **config):
    stats = PipelineStats()
    runner = SourceRunner(WarcReader(WarcReaderConfig(**config)), stats)
    tables = list(runner(pa.table({"path": [str(path)]})))
    kept = pa.concat_tables(tables) if tables else None
    return kept, stats.operator("warc_reader")


def test_common_crawl_warc_keeps_html_responses_with_metadata():
    path = shared_path("warc", "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz")
    kept, op = read_all(path)
    assert kept.num_rows == 16 and op.docs_in == 16
    row = kept.slice(0, 1).to_pylist()[0]
    assert row["id"].startswith("<urn:uuid:")
    assert row["url"].startswith("http")
    assert row["source"].startswith(str(path) + ":")
    assert row["warc_date"].startswith("2020-08-08")
    assert "<" in row["html"] and row["text"] is None
    # offsets are distinct record positions in the file
    assert len(set(kept.column("source").to_pylist())) == 16


def test_non_html_and_non_200_responses_are_counted_reasons():
    kept, op = read_all(shared_path("warc", "IAH-20080430204825-00000-blackbook.warc.gz"))
    assert op.dropped["not_html"] > 100 and op.dropped["not_http_200"] > 10
    assert op.docs_in - op.docs_out == sum(op.dropped.values())
    assert kept.num_rows == op.docs_out


def test_wet_conversion_records_arrive_as_text():
    kept, op = read_all(shared_path("warc", "CC-MAIN-2016-50_excerpt_filter_test_1.wet.gz"))
    assert kept.num_rows == 25
    assert all(h is None for h in kept.column("html").to_pylist())
    assert all(len(t) > 100 for t in kept.column("text").to_pylist())


def test_legacy_charsets_and_content_encoding_are_decoded():
    kept, _ = read_all(shared_path("warc", "clueweb09-ja_excerpt_resiliparse.warc.gz"))
    assert kept.num_rows == 29
    htmls = kept.column("html").to_pylist()
    # EUC-JP / Shift_JIS pages decode to Japanese script, not mojibake or replacement characters.
    japanese = sum(any("\u3040" <= ch <= "\u30ff" for ch in h) for h in htmls)
    assert japanese >= 27
    assert sum(h.count("\ufffd") for h in htmls) < 50


def test_single_gzip_member_file_is_read_whole():
    kept, op = read_all(shared_path("warc_quirks", "elpais-malformed-target-uri.warc.gz"))
    assert kept.num_rows == 4
    assert all(u.startswith("https://") and "elpais.com/" in u for u in kept.column("url").to_pylist())


@pytest.mark.parametrize(
    "name, reason, at_least_kept",
    [
        ("clipped.warc.gz", "warc_truncated", 0),
        ("cc-wet-appended_zip_fragment_unexpected_eof.wet.gz", "warc_truncated", 15),
        ("cc-wet-fragment1_incomplete_last.wet.gz", "warc_truncated", 1),
        ("cc-wet-fragment2_no_header.wet.gz", "warc_unreadable", 0),
        ("clueweb09-en-pywarc-sample.warc.gz", "warc_malformed", 100),  # recovered by resync
    ],
)
def test_broken_files_keep_what_was_read_and_count_the_fault(name, reason, at_least_kept):
    kept, op = read_all(shared_path("warc_quirks", name))
    assert op.dropped[reason] == 1
    assert op.docs_out >= at_least_kept
    assert op.docs_in - op.docs_out == sum(op.dropped.values())


def test_a_file_that_is_not_an_archive_is_one_counted_fault(tmp_path):
    path = tmp_path / "notes.txt"
    path.write_text("## not a WARC\nWARC-Type: response\n\nhello\n")
    kept, op = read_all(path)
    assert kept is None
    assert dict(op.dropped) == {"warc_unreadable": 1}


def test_missing_file_is_counted_not_raised(tmp_path):
    kept, op = read_all(tmp_path / "absent.warc.gz")
    assert kept is None and dict(op.dropped) == {"warc_unreadable": 1}


def test_small_batches_stream_the_same_documents():
    path = shared_path("warc", "dolma-wget-sample-0000.warc.gz")
    whole, _ = read_all(path)
    small, _ = read_all(path, batch_size=3)
    assert whole.column("id").to_pylist() == small.column("id").to_pylist()


def test_oversized_record_is_dropped_by_the_memory_guard():
    kept, op = read_all(shared_path("warc", "dolma-wget-sample-0000.warc.gz"), max_record_bytes=50_000)
    assert op.dropped["record_too_large"] > 0
    assert all(len(h.encode()) <= 50_000 for h in kept.column("html").to_pylist())
