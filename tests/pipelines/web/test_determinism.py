"""Same input, same output: in-process on 1 CPU vs Ray Data on 2 CPUs with another chunk size; the sampled
dropped documents (``_drops/``) included."""

from __future__ import annotations

import pytest

from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.curated_output import assert_invariant, documents_by_language, read_stats
from tests.fixtures.shared_data import shared_path

pytestmark = pytest.mark.slow


def test_in_process_and_ray_runs_give_identical_output(ray_local, tmp_path):
    inputs = [str(shared_path("warc")) + "/*"]

    config = load_config(None)
    config.output.chunk_files = 8
    curate(config, inputs, str(tmp_path / "local"), in_process=True)

    config = load_config(None)
    config.output.chunk_files = 3
    config.output.rows_per_file = 50
    curate(config, inputs, str(tmp_path / "ray"))

    local_docs = documents_by_language(str(tmp_path / "local"))
    ray_docs = documents_by_language(str(tmp_path / "ray"))
    assert local_docs.keys() == ray_docs.keys()
    for lang in local_docs:
        assert local_docs[lang] == ray_docs[lang], lang

    local_stats, ray_stats = read_stats(str(tmp_path / "local")), read_stats(str(tmp_path / "ray"))
    assert local_stats == ray_stats
    import pyarrow.parquet as pq

    local_drops = pq.read_table(tmp_path / "local" / "_drops" / "drops.parquet")
    assert local_drops.num_rows > 0 and local_drops.equals(pq.read_table(tmp_path / "ray" / "_drops" / "drops.parquet"))
    assert_invariant(local_stats)
    # The shared archives hold these languages; the output must too. (Their Chinese pages are spam link lists and
    # disclaimers: trafilatura's text of them passed the quality filter, the fast engine keeps none of it.)
    assert {"en", "ru", "pt", "ja"} <= set(local_stats["kept_per_language"])
    assert sum(local_stats["kept_per_language"].values()) == local_stats["operators"][-1]["docs_out"]


def test_copies_of_one_archive_are_counted_apart_on_ray(ray_local, tmp_path):
    """The same records under two file names (a re-listed or copied archive) carry the same WARC-Record-IDs;
    on Ray each batch's counts are kept once per batch key, and those keys must tell the copies apart, or one
    copy's counts vanish (the statistics chain breaks: the reader let more documents through than the next step
    took). Counted by their source (file:offset), both copies count."""
    import shutil

    original = shared_path("warc") / "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz"
    copies = tmp_path / "in"
    copies.mkdir()
    for name in ("a.warc.gz", "b.warc.gz", "c.warc.gz"):
        shutil.copy(original, copies / name)

    config = load_config(None)
    curate(config, [str(original)], str(tmp_path / "one"), in_process=True)
    config = load_config(None)
    config.output.chunk_files = 3
    stats = curate(config, [str(copies)], str(tmp_path / "three"))

    one = read_stats(str(tmp_path / "one"))
    three = read_stats(str(tmp_path / "three"))
    assert_invariant(three)
    for single, tripled in zip(one["operators"], three["operators"]):
        assert tripled["docs_in"] == 3 * single["docs_in"], tripled["name"]
        assert tripled["docs_out"] == 3 * single["docs_out"], tripled["name"]
    assert stats.operators[-1].docs_out == 3 * one["operators"][-1]["docs_out"] > 0
