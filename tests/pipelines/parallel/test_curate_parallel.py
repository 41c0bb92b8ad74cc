"""curate_parallel.py end to end on NTREX-128 pairs in three formats: counts add up, duplicates are
removed across files, templates are applied, and the output says whether (and with which encoder) the
similarity filter ran."""

import gzip
import json

import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError
from operators.parallel.translation_templates import TEMPLATES
from pipelines.parallel.config import load_config
from pipelines.parallel.curate import curate_parallel, main
from tests.fixtures.shared_data import shared_path
from tests.fixtures.tiny_laser import build_tiny_laser

PAIRS = 200


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    folder = shared_path("ntrex128")
    en = [line.rstrip("\n") for line in open(folder / "eng_Latn.txt", encoding="utf-8")][:PAIRS]
    de = [line.rstrip("\n") for line in open(folder / "deu_Latn.txt", encoding="utf-8")][:PAIRS]
    root = tmp_path_factory.mktemp("parallel")
    (root / "news.en").write_text("\n".join(en[:100]) + "\n", encoding="utf-8")
    (root / "news.de").write_text("\n".join(de[:100]) + "\n", encoding="utf-8")
    # The TSV repeats the first 20 pairs of the Moses files: duplicates across files.
    tsv = [f"{s}\t{t}" for s, t in zip(en[:20] + en[100:150], de[:20] + de[100:150])]
    (root / "more.en-de.tsv.gz").write_bytes(gzip.compress("\n".join(tsv).encode()))
    units = "".join(f'<tu><tuv xml:lang="en"><seg>{s}</seg></tuv><tuv xml:lang="de"><seg>{t}</seg></tuv></tu>'
                    for s, t in zip(en[150:], de[150:]) if "<" not in s + t and "&" not in s + t)
    (root / "rest.tmx").write_text(f'<?xml version="1.0"?><tmx><body>{units}</body></tmx>', encoding="utf-8")
    return root, [str(root / "news"), str(root / "more.en-de.tsv.gz"), str(root / "rest.tmx")], en + de


def rows_of(output):
    return [r for p in sorted(output.glob("en-de/*.parquet")) for r in pq.read_table(p).to_pylist()]


def check(stats, output, similarity_used):
    for op in stats.operators:
        assert op.docs_in - op.docs_out == sum(op.dropped.values())
    names = [op.name for op in stats.operators]
    assert names == ["bitext_reader", "pair_filter"] + (["similarity"] if similarity_used else []) + ["pair_dedup"]
    rows = rows_of(output)
    assert len(rows) == stats.kept_per_language["en-de"] > 0
    assert {r["template_id"] for r in rows} <= set(TEMPLATES)
    metadata = pq.read_table(next(output.glob("en-de/*.parquet"))).schema.metadata[b"curation.similarity"].decode()
    assert metadata.startswith("similarity margin >= ") if similarity_used else metadata.startswith("not applied")
    assert stats.details["parallel"]["similarity"] == metadata
    return rows


def test_heuristics_only_in_process_and_on_ray_give_the_same_output(corpora, ray_local, tmp_path):
    root, inputs, _ = corpora
    config = load_config(None, src="en", tgt="de")
    local = curate_parallel(config, inputs, str(tmp_path / "local"), in_process=True)
    on_ray = curate_parallel(config, inputs, str(tmp_path / "ray"))
    assert local.to_dict() == on_ray.to_dict()
    rows = check(local, tmp_path / "local", similarity_used=False)
    # The TSV repeats 20 pairs of the Moses files (a few fail the filters first).
    assert local.operator("pair_dedup").dropped["dup:pair"] >= 18
    assert rows == rows_of(tmp_path / "ray")
    first = rows[0]
    assert first["src_text"] in first["text"] and first["tgt_text"] in first["text"]
    assert "English" in first["text"] or "German" in first["text"]
    # The sampled dropped pairs: the same on Ray; a duplicate shows both sides, which a kept pair repeats.
    drops = pq.read_table(tmp_path / "local" / "_drops" / "drops.parquet")
    assert drops.equals(pq.read_table(tmp_path / "ray" / "_drops" / "drops.parquet"))
    duplicates = [row for row in drops.to_pylist() if row["reason"] == "dup:pair"]
    assert duplicates and len(duplicates) <= 20 and all(row["operator"] == "pair_dedup" for row in duplicates)
    kept_pairs = {(r["src_text"], r["tgt_text"]) for r in rows}
    assert all(tuple(row["text"].split("\n", 1)) in kept_pairs for row in duplicates)
    assert {row["operator"] for row in drops.to_pylist()} >= {"pair_filter", "pair_dedup"}


def test_laser_path_and_both_directions(corpora, tmp_path):
    root, inputs, sentences = corpora
    laser = build_tiny_laser(str(tmp_path / "laser"), sentences)
    config_file = tmp_path / "parallel.yaml"
    config_file.write_text("similarity:\n  batch_size: 40\n  min_margin: 1.0\n"
                           "templates:\n  directions: both\n  seed: 3\n")
    config = load_config(str(config_file), src="en", tgt="de", laser_dir=laser)
    assert (config.similarity.encoder, config.similarity.model_dir) == ("laser", laser)
    stats = curate_parallel(config, inputs, str(tmp_path / "out"), in_process=True)
    rows = check(stats, tmp_path / "out", similarity_used=True)
    assert "with laser (" in stats.details["parallel"]["similarity"]
    assert {(r["src_lang"], r["tgt_lang"]) for r in rows} == {("en", "de"), ("de", "en")}
    assert all(r["sim_margin"] is None or r["sim_margin"] >= 1.0 for r in rows)
    assert {r["sim_model"] for r in rows} == {f"laser-bilstm-93langs-2018-12-26 ({laser})"}


def test_use_encoder_end_to_end(corpora, tmp_path):
    root, inputs, _ = corpora
    output, config_file = tmp_path / "out", tmp_path / "parallel.yaml"
    config_file.write_text("similarity:\n  encoder: use\n")
    assert main(["--input", *inputs, "--src", "en", "--tgt", "de", "--output", str(output), "--config",
                 str(config_file), "--in-process"]) == 0
    stats = json.loads((output / "stats.json").read_text())
    assert "with use (Universal Sentence Encoder Multilingual v3)" in stats["details"]["parallel"]["similarity"]
    rows = rows_of(output)
    assert rows and all(r["sim_model"].startswith("use-multilingual-v3") for r in rows)
    assert all(r["sim_margin"] >= 1.04 for r in rows)
    # --encoder use on the command line is the same config.
    assert load_config(None, src="en", tgt="de", encoder="use") == load_config(str(config_file), src="en", tgt="de")


def test_bad_inputs_fail_before_any_work(corpora, tmp_path, capsys):
    root, inputs, _ = corpora
    assert main(["--input", str(root / "absent.tsv"), "--src", "en", "--tgt", "de", "--output", str(tmp_path),
                 "--in-process"]) == 2
    assert "file not found" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="similarity.model_dir"):
        load_config(None, src="en", tgt="de", laser_dir=str(tmp_path))
    with pytest.raises(ConfigError, match="--laser-dir: .* --encoder use"):
        load_config(None, src="en", tgt="de", laser_dir=str(tmp_path), encoder="use")


def test_a_config_with_the_old_laser_section_names_the_new_one(tmp_path):
    config_file = tmp_path / "parallel.yaml"
    config_file.write_text("laser:\n  model_dir: models/laser\n  min_margin: 1.06\n")
    with pytest.raises(ConfigError, match=r"^laser: the section is now similarity: \(encoder: laser, "
                                          r"model_dir: models/laser\)"):
        load_config(str(config_file), src="en", tgt="de")


def test_documented_config_is_the_default():
    from tests.fixtures.shared_data import REPO_ROOT as ROOT

    assert load_config(str(ROOT / "configs" / "parallel.yaml"), src="en", tgt="de") == load_config(None, src="en", tgt="de")


def test_pairs_from_a_benchmark_are_dropped(tmp_path):
    """NTREX-128 en-de pairs with 30 FLORES-200 dev pairs mixed in (10 with only the German side from FLORES):
    with FLORES dev as the benchmark, every one of them that passes the pair filters is dropped as
    contaminated:flores, and no other pair is."""
    ntrex, flores = shared_path("ntrex128"), shared_path("flores200_dev")
    en = (ntrex / "eng_Latn.txt").read_text(encoding="utf-8").splitlines()[:100]
    de = (ntrex / "deu_Latn.txt").read_text(encoding="utf-8").splitlines()[:100]
    fen = (flores / "eng_Latn.dev").read_text(encoding="utf-8").splitlines()
    fde = (flores / "deu_Latn.dev").read_text(encoding="utf-8").splitlines()
    pairs = [f"{s}\t{t}" for s, t in zip(en, de)]
    pairs += [f"{fen[k]}\t{fde[k]}" for k in range(0, 400, 20)]                # both sides from FLORES
    pairs += [f"{en[k]} (again)\t{fde[500 + k]}" for k in range(10)]          # only the German side
    (tmp_path / "mixed.en-de.tsv").write_text("\n".join(pairs) + "\n", encoding="utf-8")
    (tmp_path / "parallel.yaml").write_text(
        f"decontamination:\n  benchmarks:\n    - {{name: flores, path: {flores}, format: flores}}\n", encoding="utf-8")
    config = load_config(str(tmp_path / "parallel.yaml"), src="en", tgt="de")
    stats = curate_parallel(config, [str(tmp_path / "mixed.en-de.tsv")], str(tmp_path / "out"), in_process=True)
    ops = {op.name: op for op in stats.operators}
    curate_parallel(load_config(None, src="en", tgt="de"), [str(tmp_path / "mixed.en-de.tsv")],
                    str(tmp_path / "plain"), in_process=True)
    planted = {r["src_text"] for r in rows_of(tmp_path / "plain")} - set(en)
    assert len(planted) >= 25
    assert dict(ops["decontamination"].dropped) == {"contaminated:flores": len(planted)}
    kept_sources = {r["src_text"] for r in rows_of(tmp_path / "out")}
    assert kept_sources == {r["src_text"] for r in rows_of(tmp_path / "plain")} - planted
