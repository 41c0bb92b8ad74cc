"""Stage blends from real token shards: Table 2 proportions per category, equal shares per group,
upsampling with a cap, and the Table-1 utilization report."""

import hashlib
import json
import os
from collections import defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError, build
from pipelines.mixture.build import ROOT, build_mixture, load_mixture_config, main
from pipelines.mixture.plan import MixtureConfig, plan_stage
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


def config_with(tmp_path, text):
    """The shipped mixture config with ``text`` appended (later keys win in YAML for these tests' purposes)."""
    path = tmp_path / "mixture.yaml"
    shipped = (ROOT / "configs" / "mixture.yaml").read_text()
    for key in ("keep_proportions:", "max_epochs:"):
        if text.startswith(key):
            shipped = "\n".join(line for line in shipped.splitlines() if not line.startswith(key))
    path.write_text(shipped + "\n" + text + "\n")
    return str(path)


def test_short_groups_are_upsampled_up_to_the_cap_and_reported(tokens, tmp_path, capsys):
    manifest = json.loads((tokens / "manifest.json").read_text())
    available = manifest["groups"]["th"]["tokens"]
    config = config_with(tmp_path, "keep_proportions: false")
    blend = build_mixture(2, str(tokens), str(tmp_path / "blends"), config, total_tokens=30_000_000)
    by_category, by_group = realized(blend)
    assert by_group["th"] == pytest.approx(available * 4.0, rel=1e-3)  # max_epochs
    assert any(w.startswith("low_resource/th:") and "short" in w for w in blend["warnings"])
    assert max(e["epochs"] for e in blend["entries"]) <= 4.0 + 1e-9
    # The budget is kept, so the shares slip from Table 2, and the warning gives both.
    assert not blend["scaled_down"] and blend["budget_tokens"] == blend["requested_tokens"] == 14_000_000
    first = blend["warnings"][0]
    assert "cannot fill stage 2's budget of 14,000,000" in first and "keep_proportions: false" in first
    assert "english" in first and "(target 0.280)" in first
    out = capsys.readouterr().out
    assert "Budget asked: 14,000,000 tokens" in out and f"Planned: {blend['planned_tokens']:,} tokens" in out


TABLE_2 = {1: {"english": 0.32, "chinese": 0.17, "high_resource": 0.30, "low_resource": 0.09, "parallel": 0.06,
               "knowledge": 0.05, "synthetic": 0.01},
           2: {"english": 0.28, "chinese": 0.15, "high_resource": 0.26, "low_resource": 0.15, "parallel": 0.08,
               "knowledge": 0.06, "synthetic": 0.02}}
WITH_DATA = ("english", "chinese", "high_resource", "low_resource", "parallel")


def test_budget_far_above_the_data_scales_each_stage_down_to_keep_table_2(tokens, tmp_path, capsys):
    """No --total-tokens: 160B and 140B against some 100k tokens. Every group capped at max_epochs would give
    both stages one blend; instead each stage shrinks to what its proportions allow."""
    output = tmp_path / "blends"
    blends = {stage: build_mixture(stage, str(tokens), str(output)) for stage in (1, 2)}
    printed = capsys.readouterr().out
    for stage, blend in blends.items():
        assert blend["requested_tokens"] == (160e9 if stage == 1 else 140e9)
        assert blend["scaled_down"] and blend["budget_tokens"] < 1e6
        present = sum(TABLE_2[stage][c] for c in WITH_DATA)
        assert blend["planned_tokens"] == pytest.approx(blend["budget_tokens"] * present, rel=1e-3)
        by_category, _ = realized(blend)
        planned = sum(by_category.values())
        for category in WITH_DATA:
            assert blend["target_shares"][category] == TABLE_2[stage][category]
            assert blend["stage_shares"][category] == pytest.approx(TABLE_2[stage][category], abs=1e-3)
            # What training samples by: Table 2 over the categories that have data.
            assert by_category[category] / planned == pytest.approx(TABLE_2[stage][category] / present, abs=2e-3)
            assert blend["blend_shares"][category] == pytest.approx(TABLE_2[stage][category] / present, abs=1e-3)
        assert blend["stage_shares"]["knowledge"] == 0 and blend["blend_shares"]["synthetic"] == 0
        # The limiting category has every group at max_epochs, none is above it.
        limit = blend["limiting_category"]
        assert limit in WITH_DATA
        assert all(e["epochs"] == pytest.approx(4.0, rel=1e-6) for e in blend["entries"] if e["category"] == limit)
        assert max(e["epochs"] for e in blend["entries"]) <= 4.0 + 1e-9
        warning = blend["warnings"][0]
        assert f"cannot fill stage {stage}'s budget of {blend['requested_tokens']:,}" in warning
        assert "scaled down" in warning and limit in warning
        assert f"warning: {warning}" in printed
        report = (output / f"stage-{stage}.utilization.md").read_text()
        assert f"Budget asked: {blend['requested_tokens']:,} tokens" in report
        assert f"Planned: {blend['planned_tokens']:,} tokens" in report
        assert f"{blend['requested_tokens']:,} tokens planned" not in report  # the old, false header
        assert "| english | " in report and "## Warnings" in report
    one, two = (realized(blends[s])[0] for s in (1, 2))
    share = lambda shares, c: shares[c] / sum(shares.values())  # noqa: E731
    assert share(two, "low_resource") > share(one, "low_resource") * 1.5
    assert share(two, "english") < share(one, "english")
    assert [e["weight"] for e in blends[1]["entries"]] != [e["weight"] for e in blends[2]["entries"]]


def test_blend_stays_readable_by_training_and_targets_are_table_2(tokens, tmp_path):
    from training.data.blended_dataset import sources_from_blend

    blend = build_mixture(2, str(tokens), str(tmp_path))
    sources = sources_from_blend(blend)
    assert len(sources) == len(blend["entries"]) and sum(s.weight for s in sources) == pytest.approx(1.0)
    # Training's token shares per category are the blend's weights summed per category.
    weights = defaultdict(float)
    for entry, source in zip(blend["entries"], sources):
        weights[entry["category"]] += source.weight
    for category, weight in weights.items():
        assert weight == pytest.approx(blend["blend_shares"][category], abs=1e-6)
    assert weights["english"] == pytest.approx(0.28 / 0.92, abs=1e-3)  # no knowledge, no synthetic data
    assert blend["target_shares"]["english"] == 0.28


def manifest_of(groups):
    return {"shards": [{"shard": f"{g}/p0", "group": g, "documents": 1, "tokens": t} for g, t in groups.items()]}


def small_config(keep=True, max_epochs=4.0):
    return build(MixtureConfig, {"stages": {"1": {"tokens": 1000.0, "proportions": {"a": 0.5, "b": 0.5}}},
                                 "categories": {"a": ["a*"], "b": ["b*"]}, "max_epochs": max_epochs,
                                 "keep_proportions": keep})


def test_a_short_group_leaves_its_share_to_the_others_of_its_category():
    # a: 500 tokens budget over a1 (20 tokens: 80 at 4 epochs) and a2 (plenty): a2 takes what a1 cannot.
    plan = plan_stage(small_config(), manifest_of({"a1": 20, "a2": 10_000, "b1": 10_000}), 1)
    assert not plan.scaled_down
    assert plan.group_budgets["a1"] == pytest.approx(80) and plan.group_budgets["a2"] == pytest.approx(420)
    assert plan.category_tokens()["a"] == pytest.approx(500) and plan.category_tokens()["b"] == pytest.approx(500)
    assert any(w.startswith("a/a1:") and "made up by the other a groups" in w for w in plan.warnings)


def test_scaled_down_budget_is_the_largest_the_data_fills():
    # a can supply 4 x 60 = 240 tokens, i.e. a stage of 480 at 50 %; b could fill far more.
    plan = plan_stage(small_config(), manifest_of({"a1": 20, "a2": 40, "b1": 10_000}), 1)
    assert plan.scaled_down and plan.limiting_category == "a"
    assert plan.budget == pytest.approx(480) and plan.planned == pytest.approx(480)
    assert plan.stage_shares() == pytest.approx({"a": 0.5, "b": 0.5})
    kept = plan_stage(small_config(keep=False), manifest_of({"a1": 20, "a2": 40, "b1": 10_000}), 1)
    assert not kept.scaled_down and kept.budget == 1000
    assert kept.stage_shares() == pytest.approx({"a": 0.24, "b": 0.5})
    assert "a 0.240 (target 0.500)" in kept.warnings[0]


def test_output_defaults_to_blends_in_the_current_directory(tokens, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--stage", "1", "--tokens", str(tokens)]) == 0
    blend = json.loads((tmp_path / "blends" / "stage-1.blend.json").read_text())
    assert (tmp_path / "blends" / "stage-1.utilization.md").is_file()
    # What it was built from, so that a consumer can refuse a blend of token shards that changed since.
    manifest = tokens / "manifest.json"
    assert blend["built_from"]["manifest"] == {"path": str(manifest),
                                               "sha256": hashlib.sha256(manifest.read_bytes()).hexdigest()}
    assert blend["built_from"]["config"]["path"] == str(ROOT / "configs" / "mixture.yaml")
    assert blend["built_from"]["total_tokens"] is None


def test_rebuilding_one_stage_from_other_tokens_warns_about_the_other(tokens, tmp_path, capsys):
    other = tmp_path / "other-tokens"
    other.mkdir()
    manifest = json.loads((tokens / "manifest.json").read_text())
    manifest["shards"] = [s for s in manifest["shards"] if s["group"] != "ne"]
    (other / "manifest.json").write_text(json.dumps(manifest))
    output = tmp_path / "blends"
    build_mixture(1, str(tokens), str(output))
    again = build_mixture(1, str(tokens), str(output))  # the same inputs: simply rebuilt, no warning
    assert not any("stage-" in w for w in again["warnings"])
    blend = build_mixture(2, str(other), str(output))
    stale = f"stage-1.blend.json in {output} was built with another manifest"
    assert any(w.startswith(stale) for w in blend["warnings"])
    assert "rebuild it" in capsys.readouterr().out


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
