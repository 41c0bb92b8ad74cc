"""curate_knowledge.py end to end on QA records made of real sentences (NTREX-128 questions and answers, in a
gzipped JSONL, a ``datasets.save_to_disk`` folder with ARC-style choices and a Parquet file), with planted
exact and near duplicates, a translated duplicate, FLORES-200 dev questions (the benchmark), empty and broken
records — then tokenized with a web language group and blended into both stages."""

from __future__ import annotations

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.config_check import build
from operators.knowledge.reader import layout
from pipelines.knowledge.config import KnowledgeConfig, load_knowledge_config
from pipelines.knowledge.curate import curate_knowledge, main
from tests.fixtures.shared_data import REPO_ROOT, shared_path


def _lines(*parts):
    return shared_path(*parts).read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    datasets = pytest.importorskip("datasets")
    en, de = _lines("ntrex128", "eng_Latn.txt"), _lines("ntrex128", "deu_Latn.txt")
    flores = _lines("flores200_dev", "eng_Latn.dev")
    root = tmp_path_factory.mktemp("knowledge")
    records = [{"id": f"en-{k}", "question": en[k], "answer": en[k + 100]} for k in range(60)]
    records += [dict(records[3], id="exact-dup"), dict(records[8], id="exact-dup-2")]
    records.append({"id": "near-dup", "question": records[10]["question"], "answer": records[10]["answer"] + " Indeed."})
    records += [{"id": f"bench-{k}", "question": flores[k * 50], "answer": en[k + 400]} for k in range(5)]
    records += [{"id": "empty", "answer": "no question here"}, {"id": "short", "question": "Yes?", "answer": "No."}]
    lines = [json.dumps(r) for r in records] + ["{broken"]
    with gzip.open(root / "qa.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")
    arc = {"question": [de[300 + k] for k in range(30)],
           "choices": [{"text": [de[500 + k], de[600 + k], de[700 + k]], "label": ["A", "B", "C"]} for k in range(30)],
           "answerKey": [k % 3 for k in range(30)], "uid": [f"de-{k}" for k in range(30)]}
    datasets.Dataset.from_dict(arc).save_to_disk(str(root / "arc_de"))
    # The Parquet file ends with the German translation of en-20 (question and answer): a semantic duplicate
    # across languages (USE cosine 0.82).
    pq.write_table(pa.table({"question": [en[800 + k] for k in range(10)] + [de[20]],
                             "answer": [en[900 + k] for k in range(10)] + [de[120]],
                             "id": [f"pq-{k}" for k in range(10)] + ["translated-dup"]}), root / "more.parquet")
    return root


def config_for(root, **overrides):
    data = {"reader": {"fields": {"question": "question", "answer": "answer"}, "id_field": "id"},
            "decontamination": {"benchmarks": [{"name": "flores", "path": str(shared_path("flores200_dev")),
                                                "format": "flores"}]}}
    data.update(overrides)
    return build(KnowledgeConfig, data)


def test_records_are_filtered_deduplicated_and_grouped(inputs, tmp_path):
    out = tmp_path / "out"
    stats = curate_knowledge(config_for(inputs), [str(inputs / "qa.jsonl.gz"), str(inputs / "more.parquet")],
                             str(out), in_process=True).to_dict()
    ops = {op["name"]: op for op in stats["operators"]}
    assert ops["knowledge_reader"]["dropped"] == {"knowledge:empty": 1, "read:bad_json": 1}
    # The planted one-line QA is too short; the web rules that stay on may drop a news item as well
    # (blocklisted words in crime news).
    assert ops["quality"]["dropped"]["quality:min_word_count"] == 1 and ops["quality"]["docs_out"] >= 70
    assert ops["decontamination"]["dropped"] == {"contaminated:flores": 5}
    assert ops["knowledge_dedup"]["dropped"]["dedup:exact_instruction"] == 2
    dedup = ops["knowledge_dedup"]["dropped"]
    assert dedup.get("dedup:near_minhash", 0) + dedup.get("dedup:near_simhash", 0) == 1
    assert dedup["dedup:semantic"] == 1
    rows = [r for p in sorted(out.glob("knowledge_*/*.parquet")) for r in pq.read_table(p).to_pylist()]
    ids = {r["id"] for r in rows}
    assert {f"en-{k}" for k in range(60)} | {f"pq-{k}" for k in range(10)} >= ids >= {"en-0", "pq-9", "en-59"}
    assert not ids & {"exact-dup", "exact-dup-2", "near-dup", "short", "translated-dup"}
    assert not any(i.startswith("bench-") for i in ids)
    assert {p.parent.name for p in out.glob("knowledge_*/*.parquet")} == {"knowledge_en"}
    assert stats["kept_per_language"] == {"knowledge_en": len(rows)}
    first = next(r for r in rows if r["id"] == "en-0")
    assert first["text"] == f"{first['text'].split(chr(10))[0]}\n\nAnswer: " + first["text"].split("Answer: ")[1]


def test_save_to_disk_folder_with_choices_and_the_two_stage_blend(inputs, tmp_path):
    from pipelines.mixture.build import build_mixture
    from pipelines.mixture.tokenize_shards import tokenize_shards

    config = config_for(inputs, reader={"fields": {"question": "question", "choices": "choices.text",
                                                   "answer": "answerKey"}, "id_field": "uid"})
    out = tmp_path / "de"
    curate_knowledge(config, [str(inputs / "arc_de"), str(inputs / "qa.jsonl.gz")], str(out), in_process=True)
    rows = {r["id"]: r for p in sorted(out.glob("knowledge_*/*.parquet")) for r in pq.read_table(p).to_pylist()}
    assert {i for i in rows if i.startswith("de-")} == {f"de-{k}" for k in range(30)} and rows["de-0"]["lang"] == "de"
    assert rows["de-1"]["text"].endswith("\n\nAnswer: B") and "\nA. " in rows["de-1"]["text"]

    web = tmp_path / "web" / "en"
    web.mkdir(parents=True)
    pq.write_table(pa.table({"id": ["w0", "w1"], "text": ["A web page about ferries. " * 20, "Another page. " * 30],
                             "lang": ["en", "en"]}), web / "part-00000.parquet")
    tokenize_shards([str(tmp_path / "web"), str(out)], str(tmp_path / "tokens"), in_process=True)
    for stage in (1, 2):
        blend = build_mixture(stage, str(tmp_path / "tokens"), str(tmp_path / "blends"))
        groups = {entry["group"] for entry in blend["entries"]}
        assert {"en", "knowledge_de", "knowledge_en"} <= groups


def test_documented_config_is_the_default_and_bad_configs_fail_first(tmp_path, capsys):
    assert load_knowledge_config(str(REPO_ROOT / "configs" / "knowledge.yaml")) == KnowledgeConfig()
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: poetry\n")
    assert main(["--input", str(tmp_path), "--output", str(tmp_path / "o"), "--config", str(bad), "--in-process"]) == 2
    assert "kind: expected one of text, math, code" in capsys.readouterr().err


def test_layout_of_each_role():
    record = {"passage": "P.", "q": "Q?", "opts": ["x", "y"], "a": 1, "sol": "Because.", "src": "print(1)"}
    text = layout(record, {"context": "passage", "question": "q", "choices": "opts", "answer": "a",
                           "solution": "sol", "code": "src"})
    assert text == "P.\n\nQ?\n\nA. x\nB. y\n\nAnswer: B\n\nBecause.\n\n```\nprint(1)\n```"


def test_ray_and_in_process_runs_agree(inputs, ray_local, tmp_path):
    files = [str(inputs / "qa.jsonl.gz"), str(inputs / "more.parquet")]
    curate_knowledge(config_for(inputs), files, str(tmp_path / "local"), in_process=True)
    curate_knowledge(config_for(inputs), files, str(tmp_path / "ray"))
    read = lambda root: [pq.read_table(p).drop_columns(["source"]).to_pylist() for p in sorted(root.glob("knowledge_*/*.parquet"))]  # noqa: E731
    assert read(tmp_path / "local") == read(tmp_path / "ray")
    assert json.loads((tmp_path / "local" / "stats.json").read_text())["operators"] == \
        json.loads((tmp_path / "ray" / "stats.json").read_text())["operators"]
