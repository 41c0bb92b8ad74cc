"""Benchmark files in every format, the index built from them, and the errors a bad entry gives before work."""

from __future__ import annotations

import gzip
import json
import pickle

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError, build
from operators.decontamination.benchmarks import BenchmarkConfig, read_items
from operators.decontamination.filter import Decontaminate, DecontaminationConfig
from operators.decontamination.index import open_index
from tests.fixtures.shared_data import shared_path



@pytest.fixture
def belebele_like(tmp_path):
    """Belebele's layout (one row per question and language variant, linked by `link`), from FLORES dev
    sentences: the passage is four consecutive sentences, the question a fifth."""
    rows = []
    for code in ("eng_Latn", "deu_Latn", "zho_Hans"):
        lines = (shared_path("flores200_dev") / f"{code}.dev").read_text(encoding="utf-8").splitlines()
        for k in range(20):
            rows.append({"link": f"item-{k}", "dialect": code, "flores_passage": " ".join(lines[5 * k:5 * k + 4]),
                         "question": lines[5 * k + 4], "mc_answer1": "1", "mc_answer2": "2"})
    path = tmp_path / "belebele.jsonl.gz"
    with gzip.open(path, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    return path, rows


def config(**benchmark):
    data = build(DecontaminationConfig, {"benchmarks": [benchmark]})
    data.check_files()
    return data


def test_jsonl_parquet_and_tsv_give_the_same_items(belebele_like, tmp_path):
    path, rows = belebele_like
    fields = ["flores_passage", "question", "mc_answer1", "mc_answer2"]
    pq.write_table(pa.Table.from_pylist(rows), tmp_path / "b.parquet")
    with open(tmp_path / "b.tsv", "w", encoding="utf-8") as handle:
        handle.write("\t".join(rows[0]) + "\n" + "".join("\t".join(r.values()) + "\n" for r in rows))
    found = []
    for name, fmt in ((path, "jsonl"), (tmp_path / "b.parquet", "parquet"), (tmp_path / "b.tsv", "tsv")):
        spec = BenchmarkConfig(name="belebele", path=str(name), format=fmt, fields=fields, lang_field="dialect",
                               id_field="link")
        spec.validate()
        found.append([(i.group, i.lang, i.segments) for i in read_items(spec)])
    assert found[0] == found[1] == found[2]
    assert found[0][0][:2] == ("item-0", "en") and found[0][20][:2] == ("item-0", "de") and len(found[0][0][2]) == 4


def test_a_passage_copied_in_any_language_is_caught_and_the_index_is_small(belebele_like):
    path, rows = belebele_like
    decontamination = config(name="belebele", path=str(path), format="jsonl", fields=["flores_passage", "question"],
                             lang_field="dialect", id_field="link")
    step = Decontaminate(decontamination)
    # The operator travels to workers without its index; each worker memory-maps it in setup().
    step = pickle.loads(pickle.dumps(step))
    step.setup()
    texts = [rows[3]["flores_passage"], rows[20 + 7]["flores_passage"], rows[40 + 9]["question"] + rows[40 + 9]["flores_passage"],
             "Ein ganz anderer Text über das Wetter in Berlin, der nichts mit dem Test zu tun hat, gar nichts."]
    outcome = step.process(pa.table({"text": texts, "lang": ["en", "de", "zh", "de"]}))
    assert outcome.reasons == ["contaminated:belebele"] * 3 + [None]
    index = open_index(decontamination.index_settings())
    assert index.summary["item_versions"] == 60 and index.summary["bytes_per_unit"] < 20
    coverage = outcome.table.column("contamination_coverage").to_pylist()
    assert coverage[0] >= 0.5 and coverage[3] < 0.2


def test_bad_entries_are_one_error_before_work(belebele_like, tmp_path):
    path, _ = belebele_like
    with pytest.raises(ConfigError, match="benchmarks.path: benchmark x: .*missing.* not found"):
        config(name="x", path=str(tmp_path / "missing"), format="jsonl", fields=["q"], lang="en")
    with pytest.raises(ConfigError, match="fields: benchmark x needs"):
        build(DecontaminationConfig, {"benchmarks": [{"name": "x", "path": str(path), "format": "jsonl", "lang": "en"}]})
    with pytest.raises(ConfigError, match="lang: benchmark x needs lang"):
        build(DecontaminationConfig, {"benchmarks": [{"name": "x", "path": str(path), "format": "jsonl", "fields": ["q"]}]})
    with pytest.raises(ConfigError, match="has no column 'nope'"):
        spec = BenchmarkConfig(name="x", path=str(path), format="jsonl", fields=["nope"], lang="en")
        list(read_items(spec))
    with pytest.raises(ConfigError, match="action: expected one of drop, cut"):
        build(DecontaminationConfig, {"action": "erase"})


def test_flores_folder_language_filter_and_split():
    spec = BenchmarkConfig(name="flores", path=str(shared_path("flores200_dev")), format="flores", lang="en,de")
    spec.validate()
    items = list(read_items(spec))
    assert {i.lang for i in items} == {"de", "en"} and len(items) == 2 * 997
    assert items[0].group == items[997].group == "0"
    assert np.all([len(i.segments) == 1 for i in items])
