"""Hostile parallel-corpus and instruction-data files, fuzzed and seeded (tests/fixtures/record_mutations.py):
the readers of curate_parallel (Moses, TSV, TMX) and curate_sft (JSONL, Parquet) never raise, never stall, and
give one row per line of a line file (a fault is a counted row too), so every record is accounted for; and the
whole pipelines over a folder of such files count every row once.

Found by this fuzzing and fixed (operators/sft/reader.py): JSON nested 100,000 deep raised RecursionError, and
a damaged Parquet file raised out of the reader; now ``read:bad_json`` and ``read:corrupt``.
"""

from __future__ import annotations

import gzip
import io
import random
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from operators.parallel.bitext_reader import BitextReader, BitextReaderConfig
from operators.sft.reader import SftReader, SftReaderConfig
from tests.fixtures.record_mutations import jsonl_records, line_mutants, parquet_mutants, tmx_mutants
from tests.fixtures.shared_data import ntrex_sentences

ROUNDS = 20
SEED = 1207


def count_rows(reader, location: str) -> int:
    return sum(outcome.table.num_rows for outcome in reader.read(location))


def jsonl_rows(data: bytes) -> int:
    """Rows the SFT reader owes a plain JSONL file: every line that is not blank."""
    return sum(1 for line in data.split(b"\n") if line.strip())


@pytest.fixture(scope="module")
def texts():
    return ntrex_sentences("eng_Latn.txt", 100), ntrex_sentences("deu_Latn.txt", 100)


def mutated_files(texts, folder, rounds: int, seed: int):
    """Write every mutant of ``rounds`` rounds into ``folder``; yields (label, reader kind, location, rows)."""
    english, german = texts
    rng = random.Random(seed)
    src = ("\n".join(english) + "\n").encode()
    tgt = ("\n".join(german) + "\n").encode()
    tsv = "".join(f"{a}\t{b}\n" for a, b in zip(english, german)).encode()
    tmx = ('<?xml version="1.0"?><tmx><body>' + "".join(
        f'<tu><tuv xml:lang="en"><seg>{a}</seg></tuv><tuv xml:lang="de"><seg>{b}</seg></tuv></tu>'
        for a, b in zip(english, german) if "<" not in a + b and "&" not in a + b) + "</body></tmx>").encode()
    buffer = io.BytesIO()
    pq.write_table(pa.table({"instruction": english, "output": german}), buffer)
    for number in range(rounds):
        for kind, data, rows in line_mutants(src, rng, jsonl=False):
            gz = ".gz" if kind == "gzip_cut" else ""
            (folder / f"m{number}{kind}.en{gz}").write_bytes(data)
            (folder / f"m{number}{kind}.de{gz}").write_bytes(gzip.compress(tgt) if gz else tgt)
            yield f"moses {kind}", "parallel", str(folder / f"m{number}{kind}"), None if rows is None else max(rows, 100)
        for kind, data, rows in line_mutants(tsv, rng, jsonl=False):
            path = folder / f"t{number}{kind}.en-de.tsv{'.gz' if kind == 'gzip_cut' else ''}"
            path.write_bytes(data)
            yield f"tsv {kind}", "parallel", str(path), rows
        for kind, data, rows in tmx_mutants(tmx, rng):
            path = folder / f"x{number}{kind}.tmx"
            path.write_bytes(data)
            yield f"tmx {kind}", "parallel", str(path), rows
        for kind, data, _ in line_mutants(jsonl_records(english), rng, jsonl=True):
            gz = kind == "gzip_cut"
            path = folder / f"s{number}{kind}.jsonl{'.gz' if gz else ''}"
            path.write_bytes(data)
            yield f"jsonl {kind}", "sft", str(path), None if gz else jsonl_rows(data)
        for kind, data, rows in parquet_mutants(buffer.getvalue(), rng):
            path = folder / f"p{number}{kind}.parquet"
            path.write_bytes(data)
            yield f"parquet {kind}", "sft", str(path), rows


def test_damaged_parallel_and_sft_files_never_raise_and_every_line_is_a_row(texts, tmp_path):
    readers = {"parallel": BitextReader(BitextReaderConfig(src="en", tgt="de")), "sft": SftReader(SftReaderConfig())}
    files, slowest = 0, 0.0
    for label, kind, location, rows in mutated_files(texts, tmp_path, ROUNDS, SEED):
        started = time.monotonic()
        got = count_rows(readers[kind], location)   # an exception fails the test: no input may raise
        slowest = max(slowest, time.monotonic() - started)
        if rows is not None:
            assert got == rows, f"{label} ({location}, seed {SEED}): {got} rows for {rows} records"
        files += 1
    assert files == ROUNDS * 24 and slowest < 10
    print(f"\n{files} damaged parallel/SFT files, slowest {slowest:.2f} s")


def test_damaged_files_through_curate_parallel_and_curate_sft_count_every_row(texts, tmp_path):
    from pipelines.parallel.config import load_config
    from pipelines.parallel.curate import curate_parallel
    from pipelines.sft.curate import curate_sft
    from pipelines.sft.curation_config import SftConfig

    folder = tmp_path / "in"
    folder.mkdir()
    parallel, sft = [], []
    for _, kind, location, _ in mutated_files(texts, folder, 2, SEED + 1):
        (parallel if kind == "parallel" else sft).append(location)
    expected_parallel = sum(count_rows(BitextReader(BitextReaderConfig(src="en", tgt="de")), p) for p in parallel)
    expected_sft = sum(count_rows(SftReader(SftReaderConfig()), p) for p in sft)

    stats = curate_parallel(load_config(None, src="en", tgt="de"), parallel, str(tmp_path / "parallel"),
                            in_process=True)
    stats.check()
    assert stats.operators[0].docs_in == expected_parallel and stats.kept_per_language["en-de"] > 0
    stats = curate_sft(SftConfig(), sft, str(tmp_path / "sft"), in_process=True)
    stats.check()
    assert stats.operators[0].docs_in == expected_sft and sum(stats.kept_per_language.values()) > 0
