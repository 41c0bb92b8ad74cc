"""Stage blends from real token shards: Table 2 proportions per category, equal shares per group,
upsampling with a cap, and the Table-1 utilization report."""

import json
import os
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError
from pipelines.mixture.build import build_mixture, load_mixture_config, main
from pipelines.mixture.tokenize_shards import tokenize_shards
from pipelines.tools.reference_documents import documents
from tests.fixtures.shared_data import shared_path

GROUPS = {"en": 40, "zh": 40, "de": 40, "ja": 40, "th": 30, "ne": 30}


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    data = str(shared_path("ntrex128").parent)
    curated = tmp_path_factory.mktemp("curated")
    for lang, count in GROUPS.items():
        docs = documents("ntrex", data, lang)[:count]
        os.makedirs(curated / lang)
        for part in range(2):
            chunk = docs[part::2]
            pq.write_table(pa.table({"text": chunk, "lang": [lang] * len(chunk)}), curated / lang / f"p{part}.parquet")
    parallel = curated / "en-de"
    os.makedirs(parallel)
    pq.write_table(pa.table({"text": ["English text: Hello.\nGerman text: Hallo."] * 50}), parallel / "part-00000.parquet")
    out = tmp_path_factory.mktemp("tokens")
    tokenize_shards(str(curated), str(out), in_process=True)
    return out


def realized(blend):
    by_category, by_group = defaultdict(float), defaultdict(float)
    for entry in blend["entries"]:
        by_category[entry["category"]] += entry["used_tokens"]
        by_group[entry["group"]] += entry["used_tokens"]
    return by_category, by_group


def test_stage_one_meets_table_2_where_data_suffices(tokens, tmp_path, capsys):
    config = load_mixture_config(None)
    total = 60_000  # small enough for the shards at hand
    blend = build_mixture(1, str(tokens), str(tmp_path), total_tokens=total)
    budget = total * 160 / 300
    assert blend["budget_tokens"] == round(budget)
    by_category, by_group = realized(blend)
    for category in ("english", "chinese", "high_resource", "low_resource", "parallel"):
        assert by_category[category] == pytest.approx(budget * config.stage(1).proportions[category], rel=1e-3)
    # Equal shares inside a category (Table 1): de and ja each get half of the high-resource budget.
    assert by_group["de"] == pytest.approx(by_group["ja"], rel=1e-3)
    assert by_group["th"] == pytest.approx(by_group["ne"], rel=1e-3)
    # Shards of a group are used in proportion to their tokens (same epochs).
    epochs = {(e["group"], round(e["epochs"], 6)) for e in blend["entries"]}
    assert len(epochs) == len({e["group"] for e in blend["entries"]})
    assert sum(float(w) for w in blend["megatron_data_path"][0::2]) == pytest.approx(1.0)
    output = capsys.readouterr().out
    assert "knowledge: no token shards" in output and "synthetic: no token shards" in output
    report = (tmp_path / "stage-1.utilization.md").read_text()
    assert "| high_resource | de |" in report and "| total |" in report


def test_short_groups_are_upsampled_up_to_the_cap_and_reported(tokens, tmp_path):
    manifest = json.loads((tokens / "manifest.json").read_text())
    available = manifest["groups"]["th"]["tokens"]
    blend = build_mixture(2, str(tokens), str(tmp_path), total_tokens=30_000_000)
    by_category, by_group = realized(blend)
    assert by_group["th"] == pytest.approx(available * 4.0, rel=1e-3)  # max_epochs
    assert any(w.startswith("low_resource/th:") and "short" in w for w in blend["warnings"])
    assert max(e["epochs"] for e in blend["entries"]) <= 4.0 + 1e-9


def test_stage_two_moves_weight_to_low_resource_languages(tokens, tmp_path):
    one = realized(build_mixture(1, str(tokens), str(tmp_path), total_tokens=60_000))[0]
    two = realized(build_mixture(2, str(tokens), str(tmp_path), total_tokens=60_000))[0]
    assert two["low_resource"] / sum(two.values()) > one["low_resource"] / sum(one.values())
    assert two["english"] / sum(two.values()) < one["english"] / sum(one.values())


def test_bad_configs_and_inputs(tokens, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages:\n  1:\n    tokens: 1.0e+9\n    proportions: {english: 0.5, chinese: 0.4}\ncategories: {english: [en], chinese: [zh]}\n")
    with pytest.raises(ConfigError, match="sum to 1"):
        load_mixture_config(str(bad))
    bad.write_text("stages:\n  1:\n    tokens: 1.0e+9\n    proportions: {english: 1.0}\ncategories: {}\n")
    with pytest.raises(ConfigError, match="category 'english' is not in categories"):
        load_mixture_config(str(bad))
    assert main(["--stage", "1", "--tokens", str(tmp_path), "--output", str(tmp_path / "o")]) == 2
    assert "manifest.json not found" in capsys.readouterr().err
