"""Global dedup gives the same output whatever the cluster and partitioning: the same documents and texts and the
same counts with 1 or 4 hash partitions, in-process or on an embedded Ray of 1 or 2 CPUs. Only the run's
description of itself (``details``: the partition count, the connected-components rounds) may differ."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile

import pytest

from tests.fixtures.curated_output import documents_by_language, read_stats
from tests.fixtures.shared_data import REPO_ROOT as ROOT

LANGUAGES = ("en", "de", "ru", "zh", "ja", "th")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    """Curated-style shards of real text with planted near-duplicates and repeated spans, two files per language."""
    from tests.fixtures.planted_duplicates import write_planted_shards

    root = tmp_path_factory.mktemp("planted")
    write_planted_shards(root, LANGUAGES, files=2)
    return root


def counts(stats: dict) -> dict:
    """Everything of stats.json but the run's details."""
    return {key: value for key, value in stats.items() if key != "details"}


def in_process(corpus, out, partitions: int) -> None:
    from pipelines.global_dedup.dedup import DedupConfig, dedup

    dedup(DedupConfig(partitions=partitions), str(corpus), str(out), in_process=True)


def on_embedded_ray(corpus, out, partitions: int, cpus: int, tmp_path) -> None:
    config = tmp_path / f"dedup-{partitions}-{cpus}.yaml"
    config.write_text(f"partitions: {partitions}\nnum_cpus: {cpus}\n")
    ray_tmp = tempfile.mkdtemp(prefix="rd", dir="/tmp")   # a private, short Ray temp dir
    env = dict(os.environ, RAY_TMPDIR=ray_tmp, RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1")
    env.pop("RAY_ADDRESS", None)
    try:
        done = subprocess.run([sys.executable, str(ROOT / "pipelines" / "dedup.py"), "--input", str(corpus),
                               "--output", str(out), "--config", str(config)], env=env, capture_output=True,
                              text=True, timeout=600)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]


def test_one_or_four_partitions_give_the_same_output(corpus, tmp_path):
    in_process(corpus, tmp_path / "one", 1)
    in_process(corpus, tmp_path / "four", 4)
    one, four = read_stats(str(tmp_path / "one")), read_stats(str(tmp_path / "four"))
    assert one["details"]["minhash"]["partitions"] == 1 and four["details"]["minhash"]["partitions"] == 4
    assert one["details"]["minhash"]["clusters"] > 0   # the planted near-duplicates were found
    assert documents_by_language(str(tmp_path / "one")) == documents_by_language(str(tmp_path / "four"))
    assert counts(one) == counts(four)


@pytest.mark.slow
def test_one_or_two_cpus_on_ray_give_the_in_process_output(corpus, tmp_path):
    in_process(corpus, tmp_path / "reference", 1)
    expected_documents = documents_by_language(str(tmp_path / "reference"))
    expected_counts = counts(read_stats(str(tmp_path / "reference")))
    for partitions, cpus in ((4, 1), (1, 2)):
        out = tmp_path / f"ray-{partitions}-{cpus}"
        on_embedded_ray(corpus, out, partitions, cpus, tmp_path)
        assert documents_by_language(str(out)) == expected_documents, (partitions, cpus)
        assert counts(read_stats(str(out))) == expected_counts, (partitions, cpus)
