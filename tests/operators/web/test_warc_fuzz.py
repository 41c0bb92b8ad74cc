"""Hostile WARC/WET inputs, fuzzed and seeded (tests/fixtures/warc_mutations.py): 1,000 damaged copies of the
shared Common Crawl files are read without a crash or a hang, every record the damage left whole is read, and
a file whose records are all whole gives exactly its records; a slice of them goes through curate_cc whole,
with every record counted. A 200 MB record does not raise the reader's memory by more than a few tens of MB.

Found by this fuzzing and fixed: a Content-Length of 99999999999999 made FastWARC reserve that much memory and
abort the process (operators/web/warc_fastwarc.py, ``_Piecewise``); a flipped byte that leaves a record without
a target URI made warcio raise AttributeError out of the reader (now a counted ``warc_malformed``); checking the
end of a last gzip member inflated 64 KiB of a repetitive page at once into tens of MB, and the resynchronising
pass read a block without newlines as one line (both now in pieces of at most 1 MiB).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import Counter

import pytest

from operators.web.warc_reader import FAULT_REASONS, NOT_A_DOCUMENT, WarcReader, WarcReaderConfig
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import shared_path
from tests.fixtures.warc_mutations import huge_member, member_sources, mutants

# Reasons the reader may give; anything else (or an exception) is a bug.
READER_REASONS = set(FAULT_REASONS) | {NOT_A_DOCUMENT, "not_http_200", "not_html", "record_too_large", None}
MUTANTS = 1000
SEED = 20261207


def read_all(reader: WarcReader, path: str):
    ids, reasons = [], Counter()
    for outcome in reader.read(path):
        batch = outcome.table.column("id").to_pylist()
        ids.extend(batch)
        reasons.update(outcome.reasons or [None] * len(batch))
    return ids, reasons


@pytest.fixture(scope="module")
def sources():
    return member_sources(shared_path("warc"))


@pytest.mark.slow
def test_a_thousand_damaged_files_read_without_a_crash_and_nothing_whole_is_lost(sources, tmp_path):
    assert len(sources) >= 8
    reader = WarcReader(WarcReaderConfig())
    kinds, slowest, records = Counter(), 0.0, 0
    for mutant in mutants(sources, MUTANTS, SEED):
        path = tmp_path / mutant.name
        path.write_bytes(mutant.data)
        started = time.monotonic()
        ids, reasons = read_all(reader, str(path))   # an exception here fails the test: no input may raise
        slowest = max(slowest, time.monotonic() - started)
        path.unlink()
        where = f"{mutant.name} (seed {SEED})"
        assert set(reasons) <= READER_REASONS, where
        missing = set(mutant.intact) - set(ids)
        assert not missing, f"{where}: {len(missing)} whole records not read"
        if mutant.exact is not None:   # every member whole: exactly its records, no fault row
            assert len(ids) == mutant.exact and not set(reasons) & set(FAULT_REASONS), where
        assert sum(reasons.values()) == len(ids)
        kinds[mutant.kind] += 1
        records += len(ids)
    assert min(kinds.values()) >= MUTANTS // len(kinds) - 1
    assert slowest < 60, f"one file took {slowest:.0f} s"
    print(f"\n{MUTANTS} mutants ({dict(kinds)}), {records} rows, slowest file {slowest:.2f} s")


@pytest.mark.slow
def test_damaged_files_through_curate_cc_count_every_record(sources, tmp_path):
    from operators.stats import PipelineStats
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate

    folder = tmp_path / "in"
    folder.mkdir()
    reader = WarcReader(WarcReaderConfig())
    rows = 0
    for mutant in mutants(sources, 40, SEED + 1, huge_bytes=30 << 20):
        (folder / mutant.name).write_bytes(mutant.data)
        rows += len(read_all(reader, str(folder / mutant.name))[0])
    config = load_config(None)
    config.output.chunk_files = 10
    stats: PipelineStats = curate(config, [str(folder)], str(tmp_path / "out"), in_process=True)
    stats.check()   # every operator: docs_in - docs_out = its drops
    assert stats.operators[0].docs_in == rows   # every row the reader gives is counted once, faults included
    for before, after in zip(stats.operators, stats.operators[1:]):
        assert after.docs_in == before.docs_out
    assert sum(stats.kept_per_language.values()) == stats.operators[-1].docs_out > 0


@pytest.mark.parametrize("layout", ["whole", "after_a_broken_record"])
def test_a_200_mb_record_is_dropped_within_bounded_memory(tmp_path, layout):
    """Read with FastWARC (whole file) or, after a malformed record, by warcio's lenient resynchronising pass:
    either way the reader holds max_record_bytes (20 MB) of it at most a few times (measured: 40 and 77 MB), not
    200 MB."""
    import gzip
    import io
    import random

    member, record_id = huge_member(200 << 20, random.Random(1))
    path = tmp_path / "huge.warc.gz"
    if layout == "whole":
        path.write_bytes(member)
    else:   # a plain file: a record with a negative Content-Length, then the huge one
        path = tmp_path / "huge.warc"
        with open(path, "wb") as handle:
            handle.write(b"WARC/1.0\r\nWARC-Type: response\r\nWARC-Record-ID: <urn:uuid:short>\r\n"
                         b"WARC-Target-URI: http://a.example/\r\nContent-Length: -5\r\n\r\n"
                         b"HTTP/1.1 200 OK\r\nDate: x\r\nContent-Type: text/html\r\n\r\n<html>hi</html>\r\n\r\n")
            with gzip.open(io.BytesIO(member)) as inflated:
                while chunk := inflated.read(1 << 20):
                    handle.write(chunk)
    script = (
        "import resource, sys\n"
        "from operators.web.warc_reader import WarcReader, WarcReaderConfig\n"
        "reader = WarcReader(WarcReaderConfig())\n"
        "list(reader.read(sys.argv[1] + '.none'))\n"   # imports and warm-up
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "rows = [(i, r) for o in reader.read(sys.argv[1]) for i, r in zip(o.table.column('id').to_pylist(), o.reasons)]\n"
        "after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "print(repr(rows) + '|' + str((after - before) // 1024))\n")
    done = subprocess.run([sys.executable, "-c", script, str(path)], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    rows, growth_mb = done.stdout.strip().rsplit("|", 1)
    if layout == "whole":
        assert rows == repr([(record_id, "record_too_large")])
    else:
        assert record_id in rows and "warc_malformed" in rows
    print(f"\n200 MB record, {layout}: peak RSS +{growth_mb} MB")
    assert int(growth_mb) < 100, f"reading a 200 MB record grew the process by {growth_mb} MB"  # 5 x max_record_bytes


def test_the_file_deadline_is_one_counted_row(sources, tmp_path):
    ids, reasons = read_all(WarcReader(WarcReaderConfig(file_deadline_s=1e-9)), sources[0])
    assert reasons["warc_deadline"] == 1 and len(ids) == 2   # one record, then the deadline
    ids, reasons = read_all(WarcReader(WarcReaderConfig()), sources[0])
    assert "warc_deadline" not in reasons and len(ids) > 2
