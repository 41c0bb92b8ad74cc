"""The training-side blended dataset over real token shards: realized shares, the cached index,
resumption, and samples that walk each shard's shuffled token stream."""

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines.mixture.build import build_mixture
from pipelines.mixture.tokenize_shards import tokenize_shards
from pipelines.tools.reference_documents import documents
from tests.fixtures.shared_data import shared_path
from training.data.blended_dataset import BlendedDataset, BlendSource, cache_key, greedy_blend, sources_from_blend
from training.data.megatron_index import IndexedShard

SEQ = 64


@pytest.fixture(scope="module")
def tokens(tmp_path_factory):
    data = str(shared_path("ntrex128").parent)
    curated = tmp_path_factory.mktemp("curated")
    for lang in ("en", "zh", "de", "th"):
        docs = documents("ntrex", data, lang)[:30]
        os.makedirs(curated / lang)
        pq.write_table(pa.table({"text": docs, "lang": [lang] * len(docs)}), curated / lang / "part.parquet")
    out = tmp_path_factory.mktemp("tokens")
    tokenize_shards(str(curated), str(out), in_process=True)
    return out


def sources(tokens, weights=(0.5, 0.2, 0.2, 0.1), epochs=(1.0, 1.0, 0.5, 2.5)):
    return [BlendSource(str(tokens / lang / "part"), w, e) for lang, w, e in zip(("en", "zh", "de", "th"), weights, epochs)]


def test_realized_shares_within_a_tenth_of_a_percent(tokens, tmp_path):
    dataset = BlendedDataset(sources(tokens), SEQ, 12_000, seed=7, cache_dir=str(tmp_path))
    shares = np.bincount(dataset.source_index, minlength=4) / len(dataset)
    assert np.all(np.abs(shares - np.array([0.5, 0.2, 0.2, 0.1])) < 0.001)
    # Every prefix of the run is balanced too (greedy blending): after n samples, off by at most 1/n each.
    source, _ = greedy_blend([0.5, 0.2, 0.2, 0.1], 1000)
    for n in (10, 100, 1000):
        assert np.all(np.abs(np.bincount(source[:n], minlength=4) - n * np.array([0.5, 0.2, 0.2, 0.1])) <= 1.0)


def test_same_inputs_give_a_byte_identical_index_and_a_weight_changes_the_key(tokens, tmp_path):
    first = BlendedDataset(sources(tokens), SEQ, 5_000, seed=7, cache_dir=str(tmp_path / "a"))
    BlendedDataset(sources(tokens), SEQ, 5_000, seed=7, cache_dir=str(tmp_path / "b"))
    for name in ("source_index.npy", "sample_index.npy"):
        assert (tmp_path / "a" / first.cache_key / name).read_bytes() == (tmp_path / "b" / first.cache_key / name).read_bytes()
    assert cache_key(sources(tokens, weights=(0.5, 0.2, 0.1, 0.2)), SEQ, 5_000, 7) != first.cache_key
    assert cache_key(sources(tokens), SEQ, 5_000, 8) != first.cache_key
    reloaded = BlendedDataset(sources(tokens), SEQ, 5_000, seed=7, cache_dir=str(tmp_path / "a"))  # from the cache
    assert np.array_equal(reloaded.source_index, first.source_index)


def test_resuming_at_consumed_samples_gives_the_same_samples(tokens):
    dataset = BlendedDataset(sources(tokens), SEQ, 3_000, seed=3)
    uninterrupted = [s.tolist() for s, _ in zip(dataset.samples(), range(800))]
    restarted = BlendedDataset(sources(tokens), SEQ, 3_000, seed=3)
    resumed = [s.tolist() for s, _ in zip(restarted.samples(start=517), range(283))]
    assert resumed == uninterrupted[517:800]


def test_samples_walk_the_shuffled_documents_of_each_epoch(tokens):
    source = BlendSource(str(tokens / "th" / "part"), 1.0, 2.0)
    dataset = BlendedDataset([source], SEQ, 10, seed=5)
    shard_samples = dataset.shards[0]
    stream = np.concatenate([shard_samples[j][:-1] for j in range(len(shard_samples))] + [shard_samples[len(shard_samples) - 1][-1:]])
    shard = IndexedShard(source.prefix)
    total = int(shard.lengths.sum())
    assert len(shard_samples) == (2 * total - 1) // SEQ and all(len(shard_samples[j]) == SEQ + 1 for j in range(len(shard_samples)))
    for epoch in range(2):
        order = shard_samples.orders[epoch]
        expected = np.concatenate([shard[int(d)] for d in order])
        got = stream[epoch * total:(epoch + 1) * total]
        assert np.array_equal(got, expected[: len(got)])
    assert not np.array_equal(shard_samples.orders[0], shard_samples.orders[1])  # reshuffled per epoch


def test_blend_file_from_build_mixture_feeds_the_dataset(tokens, tmp_path):
    blend = build_mixture(1, str(tokens), str(tmp_path), total_tokens=40_000)
    dataset = BlendedDataset(sources_from_blend(blend), SEQ, 2_000, seed=1)
    weights = np.array([e["weight"] for e in blend["entries"]])
    shares = np.bincount(dataset.source_index, minlength=len(weights)) / len(dataset)
    assert np.all(np.abs(shares - weights) < 0.001)
    assert all(len(dataset[i]) == SEQ + 1 for i in range(0, 2_000, 97))


def test_realized_category_shares_match_the_configured_proportions(tokens, tmp_path):
    config = tmp_path / "mixture.yaml"
    config.write_text("stages:\n  1:\n    tokens: 1.0e+9\n    proportions: {english: 0.4, chinese: 0.3, high_resource: 0.2,"
                      " low_resource: 0.1}\ncategories: {english: [en], chinese: [zh], high_resource: [de],"
                      " low_resource: [th]}\n")
    blend = build_mixture(1, str(tokens), str(tmp_path / "blend"), config_path=str(config), total_tokens=60_000)
    assert not [w for w in blend["warnings"] if "short" in w]
    dataset = BlendedDataset(sources_from_blend(blend), SEQ, 12_000, seed=11)
    categories = np.array([e["category"] for e in blend["entries"]])
    counts = np.bincount(dataset.source_index, minlength=len(categories))
    for category, proportion in {"english": 0.4, "chinese": 0.3, "high_resource": 0.2, "low_resource": 0.1}.items():
        assert abs(counts[categories == category].sum() / len(dataset) - proportion) < 0.001, category
