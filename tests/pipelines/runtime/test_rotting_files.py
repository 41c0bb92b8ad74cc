"""Files that rot between two runs are caught by their checksums (common/checksums.py), said in the log, and
recomputed with what depends on them; the rerun's output is the clean run's.

* dedup's ``_work``: a MinHash signature array cut short, a bucket (graph) file with one byte changed, a token
  array of the substring stage changed: each stage that wrote one runs again, and every stage after it.
* curate_cc: one committed shard changed: its chunk is redone, the others are reused.
"""

from __future__ import annotations

import logging
import shutil

import pytest

from pipelines.global_dedup.dedup import DedupConfig, dedup
from tests.fixtures.curated_output import assert_same_curation, documents_by_language, read_stats
from tests.fixtures.shared_data import shared_path


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    from tests.fixtures.planted_duplicates import write_planted_shards

    root = tmp_path_factory.mktemp("corpus")
    write_planted_shards(root, ("en", "de", "ja"), files=2)
    clean = tmp_path_factory.mktemp("clean")
    dedup(DedupConfig(partitions=2), str(root), str(clean), in_process=True)
    return root, clean


def flip_a_byte(path) -> None:
    data = bytearray(open(path, "rb").read())
    data[len(data) // 2] ^= 0x5A
    open(path, "wb").write(bytes(data))


def cut_short(path) -> None:
    data = open(path, "rb").read()
    open(path, "wb").write(data[: len(data) // 2])


def done_markers(work) -> dict:
    return {str(p.relative_to(work)): p.stat().st_mtime_ns for p in work.rglob("*.done.json")}


@pytest.mark.parametrize("damaged, how, stage, redone", [
    ("minhash/bands/part-0001/file-000002.npy", cut_short, "signatures",
     ["minhash/signatures", "minhash/buckets", "minhash/components", "minhash/clusters", "minhash/filter",
      "substring/tokenize", "substring/find", "substring/filter"]),
    ("minhash/graph/round-0000/to-0000/from-0001.npy", flip_a_byte, "buckets",
     ["minhash/buckets", "minhash/components", "minhash/clusters", "minhash/filter",
      "substring/tokenize", "substring/find", "substring/filter"]),
    ("substring/tokens/file-000003.npz", flip_a_byte, "tokenize",
     ["substring/tokenize", "substring/find", "substring/filter"]),
])
def test_a_rotten_work_file_is_said_and_its_stage_and_the_later_ones_recomputed(corpus, tmp_path, caplog, damaged, how,
                                                                                stage, redone):
    root, clean = corpus
    out = tmp_path / "out"
    dedup(DedupConfig(partitions=2), str(root), str(out), in_process=True, keep_work=True)
    work = out / "_work"
    target = work / damaged
    before = done_markers(work)
    how(target)
    (out / "stats.json").unlink()
    with caplog.at_level(logging.WARNING, logger="stages"):
        dedup(DedupConfig(partitions=2), str(root), str(out), in_process=True, keep_work=True)
    assert f"{target} " in caplog.text and f"running stage '{stage}' again, and the stages after it" in caplog.text
    after = done_markers(work)
    rewritten = sorted(name[: -len(".done.json")] for name in after if after[name] != before.get(name))
    assert rewritten == sorted(redone)
    assert documents_by_language(str(out)) == documents_by_language(str(clean))
    assert read_stats(str(out)) == read_stats(str(clean))


def test_a_sound_work_folder_is_reused_without_recomputing(corpus, tmp_path, caplog):
    root, _ = corpus
    out = tmp_path / "out"
    dedup(DedupConfig(partitions=2), str(root), str(out), in_process=True, keep_work=True)
    before = done_markers(out / "_work")
    with caplog.at_level(logging.WARNING, logger="stages"):
        dedup(DedupConfig(partitions=2), str(root), str(out), in_process=True, keep_work=True)
    assert done_markers(out / "_work") == before and "again" not in caplog.text


def test_a_rotten_curated_shard_has_its_chunk_redone(tmp_path, caplog):
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate

    inputs = [str(shared_path("warc")) + "/*"]
    config = load_config(None)
    config.output.chunk_files = 4
    clean, out = tmp_path / "clean", tmp_path / "out"
    curate(config, inputs, str(clean), in_process=True)
    shutil.copytree(clean, out)
    shard = sorted(out.glob("en/*.parquet"))[0]
    chunk = shard.name.rsplit("-", 1)[0]
    flip_a_byte(shard)
    with caplog.at_level(logging.WARNING, logger="curate_cc"):
        curate(config, inputs, str(out), in_process=True)
    assert f"{shard} does not match the checksum recorded when it was written; redoing {chunk}" in caplog.text
    assert caplog.text.count("redoing") == 1
    assert_same_curation(out, clean)
