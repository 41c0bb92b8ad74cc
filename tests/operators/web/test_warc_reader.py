"""WARC/WET reading on real archives, including broken ones."""

from __future__ import annotations

import gzip

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
    # 50 records: 16 HTML responses, the rest warcinfo / request / metadata records, counted as such.
    assert kept.num_rows == op.docs_out == 16 and op.docs_in == 50
    assert dict(op.dropped) == {"warc_not_a_document": 34}
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
    assert op.samples == {"warc_unreadable": [str(path)]}


def test_missing_file_is_counted_not_raised(tmp_path):
    kept, op = read_all(tmp_path / "absent.warc.gz")
    assert kept is None and dict(op.dropped) == {"warc_unreadable": 1}
    assert op.samples == {"warc_unreadable": [str(tmp_path / "absent.warc.gz")]}


def test_small_batches_stream_the_same_documents():
    path = shared_path("warc", "dolma-wget-sample-0000.warc.gz")
    whole, _ = read_all(path)
    small, _ = read_all(path, batch_size=3)
    assert whole.column("id").to_pylist() == small.column("id").to_pylist()


def test_oversized_record_is_dropped_by_the_memory_guard():
    kept, op = read_all(shared_path("warc", "dolma-wget-sample-0000.warc.gz"), max_record_bytes=50_000)
    assert op.dropped["record_too_large"] > 0
    assert all(len(h.encode()) <= 50_000 for h in kept.column("html").to_pylist())


def _write_wat(path):
    """A tiny WAT file as Common Crawl writes them: a warcinfo record, then JSON ``metadata`` records."""
    from io import BytesIO

    from warcio.warcwriter import WARCWriter

    with open(path, "wb") as handle:
        writer = WARCWriter(handle, gzip=True)
        writer.write_record(writer.create_warcinfo_record(str(path), {"software": "test"}))
        for n in range(3):
            payload = ('{"Envelope": {"WARC-Header-Metadata": {"WARC-Type": "response"}}, "n": %d}' % n).encode()
            writer.write_record(writer.create_warc_record(f"https://example.com/{n}", "metadata",
                                                          payload=BytesIO(payload),
                                                          warc_content_type="application/json"))
    return path


@pytest.mark.parametrize("content", [b"", gzip.compress(b"")], ids=["zero_bytes", "empty_gzip"])
def test_an_empty_file_is_a_counted_fault_named_in_the_samples(tmp_path, content):
    path = tmp_path / "empty.warc.gz"
    path.write_bytes(content)
    kept, op = read_all(path)
    assert kept is None
    assert dict(op.dropped) == {"warc_empty": 1}
    assert op.samples == {"warc_empty": [str(path)]}  # the file itself, not a record offset
    assert op.files_dict() == {"read": 1, "without_documents": 1, "samples": [str(path)]}


def test_wat_records_are_counted_as_not_documents(tmp_path):
    path = _write_wat(tmp_path / "tiny.warc.wat.gz")
    kept, op = read_all(path)
    assert kept is None
    assert (op.docs_in, op.docs_out, dict(op.dropped)) == (4, 0, {"warc_not_a_document": 4})
    assert len(op.samples["warc_not_a_document"]) == 4
    assert all(s.startswith(f"{path}:") for s in op.samples["warc_not_a_document"])
    assert op.files_dict() == {"read": 1, "without_documents": 1, "samples": [str(path)]}


def test_common_crawl_wat_excerpt_is_counted_not_silent():
    path = shared_path("warc", "CC-MAIN-2024-22_whirlwind.warc.wat.gz")
    kept, op = read_all(path)
    assert kept is None and op.docs_in == 2 and dict(op.dropped) == {"warc_not_a_document": 2}
    assert op.files["without_documents"] == 1


def test_records_read_are_the_readers_docs_in_and_batches_count_documents():
    path = shared_path("warc", "CC-MAIN-2024-22_whirlwind.warc.gz")  # warcinfo, request, response, metadata
    kept, op = read_all(path)
    assert (op.docs_in, op.docs_out, dict(op.dropped)) == (4, 1, {"warc_not_a_document": 3})
    assert op.files_dict() == {"read": 1, "without_documents": 0, "samples": []}
    # batch_size counts documents: request/metadata rows do not shrink the batches the next steps get
    outcomes = list(WarcReader(WarcReaderConfig(batch_size=3)).read(
        str(shared_path("warc", "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz"))))
    kept_per_batch = [sum(r is None for r in o.reasons) for o in outcomes]
    assert kept_per_batch[:-1] == [3] * (len(outcomes) - 1) and sum(kept_per_batch) == 16


def test_whole_file_faults_are_input_problems():
    from operators.stats import is_problem
    from operators.web.warc_reader import FAULT_REASONS, NOT_A_DOCUMENT

    assert all(is_problem(reason) for reason in FAULT_REASONS)
    assert not is_problem(NOT_A_DOCUMENT) and not is_problem("not_html")
