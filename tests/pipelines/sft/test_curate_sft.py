"""Instruction-data cleaning and deduplication (pipelines/curate_sft.py) on realistic conversations.

Every cleaning rule is checked on replies that must be dropped and on look-alikes that must be kept
(lists that restart, HTML inside a code block, correct sums). The pipeline runs on three files in the
three input formats, built from NTREX-128 sentences (translation requests), with planted duplicates
and broken records, and gives the same output in-process and on Ray.
"""

import gzip
import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from operators.sft.cleaning import RULES, problem
from operators.sft.reader import to_messages
from pipelines.sft.curate import curate_sft, main
from pipelines.sft.curation_config import SftConfig, load_sft_config
from operators.dedup.whole_set import WholeSetDedupConfig, dedup_reasons, embedding_pairs
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import ntrex_sentences as ntrex

DROPPED = {
    "sft:merged_dialogue": [
        "Sure, the capital of France is Paris.\n\nHuman: And of Italy?\nAssistant: Rome.",
        "好的，北京是中国的首都。\n用户：那日本呢？\n助手：东京。",
        "Voici la traduction.\n### Instruction:\nTraduis aussi la phrase suivante.",
    ],
    "sft:bad_numbering": [
        "1. Preheat the oven.\n2. Mix the batter.\n2. Bake for 20 minutes.",
        "1. Ofen vorheizen.\n3. Teig backen.\n4. Abkühlen lassen.",
        "步骤如下：\n2. 打开设置。\n3. 选择语言。",
    ],
    "sft:html": [
        "<p>Die Hauptstadt ist <b>Berlin</b>.</p>",
        "Ответ:<br>Москва<br>— столица России.",
    ],
    "sft:emoji": ["Great question! 😊 The answer is 42.", "¡Claro! 🇪🇸 Madrid es la capital."],
    "sft:url": ["See https://example.com/guide for the full details.",
                "详情请访问 www.example.cn/help 。"],
    "sft:wrong_arithmetic": ["The total is 15 × 12 = 170 euros.",
                             "Zuerst 1,250 + 750 = 2,100, dann durch 4 teilen."],
}
KEPT = [
    "制作步骤：\n1. 把面粉和水混合。\n2. 揉面十分钟。\n3. 放置半小时。",
    "Use this markup:\n```html\n<div class=\"box\"><p>Hello</p></div>\n```\nIt renders a box.",
    "Each box holds 23 × 4 = 92 pencils, so 3 boxes hold 92 × 3 = 276.",
    "Pros:\n1. Fast\n2. Cheap\n\nCons:\n1. Noisy\n2. Heavy",
    "Die Antwort lautet 1/3 = 0.33 (gerundet). © 2024 ist kein Emoji.",
    "The user interface has two panels; the assistant panel is on the right.",
]


def conversation(reply, prompt="Please help."):
    return [{"role": "user", "content": prompt}, {"role": "assistant", "content": reply}]


@pytest.mark.parametrize("reason", sorted(DROPPED))
def test_each_rule_drops_its_examples(reason):
    for reply in DROPPED[reason]:
        assert problem(conversation(reply), RULES) == reason, reply


def test_look_alikes_are_kept():
    for reply in KEPT:
        assert problem(conversation(reply), RULES) is None, reply


def test_rules_can_be_switched_off():
    assert problem(conversation(DROPPED["sft:emoji"][0]), [r for r in RULES if r != "emoji"]) is None


def test_the_three_formats_become_one():
    messages = [{"role": "user", "content": "Translate: Hallo"}, {"role": "assistant", "content": "Hello"}]
    assert to_messages({"messages": messages}) == (messages, None)
    assert to_messages({"instruction": "Translate:", "input": "Hallo", "output": "Hello"})[0] == \
        [{"role": "user", "content": "Translate:\n\nHallo"}, {"role": "assistant", "content": "Hello"}]
    assert to_messages({"conversations": [{"from": "human", "value": "Translate: Hallo"},
                                          {"from": "gpt", "value": "Hello"}]}) == (messages, None)
    assert to_messages({"text": "no chat here"}) == (None, "format:unknown")
    assert to_messages({"messages": [{"role": "user", "content": "hi"}]}) == (None, "format:no_assistant_turn")


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """Three files, one per format, of translation requests over NTREX-128, with planted problems."""
    folder = tmp_path_factory.mktemp("sft-input")
    english, german, chinese = ntrex("eng_Latn.txt", 150), ntrex("deu_Latn.txt", 150), ntrex("zho_Hans.txt", 150)
    alpaca = [{"instruction": "Translate into German.", "input": english[i], "output": german[i], "lang": "en"}
              for i in range(60)]
    long_text = " ".join(english[100:103])
    alpaca.append({"instruction": f"Summarize: {long_text}", "output": english[100], "lang": "en", "id": "long-1"})
    # the same instruction again, case and spacing changed (exact), and with one word changed (near)
    alpaca.append({"instruction": "translate INTO German.", "input": "  " + english[3], "output": german[3],
                   "lang": "en", "id": "exact-dup"})
    alpaca.append({"instruction": f"Summarise: {long_text}", "output": english[100], "lang": "en", "id": "near-dup"})
    for reason, replies in DROPPED.items():
        for k, reply in enumerate(replies):
            alpaca.append({"instruction": f"Question {reason} {k}", "output": reply, "id": f"{reason}-{k}"})
    lines = [json.dumps(r, ensure_ascii=False) for r in alpaca] + ["{not json", json.dumps({"text": "no chat"})]
    (folder / "alpaca.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")

    sharegpt = [{"conversations": [{"from": "human", "value": f"请翻译成英文：{chinese[i]}"},
                                   {"from": "gpt", "value": english[i]}], "lang": "zh"} for i in range(60, 110)]
    sharegpt.append({"conversations": [{"from": "human", "value": "你好"}], "lang": "zh"})  # no reply
    with gzip.open(folder / "sharegpt.jsonl.gz", "wt", encoding="utf-8") as handle:
        handle.write("\n".join(json.dumps(r, ensure_ascii=False) for r in sharegpt) + "\n")

    records = [{"messages": json.dumps(conversation(reply, f"Kept example {k}")), "id": f"kept-{k}"}
               for k, reply in enumerate(KEPT)]
    table = pa.table({"messages": [json.loads(r["messages"]) for r in records], "id": [r["id"] for r in records]})
    pq.write_table(table, folder / "messages.parquet")
    return folder


def run(inputs, out, **kwargs):
    config = load_sft_config(str(ROOT / "configs" / "sft.yaml"))
    return curate_sft(config, [str(inputs)], str(out), **kwargs)


def test_pipeline_counts_every_drop_and_keeps_the_rest(inputs, tmp_path):
    stats = run(inputs, tmp_path / "out", in_process=True).to_dict()
    ops = {op["name"]: op for op in stats["operators"]}
    assert ops["sft_reader"]["dropped"] == {"format:no_assistant_turn": 1, "format:unknown": 1, "read:bad_json": 1}
    assert ops["sft_cleaning"]["dropped"] == {reason: len(replies) for reason, replies in DROPPED.items()}
    assert ops["sft_dedup"]["dropped"]["dedup:exact_instruction"] == 1
    near = ops["sft_dedup"]["dropped"].get("dedup:near_minhash", 0) + \
        ops["sft_dedup"]["dropped"].get("dedup:near_simhash", 0)
    assert near == 1 and ops["sft_dedup"]["docs_out"] == 60 + 1 + 50 + len(KEPT)

    records = [json.loads(line) for line in (tmp_path / "out" / "sft.jsonl").read_text(encoding="utf-8").splitlines()]
    ids = [r["id"] for r in records]
    assert "exact-dup" not in ids and "near-dup" not in ids and "long-1" in ids
    assert {f"kept-{k}" for k in range(len(KEPT))} <= set(ids)
    assert all(r["messages"][-1]["role"] == "assistant" for r in records)
    assert stats["kept_per_language"] == {"en": 61, "zh": 50, "und": len(KEPT)}
    assert (tmp_path / "out" / "report.html").is_file()


def test_ray_and_in_process_runs_agree(ray_local, inputs, tmp_path):
    run(inputs, tmp_path / "local", in_process=True)
    run(inputs, tmp_path / "ray")
    assert (tmp_path / "local" / "sft.jsonl").read_text() == (tmp_path / "ray" / "sft.jsonl").read_text()
    assert json.loads((tmp_path / "local" / "stats.json").read_text()) == \
        json.loads((tmp_path / "ray" / "stats.json").read_text())


def test_distinct_real_instructions_are_not_deduplicated():
    english = ntrex("eng_Latn.txt", 400)
    reasons = dedup_reasons([f"Translate into German: {s}" for s in english], ["en"] * len(english), WholeSetDedupConfig())
    assert sum(r is not None for r in reasons) == sum(1 for i, s in enumerate(english) if s in english[:i])


def test_embedding_stage_groups_by_cosine_threshold():
    import numpy as np

    vectors = np.array([[1.0, 0.0], [0.8, 0.6], [0.0, 1.0], [0.71, 0.70]])  # cosines to the first: 0.8, 0, ~0.71
    assert embedding_pairs(vectors, 0.7) == [(0, 1), (0, 3), (1, 3), (2, 3)]
    reasons = dedup_reasons(["a b c d e f", "g h i j k l", "m n o p q r", "s t u v w x"], ["en"] * 4,
                            WholeSetDedupConfig(minhash=False, simhash=False), embed=lambda texts: vectors)
    assert reasons == [None, "dedup:semantic", "dedup:semantic", "dedup:semantic"]  # one chained group


def test_bad_config_and_missing_hook_are_one_error(inputs, tmp_path, capsys):
    config = tmp_path / "sft.yaml"
    config.write_text("cleaning: {rules: [html, shouting]}\n")
    assert main(["--input", str(inputs), "--output", str(tmp_path / "o"), "--config", str(config), "--in-process"]) == 2
    assert "rules: unknown rule 'shouting'" in capsys.readouterr().err
    config.write_text("scoring: [{name: ifd, function: 'no_such_module:ifd', min: 0.1}]\n")
    assert main(["--input", str(inputs), "--output", str(tmp_path / "o"), "--config", str(config), "--in-process"]) == 2
    assert "scoring.ifd.function: cannot import no_such_module:ifd" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_scoring_hook_drops_low_scores(inputs, tmp_path):
    config = SftConfig()
    config.scoring = load_sft_config(None).scoring
    from operators.sft.scoring import ScoreHook

    config.scoring = [ScoreHook(name="reply_length", function="tests.fixtures.sft_scores:reply_characters", min=40.0)]
    stats = curate_sft(config, [str(inputs / "messages.parquet")], str(tmp_path / "scored"), in_process=True).to_dict()
    ops = {op["name"]: op for op in stats["operators"]}
    short = sum(len(reply) < 40 for reply in KEPT)
    assert ops["sft_scoring"]["dropped"] == {"score:reply_length": short}
    records = [json.loads(line) for line in (tmp_path / "scored" / "sft.jsonl").read_text().splitlines()]
    assert all(r["score_reply_length"] >= 40 for r in records)


def test_shipped_config_is_the_defaults():
    assert load_sft_config(str(ROOT / "configs" / "sft.yaml")) == SftConfig()


def test_embedding_model_folder_is_loaded_and_used(tmp_path):
    """A Hugging Face encoder folder (here a tiny random Qwen2 with Qwen2's tokenizer): the same
    instruction twice embeds identically and is one group; the real, different sentences are not."""
    import shutil

    import torch
    from transformers import AutoConfig, AutoModel

    from common.tokenizer import packaged_qwen2_json

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(ROOT / "configs" / "pretrain" / "tiny-qwen2")
    AutoModel.from_config(config).save_pretrained(tmp_path / "encoder")
    shutil.copy(packaged_qwen2_json(), tmp_path / "encoder" / "tokenizer.json")
    (tmp_path / "encoder" / "tokenizer_config.json").write_text(json.dumps(
        {"tokenizer_class": "PreTrainedTokenizerFast", "pad_token": "<|endoftext|>"}))
    english = ntrex("eng_Latn.txt", 3)
    texts = [english[0], english[1], english[0], english[2]]
    reasons = dedup_reasons(texts, ["en"] * 4, WholeSetDedupConfig(exact=False, minhash=False, simhash=False,
                                                              embedding_model=str(tmp_path / "encoder"),
                                                              embedding_threshold=0.9999))
    assert reasons == [None, None, "dedup:semantic", None]


def test_conversations_quoting_a_benchmark_are_dropped(tmp_path):
    """Translation requests from NTREX-128; ten replies quote a FLORES-200 dev sentence (one with small edits,
    one in German): exactly those ten are dropped as contaminated:flores, the rest kept."""
    from tests.fixtures.shared_data import shared_path

    flores = {lang: (shared_path("flores200_dev") / f"{code}.dev").read_text(encoding="utf-8").splitlines()
              for lang, code in (("en", "eng_Latn"), ("de", "deu_Latn"))}
    english = ntrex("eng_Latn.txt", 60)
    records, planted = [], set()
    for k in range(60):
        reply = f"Here is a summary: {english[k]}"
        if k % 6 == 0:
            quoted = flores["de"][k] if k == 12 else flores["en"][k].lower().replace(",", "") if k == 18 else flores["en"][k]
            reply += f" As the report put it: {quoted}"
            planted.add(f"c-{k}")
        records.append({"instruction": f"Summarize item {k}: {english[(k + 7) % 60]}", "output": reply, "id": f"c-{k}"})
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "chat.jsonl").write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
    config = SftConfig()
    config.dedup = WholeSetDedupConfig(minhash=False, simhash=False)
    config.decontamination = build_decontamination({"benchmarks": [
        {"name": "flores", "path": str(shared_path("flores200_dev")), "format": "flores"}]})
    stats = curate_sft(config, [str(tmp_path / "in")], str(tmp_path / "out"), in_process=True).to_dict()
    ops = {op["name"]: op for op in stats["operators"]}
    assert ops["decontamination"]["dropped"] == {"contaminated:flores": len(planted)}
    kept = {json.loads(line)["id"] for line in (tmp_path / "out" / "sft.jsonl").read_text().splitlines()}
    assert kept == {r["id"] for r in records} - planted


def build_decontamination(data):
    from common.config_check import build
    from operators.decontamination.filter import DecontaminationConfig

    return build(DecontaminationConfig, data)
