"""The demo input end to end: every fixture page ends where its manifest says."""

from __future__ import annotations

from collections import Counter

import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError
from pipelines.tools.demo_warc import build_demo_warc, load_manifest
from pipelines.web.config import load_config
from pipelines.web.curate import curate, main
from tests.fixtures.curated_output import assert_invariant, read_stats, shard_paths


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
    for shard in shard_paths(out):
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
    assert dropped.pop("warc_not_a_document") == 1  # the demo WARC's warcinfo record: read, not a page
    assert dropped == expected_drops
    assert stats["kept_per_language"] == dict(sorted(Counter(expected_kept.values()).items()))
    # From language ID on, counts are also kept per language.
    quality = next(op for op in stats["operators"] if op["name"] == "quality")
    assert {lang: c["docs_out"] for lang, c in quality["by_language"].items() if c["docs_out"]} == stats["kept_per_language"]
    assert quality["by_language"]["es"]["dropped"] == {"quality:max_mojibake_per_kchar": 1}


def test_rerun_skips_finished_chunks_and_keeps_output(demo_warc, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["--input", demo_warc, "--output", out, "--in-process"]) == 0
    first = sorted(p.name for p in shard_paths(tmp_path / "out"))
    assert main(["--input", demo_warc, "--output", out, "--in-process"]) == 0
    assert sorted(p.name for p in shard_paths(tmp_path / "out")) == first
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


def test_rerun_with_other_settings_is_an_error_naming_the_change(demo_warc, tmp_path, capsys):
    out = str(tmp_path / "out")
    assert main(["--input", demo_warc, "--output", out, "--in-process"]) == 0
    first = read_stats(out)
    config = tmp_path / "stricter.yaml"
    config.write_text("langid:\n  default_min_score: 0.9\n")
    capsys.readouterr()
    assert main(["--input", demo_warc, "--output", out, "--in-process", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "settings.langid.default_min_score: 0.65 → 0.9" in err and "--overwrite" in err
    assert read_stats(out) == first  # the earlier run's output is untouched

    # With --overwrite the run starts afresh: the stricter setting really applies.
    assert main(["--input", demo_warc, "--output", out, "--in-process", "--config", str(config), "--overwrite"]) == 0
    langid = next(op for op in read_stats(out)["operators"] if op["name"] == "langid")
    first_langid = next(op for op in first["operators"] if op["name"] == "langid")
    assert langid["docs_out"] < first_langid["docs_out"]
    # The same command again resumes (nothing to redo) instead of failing.
    assert main(["--input", demo_warc, "--output", out, "--in-process", "--config", str(config)]) == 0


def test_rerun_over_a_changed_input_is_an_error(demo_warc, tmp_path, capsys):
    import os
    import shutil

    warc = str(tmp_path / "input.warc.gz")
    shutil.copy(demo_warc, warc)
    out = str(tmp_path / "out")
    assert main(["--input", warc, "--output", out, "--in-process"]) == 0
    os.utime(warc, ns=(0, 10**18))  # the file was rewritten (same name, new modification time)
    capsys.readouterr()
    assert main(["--input", warc, "--output", out, "--in-process"]) == 2
    assert "inputs[0].mtime_ns" in capsys.readouterr().err


def test_output_folder_of_something_else_is_refused(demo_warc, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    assert main(["--input", demo_warc, "--output", str(out), "--in-process"]) == 2
    assert "is not empty and holds no record" in capsys.readouterr().err
    # --overwrite never empties a folder no run of this project wrote.
    assert main(["--input", demo_warc, "--output", str(out), "--in-process", "--overwrite"]) == 2
    assert (out / "notes.txt").read_text() == "mine"


def test_finished_run_leaves_no_temporary_folder(demo_warc, tmp_path):
    out = tmp_path / "out"
    curate(load_config(None), [demo_warc], str(out), in_process=True)
    assert not (out / "_tmp").exists()


def test_progress_line_counts_records_read_and_documents_kept():
    from operators.stats import PipelineStats
    from pipelines.web.curate import progress_line

    stats = PipelineStats(["warc_reader", "extract"])
    stats.add("warc_reader", 444, 198, {"warc_not_a_document": 246})
    stats.add("extract", 198, 52, {"no_content": 146})
    stats.add_kept({"en": 40, "de": 12})
    line = progress_line(stats, 1, 3, 5, 15, 10.0)
    assert line == ("progress: 1/3 chunks, 5/15 files, 444 records read, 52 documents kept, 44 records/s, "
                    "ETA 20 s")
    assert "ETA" not in progress_line(stats, 3, 3, 15, 15, 30.0)


def test_documented_config_resolves_its_paths_against_its_own_folder(tmp_path, monkeypatch):
    """configs/curate_cc.yaml names the shipped word lists relative to configs/: it loads, and equals the
    defaults, from any current directory."""
    from pipelines.web.config import CurateConfig
    from tests.fixtures.shared_data import REPO_ROOT

    monkeypatch.chdir(tmp_path)
    config = load_config(str(REPO_ROOT / "configs" / "curate_cc.yaml"))
    assert config == CurateConfig()
    assert config.url_filter.blocked_domains_path == str(
        REPO_ROOT / "operators" / "resources" / "url_filter" / "blocked_domains.txt")
    (tmp_path / "mine.yaml").write_text("url_filter:\n  blocked_domains_path: lists/blocked.txt\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    with pytest.raises(ConfigError, match=f"file not found: {tmp_path / 'lists' / 'blocked.txt'}"):
        load_config(str(tmp_path / "mine.yaml"))
    (tmp_path / "lists").mkdir()
    (tmp_path / "lists" / "blocked.txt").write_text("example.com\n")
    assert load_config(str(tmp_path / "mine.yaml")).url_filter.blocked_domains_path == str(
        tmp_path / "lists" / "blocked.txt")


def _decontaminated(config_path_text, benchmark, action):
    from common.config_check import build
    from operators.decontamination.filter import DecontaminationConfig

    config = load_config(None)
    config.decontamination = build(DecontaminationConfig, {"action": action, "benchmarks": [
        {"name": "demo-bench", "path": str(benchmark), "format": "jsonl", "fields": ["question"], "lang": "en"}]})
    return config


def test_a_page_quoting_a_benchmark_is_cut_or_dropped(demo_warc, tmp_path, ray_local):
    """A benchmark item made of two sentences of a kept English page: with action cut the page stays without
    them (the note contaminated:demo-bench); with drop (here on Ray) it is gone and counted."""
    import json

    curate(load_config(None), [demo_warc], str(tmp_path / "plain"), in_process=True)
    rows = [r for shard in shard_paths(tmp_path / "plain") for r in pq.read_table(shard).to_pylist()]
    page = max((r for r in rows if r["lang"] == "en"), key=lambda r: len(r["text"]))
    sentences = sorted((s.strip() for s in page["text"].replace("\n", " ").split(". ") if len(s.split()) >= 8),
                       key=len, reverse=True)[:2]
    item = ". ".join(sentences) + "."
    benchmark = tmp_path / "bench.jsonl"
    benchmark.write_text(json.dumps({"question": item}) + "\n", encoding="utf-8")

    curate(_decontaminated(None, benchmark, "cut"), [demo_warc], str(tmp_path / "cut"), in_process=True)
    cut = {r["url"]: r["text"] for shard in shard_paths(tmp_path / "cut") for r in pq.read_table(shard).to_pylist()}
    assert set(cut) == {r["url"] for r in rows}
    assert all(s not in cut[page["url"]] for s in sentences) and len(cut[page["url"]]) < len(page["text"])
    assert {u: t for u, t in cut.items() if u != page["url"]} == {r["url"]: r["text"] for r in rows if r["url"] != page["url"]}
    ops = {op["name"]: op for op in read_stats(str(tmp_path / "cut"))["operators"]}
    assert ops["decontamination"]["dropped"] == {} and ops["decontamination"]["noted"] == {"contaminated:demo-bench": 1}

    curate(_decontaminated(None, benchmark, "drop"), [demo_warc], str(tmp_path / "drop"))
    dropped = {r["url"] for shard in shard_paths(tmp_path / "drop") for r in pq.read_table(shard).to_pylist()}
    assert dropped == {r["url"] for r in rows} - {page["url"]}
    stats = read_stats(str(tmp_path / "drop"))
    assert_invariant(stats)
    assert {op["name"]: op for op in stats["operators"]}["decontamination"]["dropped"] == {"contaminated:demo-bench": 1}
    assert stats["details"]["decontamination"].startswith("drop at item coverage >= 0.5 against demo-bench (exact n-grams")
    assert read_stats(str(tmp_path / "plain"))["details"]["decontamination"] == "not applied: no benchmarks given"
