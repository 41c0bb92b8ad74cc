"""Threshold files: the derivation rule, validation errors, and derive_thresholds.py end to end."""

import pyarrow as pa
import pytest
import yaml

from common.config_check import ConfigError
from operators.web.quality_filter import QualityConfig, QualityFilter, load_thresholds_file
from operators.web.quality_thresholds import RULES_BY_KEY, derive, resolve
from pipelines.tools.derive_thresholds import main as derive_main
from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.shared_data import shared_path


def test_fence_rule_and_guard_range():
    values = list(range(101))  # P10 = 10, P90 = 90, fence 1.5 x 80 = 120
    stop = RULES_BY_KEY["min_stop_word_ratio"]
    assert derive(stop, [v / 100 for v in values]) == 0.0  # 0.10 - 1.20 clamped to the guard's 0.0
    dup = RULES_BY_KEY["max_dup_line_frac"]
    assert derive(dup, [v / 1000 for v in values]) == pytest.approx(0.30)  # 0.21 raised to Gopher's 0.30
    assert derive(dup, [v / 200 for v in values]) == pytest.approx(0.6)  # 1.05 capped at 0.6
    symbols = RULES_BY_KEY["max_symbol_ratio"]
    assert derive(symbols, [0.1 + v / 1000 for v in values]) == pytest.approx(0.19 + 0.12)
    assert derive(RULES_BY_KEY["min_word_count"], values) == 50  # a policy, not derived


def test_layers_default_file_inline():
    per_language = {"default": {"max_digit_ratio": 0.3}, "en": {"max_digit_ratio": 0.2, "max_dup_line_frac": None}}
    en, fr = resolve(per_language, "en"), resolve(per_language, "fr")
    assert en["max_digit_ratio"] == 0.2 and en["max_dup_line_frac"] is None
    assert fr["max_digit_ratio"] == 0.3 and fr["max_dup_line_frac"] == 0.30


@pytest.mark.parametrize(
    "body, key",
    [
        ("quality:\n  thresholds:\n    en:\n      max_dup_lines: 0.3\n", r"quality\.thresholds\.en\.max_dup_lines: unknown rule"),
        ("quality:\n  thresholds:\n    en:\n      max_dup_line_frac: lots\n", r"quality\.thresholds\.en\.max_dup_line_frac: expected a number"),
        ("quality:\n  thresholds:\n    English:\n      max_dup_line_frac: 0.3\n", r"quality\.thresholds\.English: not a language code"),
        ("quality:\n  thresholdz: {}\n", r"expected a mapping quality\.thresholds"),
        ("quality: [1, 2\n", r"not valid YAML"),
    ],
)
def test_bad_threshold_file_is_one_error_naming_the_key(tmp_path, body, key):
    path = tmp_path / "thresholds.yaml"
    path.write_text(body)
    with pytest.raises(ConfigError, match=key):
        load_thresholds_file(str(path))
    config = tmp_path / "curate.yaml"
    config.write_text(f"quality:\n  thresholds_file: {path}\n")
    with pytest.raises(ConfigError, match=key):
        load_config(str(config))


@pytest.mark.parametrize(
    "body, message",
    [
        ("quality:\n  thresholds:\n    de:\n      min_stop_word_ratio: true\n", r"quality\.thresholds\.de\.min_stop_word_ratio"),
        ("quality:\n  thresholds_file: /nonexistent/t.yaml\n", r"quality\.thresholds_file: file not found: /nonexistent/t\.yaml"),
        ("quality:\n  mode: strict\n", r"quality\.mode"),
    ],
)
def test_bad_quality_config_fails_before_work(tmp_path, body, message):
    config = tmp_path / "curate.yaml"
    config.write_text(body)
    with pytest.raises(ConfigError, match=message):
        load_config(str(config))


def test_annotate_mode_keeps_everything_and_stores_signals():
    op = QualityFilter(QualityConfig(mode="annotate"))
    op.setup()
    outcome = op.process(pa.table({"text": ["spam spam spam spam", "x"], "lang": ["en", "en"]}))
    assert outcome.reasons == [None, None]
    assert outcome.table.column("q_word_count").to_pylist() == [4.0, 1.0]


@pytest.mark.slow
def test_derive_thresholds_on_curated_warcs_writes_a_loadable_config(tmp_path):
    warcs = shared_path("warc")
    annotate = tmp_path / "annotate.yaml"
    annotate.write_text("quality:\n  mode: annotate\n")
    curated = tmp_path / "curated"
    stats = curate(load_config(str(annotate)), [str(warcs)], str(curated), in_process=True)
    quality = next(op for op in stats.operators if op.name == "quality")
    assert quality.docs_in == quality.docs_out > 0  # annotate: nothing dropped
    langs = {lang: n for lang, n in stats.kept_per_language.items()}
    most = max(langs, key=langs.get)

    out = tmp_path / "thresholds.yaml"
    assert derive_main(["--input", str(curated), "--output", str(out), "--min-docs", str(langs[most])]) == 0
    data = yaml.safe_load(out.read_text())
    provenance = data["quality"]["provenance"]
    assert most in provenance["derived_languages"]
    assert set(provenance["fallback_languages"]) == set(langs) - set(provenance["derived_languages"])
    derived = data["quality"]["thresholds"][most]
    assert set(derived) == set(RULES_BY_KEY)

    # The derived file is a curate_cc config; its thresholds replace the shipped ones.
    config = load_config(str(out))
    per_language = config.quality.per_language_thresholds()
    assert per_language[most]["max_symbol_ratio"] == derived["max_symbol_ratio"]
    op = QualityFilter(config.quality)
    op.setup()
    assert op.thresholds(most)["min_mean_word_length"] == derived["min_mean_word_length"]
    # And the pipeline runs with it.
    rerun = curate(config, [str(warcs)], str(tmp_path / "filtered"), in_process=True)
    assert next(op for op in rerun.operators if op.name == "quality").docs_in == quality.docs_in
