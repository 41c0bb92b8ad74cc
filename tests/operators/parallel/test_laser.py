"""LASER scoring: the margin on vectors with known neighbours, and the encoder path end to end with a
tiny LASER-format model built here."""

import numpy as np
import pyarrow as pa
import pytest

from common.config_check import ConfigError, build
from operators.parallel.laser import LaserConfig, LaserScorer, batches, margin_scores
from operators.runner import OperatorRunner
from operators.stats import PipelineStats
from tests.fixtures.shared_data import shared_path
from tests.fixtures.tiny_laser import build_tiny_laser


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
    config = build(LaserConfig, {"model_dir": tiny_laser, "batch_size": 50, "min_margin": 1.0})
    stats = PipelineStats()
    runner = OperatorRunner(LaserScorer(config), stats)
    out = runner(pairs_table(*news))
    laser = stats.operator("laser")
    assert laser.docs_in == 120 and laser.docs_out == out.num_rows
    assert set(laser.dropped) <= {"laser:low_margin"} and not laser.noted
    margins = np.array(out.column("laser_margin").to_pylist())
    assert np.all(np.isfinite(margins)) and np.all(margins >= 1.0)
    assert np.all(np.abs(np.array(out.column("laser_cosine").to_pylist())) <= 1.0 + 1e-5)
    # Too few pairs for k = 4 neighbours: kept, noted, no margin.
    stats = PipelineStats()
    few = OperatorRunner(LaserScorer(config), stats)(pairs_table(news[0][:5], news[1][:5]))
    assert few.num_rows == 5 and few.column("laser_margin").to_pylist() == [None] * 5
    assert dict(stats.operator("laser").noted) == {"laser:too_few_pairs": 5}


def test_missing_models_are_one_clear_error(tmp_path):
    config = build(LaserConfig, {"model_dir": str(tmp_path)})
    with pytest.raises(ConfigError, match="laser.model_dir: .*93langs.fcodes not found.*download-models"):
        config.check_files()
    with pytest.raises(ConfigError, match="batch_size"):
        build(LaserConfig, {"batch_size": 5})
