"""The demo input end to end: every fixture page ends where its manifest says."""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError
from pipelines.tools.demo_warc import build_demo_warc, load_manifest
from pipelines.web.config import load_config
from pipelines.web.curate import curate, main
from tests.fixtures.curated_output import assert_invariant, read_stats


@pytest.fixture(scope="module")
def demo_warc(tmp_path_factory):
    return build_demo_warc(str(tmp_path_factory.mktemp("demo") / "demo.warc.gz"))


def test_every_demo_page_is_kept_or_dropped_as_expected(demo_warc, tmp_path):
    out = tmp_path / "out"
    curate(load_config(None), [demo_warc], str(out), in_process=True)
    manifest = load_manifest()
    expected_kept = {r["url"]: r["expect"] for r in manifest if len(r["expect"]) == 2}
    expected_drops = Counter(r["expect"] for r in manifest if len(r["expect"]) > 2)

    kept = {}
    for shard in out.glob("*/*.parquet"):
        table = pq.read_table(shard)
        assert {"id", "url", "source", "text", "lang", "lang_score"} <= set(table.column_names)
        assert "html" not in table.column_names
        for row in table.to_pylist():
            kept[row["url"]] = row["lang"]
            assert shard.parent.name == row["lang"]
            assert row["lang_score"] >= 0.65 and len(row["text"]) > 200
    assert kept == expected_kept

    stats = read_stats(str(out))
    assert_invariant(stats)
    assert [op["name"] for op in stats["operators"]] == ["warc_reader", "url_filter", "extract", "langid", "quality"]
    dropped = Counter()
    for op in stats["operators"]:
        dropped.update(op["dropped"])
    assert dropped == expected_drops
    assert stats["kept_per_language"] == dict(sorted(Counter(expected_kept.values()).items()))
    # From language ID on, counts are also kept per language.
    quality = next(op for op in stats["operators"] if op["name"] == "quality")
    assert {lang: c["docs_out"] for lang, c in quality["by_language"].items() if c["docs_out"]} == stats["kept_per_language"]
    assert quality["by_language"]["es"]["dropped"] == {"quality:max_mojibake_per_kchar": 1}


def test_rerun_skips_finished_chunks_and_keeps_output(demo_warc, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["--input", demo_warc, "--output", out, "--in-process"]) == 0
    first = sorted(p.name for p in (tmp_path / "out").glob("*/*.parquet"))
    assert main(["--input", demo_warc, "--output", out, "--in-process"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("*/*.parquet")) == first
    assert "langid" in capsys.readouterr().out


def test_unfinished_chunk_is_redone_from_scratch(demo_warc, tmp_path):
    out = tmp_path / "out"
    curate(load_config(None), [demo_warc], str(out), in_process=True)
    before = read_stats(str(out))
    # Simulate a crash after the shards were moved but before _SUCCESS was written.
    (next((out / "_chunks").glob("chunk-*")) / "_SUCCESS").unlink()
    stray = out / "en" / (next((out / "_chunks").glob("chunk-*")).name + "-0099.parquet")
    stray.write_bytes(b"partial")
    curate(load_config(None), [demo_warc], str(out), in_process=True)
    assert not stray.exists()
    assert read_stats(str(out)) == before


def test_bad_config_is_one_clear_error_naming_the_key(tmp_path, capsys):
    config = tmp_path / "bad.yaml"
    config.write_text("langid:\n  min_score:\n    ms: 1.5\n")
    with pytest.raises(ConfigError, match=r"langid\.min_score\.ms"):
        load_config(str(config))
    config.write_text("extract:\n  max_html_bytez: 10\n")
    with pytest.raises(ConfigError, match=r"unknown config key extract\.max_html_bytez"):
        load_config(str(config))
    config.write_text("langid:\n  model_path: /nonexistent/lid.176.bin\n")
    assert main(["--input", "x", "--output", str(tmp_path / "o"), "--config", str(config)]) == 2
    assert "langid.model_path: file not found: /nonexistent/lid.176.bin" in capsys.readouterr().err


def test_missing_input_fails_before_any_work(tmp_path, capsys):
    assert main(["--input", str(tmp_path / "nothing*.warc.gz"), "--output", str(tmp_path / "o")]) == 2
    assert "no file matches" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()
