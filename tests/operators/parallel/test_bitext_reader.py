"""Parallel-corpus readers on small files written here: every format, compressions, malformed input."""

import bz2
import gzip
import lzma

import pyarrow as pa
import pytest
import zstandard

from common.config_check import ConfigError, build
from operators.parallel.bitext_reader import BitextReader, BitextReaderConfig, detect_format
from operators.runner import SourceRunner
from operators.stats import PipelineStats

PAIRS = [("Hello world.", "Hallo Welt."), ("The cat sleeps.", "Die Katze schläft."), ("Two\tthings", "Zwei Dinge")]
COMPRESSORS = {"": lambda b: b, ".gz": gzip.compress, ".xz": lzma.compress, ".bz2": bz2.compress,
               ".zst": lambda b: zstandard.ZstdCompressor().compress(b)}


def read(location, **config):
    stats = PipelineStats()
    runner = SourceRunner(BitextReader(build(BitextReaderConfig, {"src": "en", "tgt": "de", **config})), stats)
    tables = list(runner(pa.table({"path": [str(location)]})))
    rows = [r for t in tables for r in t.to_pylist()]
    return rows, stats.operator("bitext_reader")


@pytest.mark.parametrize("suffix", list(COMPRESSORS))
def test_moses_pair_of_files_with_a_bad_line_and_unequal_lengths(tmp_path, suffix):
    src = "\n".join(s for s, _ in PAIRS[:2]) + "\nextra source line\n"
    tgt = "\n".join(t for _, t in PAIRS[:2]).encode() + b"\n\xff\xfe broken\n"
    (tmp_path / f"corpus.de-en.en{suffix}").write_bytes(COMPRESSORS[suffix](src.encode()))
    (tmp_path / f"corpus.de-en.de{suffix}").write_bytes(COMPRESSORS[suffix](tgt))
    prefix = tmp_path / "corpus.de-en"
    assert detect_format(str(prefix), "en", "de") == "moses"
    rows, stats = read(prefix)
    assert [(r["src_text"], r["tgt_text"]) for r in rows] == PAIRS[:2]
    assert all(r["src_lang"] == "en" and r["tgt_lang"] == "de" for r in rows)
    assert stats.docs_in == 3 and dict(stats.dropped) == {"read:bad_encoding": 1}
    (tmp_path / f"corpus.de-en.de{suffix}").write_bytes(COMPRESSORS[suffix]("\n".join(t for _, t in PAIRS[:2]).encode()))
    rows, stats = read(prefix)
    assert len(rows) == 2 and dict(stats.dropped) == {"read:line_count_mismatch": 1}


@pytest.mark.parametrize("suffix", [".gz", ".zst"])
def test_tsv_with_short_lines_and_extra_columns(tmp_path, suffix):
    lines = ["Hello world.\tHallo Welt.\t0.9", "no tab here", "The cat sleeps.\tDie Katze schläft."]
    path = tmp_path / f"opus.en-de.tsv{suffix}"
    path.write_bytes(COMPRESSORS[suffix]("\n".join(lines).encode()))
    rows, stats = read(path)
    assert [(r["src_text"], r["tgt_text"]) for r in rows] == PAIRS[:2]
    assert dict(stats.dropped) == {"read:wrong_column_count": 1}
    assert len({r["id"] for r in rows}) == 2


def test_tmx_units_missing_a_side_and_broken_xml(tmp_path):
    tmx = """<?xml version="1.0" encoding="UTF-8"?>
<tmx version="1.4"><header srclang="en"/><body>
<tu><tuv xml:lang="en-US"><seg>Hello world.</seg></tuv><tuv xml:lang="de-DE"><seg>Hallo Welt.</seg></tuv></tu>
<tu><tuv xml:lang="en"><seg>Only English.</seg></tuv></tu>
<tu><tuv lang="EN"><seg>The cat <b>sleeps</b>.</seg></tuv><tuv lang="de"><seg>Die Katze schläft.</seg></tuv></tu>
</body></tmx>"""
    path = tmp_path / "corpus.tmx.gz"
    path.write_bytes(gzip.compress(tmx.encode()))
    rows, stats = read(path)
    assert [(r["src_text"], r["tgt_text"]) for r in rows] == PAIRS[:2]
    assert dict(stats.dropped) == {"read:tmx_missing_side": 1}
    broken = tmp_path / "broken.tmx"
    broken.write_text(tmx[: tmx.index("<tu><tuv lang")] + "<tu><tuv lang='en'><seg>x</tuv>")
    rows, stats = read(broken)
    assert len(rows) == 1 and dict(stats.dropped) == {"read:tmx_missing_side": 1, "read:bad_xml": 1}


def test_ccaligned_sentences_documents_and_swapped_direction(tmp_path):
    sentences = tmp_path / "en_XX-de_DE.tsv.xz"
    sentences.write_bytes(lzma.compress("Hello world.\tHallo Welt.\t1.12\nThe cat sleeps.\tDie Katze schläft.\tn/a\n".encode()))
    rows, stats = read(sentences)
    assert [(r["src_text"], r["tgt_text"], r["given_score"]) for r in rows] == [("Hello world.", "Hallo Welt.", pytest.approx(1.12))]
    assert dict(stats.dropped) == {"read:bad_score": 1}
    rows, _ = read(sentences, src="de", tgt="en")
    assert (rows[0]["src_text"], rows[0]["tgt_text"], rows[0]["src_lang"]) == ("Hallo Welt.", "Hello world.", "de")
    documents = tmp_path / "en_XX-de_DE.tsv"
    documents.write_text("example.com\thttp://example.com/en\tHello world.\thttp://example.com/de\tHallo Welt.\n")
    rows, _ = read(documents)
    assert (rows[0]["src_url"], rows[0]["tgt_text"]) == ("http://example.com/en", "Hallo Welt.")
    with pytest.raises(ConfigError, match="CCAligned files are named"):
        BitextReader(build(BitextReaderConfig, {"src": "fr", "tgt": "en"})).check_location(str(documents))


def test_truncated_compressed_file_keeps_what_was_read(tmp_path):
    data = gzip.compress("\n".join(f"line {i}\tZeile {i}" for i in range(5000)).encode())
    path = tmp_path / "cut.tsv.gz"
    path.write_bytes(data[: len(data) // 2])
    rows, stats = read(path)
    assert 0 < len(rows) < 5000 and dict(stats.dropped) == {"read:truncated": 1}


def test_unknown_layout_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="cannot tell its format"):
        detect_format(str(tmp_path / "nothing"), "en", "de")
    with pytest.raises(ConfigError, match="format"):
        build(BitextReaderConfig, {"format": "xml"})
    (tmp_path / "only.en").write_text("x\n")
    reader = BitextReader(build(BitextReaderConfig, {"format": "moses"}))
    with pytest.raises(ConfigError, match="only.de not found"):
        reader.check_location(str(tmp_path / "only"))
