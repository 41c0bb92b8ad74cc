"""Similarity scoring: the margin on vectors with known neighbours; the LASER path end to end with a tiny
LASER-format model built here; and Universal Sentence Encoder Multilingual v3 on real FLORES-200 dev and
NTREX-128 pairs with a third of the targets misaligned, per language (the figures are printed)."""

import numpy as np
import pyarrow as pa
import pytest

from common.config_check import ConfigError, build
from common.languages import FLORES_CODES
from operators.embeddings.encoders import USE_LANGUAGES
from operators.parallel.bitext_reader import BitextReader, BitextReaderConfig
from operators.parallel.similarity import SimilarityConfig, SimilarityScorer, batches, margin_scores
from operators.runner import OperatorRunner
from operators.stats import PipelineStats
from pipelines.parallel.steps import SIMILARITY_CHUNK_BATCHES
from pipelines.runtime.executor import InProcessExecutor, Step, StepList
from tests.fixtures.shared_data import shared_path
from tests.fixtures.tiny_laser import build_tiny_laser

# USE's languages that the shared FLORES-200 dev and NTREX-128 hold, each paired with English.
USE_TARGETS = sorted(set(FLORES_CODES) & USE_LANGUAGES - {"en"})
# Lines per language: one margin batch of 600 pairs (200 misaligned); the encoder reads ~600 sentences/s.
LINES = 600
MIN_CAUGHT = 0.95
MIN_KEPT = 0.97


def reference_margin(x, y, k):
    """The ratio margin written out pair by pair (Artetxe & Schwenk 2019)."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    y = y / np.linalg.norm(y, axis=1, keepdims=True)
    out = []
    for i in range(len(x)):
        cos = float(x[i] @ y[i])
        nn_x = sorted((float(x[i] @ y[j]) for j in range(len(y))), reverse=True)[:k]
        nn_y = sorted((float(y[i] @ x[j]) for j in range(len(x))), reverse=True)[:k]
        out.append(cos / (sum(nn_x) / (2 * k) + sum(nn_y) / (2 * k)))
    return np.array(out)


def test_margin_on_vectors_with_known_neighbours():
    # Pair 0 is a clean translation, alone in its region; pairs 1-3 are near-identical "hub" sentences:
    # their cosines are high, but so are their neighbours', so their margin is about 1.
    x = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.05], [0.0, 1.0, 0.0], [0.0, 1.0, -0.05]])
    y = np.array([[0.95, 0.1, 0.0], [0.0, 1.0, 0.04], [0.0, 1.0, 0.01], [0.0, 1.0, -0.06]])
    cosine, margin = margin_scores(x, y, k=2)
    assert np.allclose(margin, reference_margin(x, y, 2), atol=1e-6)
    assert margin[0] > 1.5 and np.all(margin[1:] < 1.04)
    assert np.all(cosine[1:] > 0.99)  # cosine alone would keep the hub pairs
    # k = 1: each pair's own target is its nearest neighbour, so the margin is exactly 1 or less.
    assert np.all(margin_scores(x, y, k=1)[1] <= 1.0 + 1e-6)


def test_batches_fold_a_short_remainder_into_the_last_batch():
    assert batches(2500, 1000) == [(0, 1000), (1000, 2500)]
    assert batches(2000, 1000) == [(0, 1000), (1000, 2000)]
    assert batches(300, 1000) == [(0, 300)]


@pytest.fixture(scope="module")
def news():
    folder = shared_path("ntrex128")
    read = lambda name: [line.rstrip("\n") for line in open(folder / name, encoding="utf-8")][:120]  # noqa: E731
    return read("eng_Latn.txt"), read("deu_Latn.txt")


@pytest.fixture(scope="module")
def tiny_laser(tmp_path_factory, news):
    return build_tiny_laser(str(tmp_path_factory.mktemp("laser")), news[0] + news[1])


def pairs_table(sources, targets):
    return pa.table({"id": [str(i) for i in range(len(sources))], "src_text": sources, "tgt_text": targets,
                     "src_lang": ["en"] * len(sources), "tgt_lang": ["de"] * len(sources)})


def test_tiny_laser_model_scores_a_batch_end_to_end(tiny_laser, news):
    config = build(SimilarityConfig, {"encoder": "laser", "model_dir": tiny_laser, "batch_size": 50,
                                      "min_margin": 1.0})
    stats = PipelineStats()
    runner = OperatorRunner(SimilarityScorer(config), stats)
    out = runner(pairs_table(*news))
    scorer = stats.operator("similarity")
    assert scorer.docs_in == 120 and scorer.docs_out == out.num_rows
    assert set(scorer.dropped) <= {"sim:low_margin"} and not scorer.noted
    margins = np.array(out.column("sim_margin").to_pylist())
    assert np.all(np.isfinite(margins)) and np.all(margins >= 1.0)
    assert np.all(np.abs(np.array(out.column("sim_cosine").to_pylist())) <= 1.0 + 1e-5)
    assert set(out.column("sim_model").to_pylist()) == {f"laser-bilstm-93langs-2018-12-26 ({tiny_laser})"}
    # Too few pairs for k = 4 neighbours: kept, noted, no margin.
    stats = PipelineStats()
    few = OperatorRunner(SimilarityScorer(config), stats)(pairs_table(news[0][:5], news[1][:5]))
    assert few.num_rows == 5 and few.column("sim_margin").to_pylist() == [None] * 5
    assert dict(stats.operator("similarity").noted) == {"sim:too_few_pairs": 5}


def test_config_errors_are_one_clear_line(tmp_path):
    config = build(SimilarityConfig, {"model_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="similarity.model_dir: .*93langs.fcodes not found.*download-models"):
        config.check_files()
    with pytest.raises(ConfigError, match="batch_size"):
        build(SimilarityConfig, {"batch_size": 5})
    with pytest.raises(ConfigError, match="unsupported_lang"):
        build(SimilarityConfig, {"unsupported_lang": "skip"})
    # laser without models is the step off, not an error; use needs nothing.
    assert not build(SimilarityConfig, {}).enabled and build(SimilarityConfig, {}).check_files() is None
    assert build(SimilarityConfig, {"encoder": "use"}).enabled


def flores_lines(corpus, lang, count):
    folder = shared_path(corpus)
    suffix = ".dev" if corpus == "flores200_dev" else ".txt"
    with open(folder / f"{FLORES_CODES[lang]}{suffix}", encoding="utf-8") as handle:
        return [line.rstrip("\n") for line, _ in zip(handle, range(count))]


def misaligned_pair_files(folder, corpus, lang, seed=0):
    """Moses files en-X of the first LINES lines, a third of the targets shuffled among themselves (none in
    its own place); the 0-based line numbers of the misaligned pairs."""
    sources, targets = flores_lines(corpus, "en", LINES), flores_lines(corpus, lang, LINES)
    rng = np.random.default_rng(seed)
    bad = np.sort(rng.choice(LINES, LINES // 3, replace=False))
    order = np.arange(LINES)
    while np.any(order[bad] == bad):
        order[bad] = rng.permutation(bad)
    prefix = str(folder / f"{corpus}-en-{lang}")
    with open(f"{prefix}.en", "w", encoding="utf-8") as handle:
        handle.write("\n".join(sources) + "\n")
    with open(f"{prefix}.{lang}", "w", encoding="utf-8") as handle:
        handle.write("\n".join(targets[i] for i in order) + "\n")
    return prefix, set(bad.tolist())


def scored_lines(location, src, tgt, config):
    """Read a pair file and score it as the pipeline's filter task does (its step batches): the kept lines
    (0-based) and the statistics."""
    steps = StepList.of(BitextReader(build(BitextReaderConfig, {"src": src, "tgt": tgt})),
                        Step(SimilarityScorer(config), batch_rows=SIMILARITY_CHUNK_BATCHES * config.batch_size))
    stats = PipelineStats()
    kept = {int(row_id.rsplit("-", 1)[1]) - 1 for table in InProcessExecutor().stream(steps, [location], stats)
            for row_id in table.column("id").to_pylist()}
    return kept, stats


@pytest.fixture(scope="module")
def use_config():
    config = build(SimilarityConfig, {"encoder": "use"})
    config.check_files()
    return config


@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["flores200_dev", "ntrex128"])
def test_use_catches_misaligned_pairs_and_keeps_translations(corpus, use_config, tmp_path):
    # FLORES-200 dev is where USE's margin figures came from (operators/parallel/similarity.py); NTREX-128 is held out.
    print(f"\n{corpus}: USE, min_margin {use_config.min_margin}, {LINES} en-X pairs per language, "
          f"{LINES // 3} of them misaligned\n{'pair':<7}{'misaligned caught':>18}{'true kept':>14}")
    failures = []
    for lang in USE_TARGETS:
        location, bad = misaligned_pair_files(tmp_path, corpus, lang)
        kept, stats = scored_lines(location, "en", lang, use_config)
        assert set(stats.operator("similarity").dropped) <= {"sim:low_margin"}
        caught, true_kept = len(bad - kept), len(kept - bad)
        print(f"en-{lang:<4}{caught:>11}/{len(bad)} {caught / len(bad):.3f}"
              f"{true_kept:>7}/{LINES - len(bad)} {true_kept / (LINES - len(bad)):.3f}")
        if caught < MIN_CAUGHT * len(bad) or true_kept < MIN_KEPT * (LINES - len(bad)):
            failures.append(f"en-{lang}: caught {caught}/{len(bad)}, kept {true_kept}/{LINES - len(bad)}")
    assert not failures, failures


@pytest.mark.parametrize("unsupported_lang", ["keep", "drop"])
def test_use_never_scores_a_language_it_was_not_trained_on(unsupported_lang, tmp_path):
    # Vietnamese and Kazakh are not among USE's 16 languages; German is. One table holds all three pairs.
    config = build(SimilarityConfig, {"encoder": "use", "unsupported_lang": unsupported_lang})
    tables = []
    for lang in ("de", "vi", "kk"):
        sources, targets = flores_lines("flores200_dev", "en", 30), flores_lines("flores200_dev", lang, 30)
        tables.append(pa.table({"id": [f"{lang}-{i}" for i in range(30)], "src_text": sources,
                                "tgt_text": targets, "src_lang": ["en"] * 30, "tgt_lang": [lang] * 30}))
    stats = PipelineStats()
    out = OperatorRunner(SimilarityScorer(config), stats)(pa.concat_tables(tables))
    counts = stats.operator("similarity")
    if unsupported_lang == "keep":
        assert out.num_rows == 90 and dict(counts.noted) == {"sim:unsupported_lang": 60} and not counts.dropped
    else:
        assert out.num_rows == 30 and dict(counts.dropped) == {"sim:unsupported_lang": 60} and not counts.noted
    rows = out.to_pylist()
    for row in rows:
        if row["tgt_lang"] == "de":
            assert row["sim_model"].startswith("use-multilingual-v3") and row["sim_margin"] >= config.min_margin
        else:
            assert row["sim_model"] is None and row["sim_margin"] is None and row["sim_cosine"] is None
    # Margins come from the scored pairs only: the German ones alone give the same.
    alone = OperatorRunner(SimilarityScorer(config), PipelineStats())(tables[0])
    assert np.allclose([r["sim_margin"] for r in rows if r["tgt_lang"] == "de"],
                       alone.column("sim_margin").to_pylist(), atol=1e-6)
