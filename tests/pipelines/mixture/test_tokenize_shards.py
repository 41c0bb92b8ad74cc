"""Token shards: the .idx bytes, megatron-core reading them, ids equal to transformers' Qwen2 tokenizer
on real text, resumption, and Ray against in-process."""

import json
import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.config_check import ConfigError
from pipelines.mixture.tokenize_shards import tokenize_shards
from pipelines.tools.reference_documents import documents
from tests.fixtures.shared_data import shared_path
from training.data.megatron_index import IndexedShard, IndexedShardWriter

LANGS = ("en", "zh", "ja", "th", "ar", "ru", "de", "ko")
EOD = 151643  # <|endoftext|>


def test_idx_header_and_arrays_golden_bytes(tmp_path):
    writer = IndexedShardWriter(str(tmp_path / "shard"))
    writer.add_document([1, 2, 3])
    writer.add_document([70000, 5])
    writer.finalize()
    golden = (b"MMIDIDX\x00\x00"                                   # magic
              + b"\x01\x00\x00\x00\x00\x00\x00\x00"                 # version 1
              + b"\x04"                                             # dtype int32
              + b"\x02\x00\x00\x00\x00\x00\x00\x00"                 # 2 sequences
              + b"\x03\x00\x00\x00\x00\x00\x00\x00"                 # 3 document indices
              + b"\x03\x00\x00\x00" + b"\x02\x00\x00\x00"           # lengths
              + b"\x00" * 8 + b"\x0c\x00\x00\x00\x00\x00\x00\x00"   # byte offsets 0, 12
              + b"\x00" * 8 + b"\x01" + b"\x00" * 7 + b"\x02" + b"\x00" * 7)  # document indices 0, 1, 2
    assert (tmp_path / "shard.idx").read_bytes() == golden
    assert (tmp_path / "shard.bin").read_bytes() == np.array([1, 2, 3, 70000, 5], dtype=np.int32).tobytes()
    assert not list(tmp_path.glob("*.inprogress"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    data = str(shared_path("ntrex128").parent)
    root = tmp_path_factory.mktemp("curated")
    texts = {}
    for lang in LANGS:
        docs = documents("ntrex", data, lang)[:40]
        texts[lang] = docs
        os.makedirs(root / lang)
        for part in range(2):
            chunk = docs[part * 20:(part + 1) * 20]
            pq.write_table(pa.table({"id": [f"{lang}{i}" for i in range(len(chunk))], "text": chunk,
                                     "lang": [lang] * len(chunk)}), root / lang / f"part-{part}.parquet")
    return root, texts


@pytest.fixture(scope="module")
def tokenized(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("tokens")
    stats = tokenize_shards(str(corpus[0]), str(out), in_process=True)
    return out, stats


def test_megatron_core_reads_our_shards_unchanged(tokenized):
    from megatron.core.datasets.indexed_dataset import IndexedDataset

    out, _ = tokenized
    for lang in LANGS:
        prefix = str(out / lang / "part-0")
        theirs, ours = IndexedDataset(prefix), IndexedShard(prefix)
        assert len(theirs) == len(ours) == 20
        assert np.array_equal(theirs.document_indices, np.arange(21))
        for i in range(len(ours)):
            assert np.array_equal(np.asarray(theirs[i]), ours[i]) and ours[i][-1] == EOD


def test_token_ids_equal_transformers_autotokenizer(tokenized, corpus):
    from transformers import AutoTokenizer

    out, _ = tokenized
    reference = AutoTokenizer.from_pretrained(str(shared_path("qwen_tokenizer")))
    for lang in LANGS:
        shard = IndexedShard(str(out / lang / "part-1"))
        for i, text in enumerate(corpus[1][lang][20:40]):
            assert shard[i].tolist() == reference(text, add_special_tokens=False)["input_ids"] + [EOD], (lang, i)


def test_manifest_counts_and_resumption(tokenized, corpus):
    out, stats = tokenized
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["dtype"] == "int32" and manifest["eod_token"] == "<|endoftext|>"
    assert set(manifest["groups"]) == set(LANGS)
    for entry in manifest["shards"]:
        shard = IndexedShard(str(out / entry["shard"]))
        assert entry["documents"] == len(shard) == 20 and entry["tokens"] == int(shard.lengths.sum())
    assert stats.details["tokenize"]["tokens"] == sum(e["tokens"] for e in manifest["shards"])
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.bin")}
    again = tokenize_shards(str(corpus[0]), str(out), in_process=True)  # everything done: nothing rewritten
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.bin")} == before
    assert again.to_dict() == stats.to_dict()


def test_ray_run_writes_the_same_shards(corpus, tokenized, ray_local, tmp_path):
    out, _ = tokenized
    tokenize_shards(str(corpus[0]), str(tmp_path), in_process=False)
    for path in out.rglob("*.bin"):
        assert (tmp_path / path.relative_to(out)).read_bytes() == path.read_bytes()
        idx = path.with_suffix(".idx")
        assert (tmp_path / idx.relative_to(out)).read_bytes() == idx.read_bytes()


def test_bad_settings_fail_before_any_work(corpus, tmp_path, monkeypatch):
    with pytest.raises(ConfigError, match="--eod-token"):
        tokenize_shards(str(corpus[0]), str(tmp_path), eod_token="<|nope|>", in_process=True)
    with pytest.raises(ConfigError, match="--input: folder not found"):
        tokenize_shards(str(tmp_path / "absent"), str(tmp_path), in_process=True)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ConfigError, match="--tokenizer: could not fetch 'Qwen/Qwen2-7B'"):
        tokenize_shards(str(corpus[0]), str(tmp_path), tokenizer="Qwen/Qwen2-7B", in_process=True)
    assert not list(tmp_path.rglob("*.bin"))


def small_corpus(root, counts):
    """``root/<lang>/part-0.parquet`` with ``counts[lang]`` NTREX documents: the same file names for any counts."""
    data = str(shared_path("ntrex128").parent)
    for lang, count in counts.items():
        os.makedirs(root / lang, exist_ok=True)
        docs = documents("ntrex", data, lang)[:count]
        pq.write_table(pa.table({"text": docs, "lang": [lang] * len(docs)}), root / lang / "part-0.parquet")
    return root


def test_rerun_with_other_inputs_is_refused_and_overwrite_starts_afresh(tmp_path, capsys):
    from pipelines.mixture.tokenize_shards import main

    first = small_corpus(tmp_path / "first", {"en": 24, "de": 25})
    second = small_corpus(tmp_path / "second", {"en": 26, "de": 26})  # the same file names, more documents
    out = tmp_path / "tokens"
    tokenize_shards(str(first), str(out), in_process=True)
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.bin")}
    with pytest.raises(ConfigError) as error:
        tokenize_shards(str(second), str(out), in_process=True)
    message = str(error.value)
    assert f"--output {out} holds a run made with other inputs" in message
    assert f"{first}/de/part-0.parquet" in message and f"{second}/de/part-0.parquet" in message
    assert "--overwrite" in message
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.bin")} == before  # nothing touched
    # The command: one error line, exit status 2, never 0 with the old shards.
    assert main(["--input", str(second), "--output", str(out), "--in-process"]) == 2
    assert "other inputs or settings" in capsys.readouterr().err
    # The same inputs again: the finished shards are reused.
    tokenize_shards(str(first), str(out), in_process=True)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.bin")} == before
    # --overwrite: a fresh run over the new inputs, with their document counts.
    assert main(["--input", str(second), "--output", str(out), "--in-process", "--overwrite"]) == 0
    manifest = json.loads((out / "manifest.json").read_text())
    assert {g: c["documents"] for g, c in manifest["groups"].items()} == {"en": 26, "de": 26}
    for entry in manifest["shards"]:
        assert len(IndexedShard(str(out / entry["shard"]))) == entry["documents"] == 26


def test_rewritten_input_or_other_tokenizer_is_a_change(tmp_path):
    corpus = small_corpus(tmp_path / "curated", {"en": 10})
    out = tmp_path / "tokens"
    tokenize_shards(str(corpus), str(out), in_process=True)
    import shutil

    from common.tokenizer import tokenizer_source

    other = tmp_path / "tokenizer.json"  # a tokenizer of one's own (here a copy of the packaged one)
    shutil.copy(tokenizer_source("qwen2"), other)
    with pytest.raises(ConfigError, match=r"tokenizer\.(digest|source|spec)"):
        tokenize_shards(str(corpus), str(out), tokenizer=str(other), in_process=True)
    small_corpus(corpus, {"en": 12})  # rewritten in place: same path, other size and time
    with pytest.raises(ConfigError, match=r"inputs\[0\]\.(mtime_ns|size)"):
        tokenize_shards(str(corpus), str(out), in_process=True)


def test_a_folder_made_before_plans_is_not_reused(tmp_path):
    corpus = small_corpus(tmp_path / "curated", {"en": 10})
    out = tmp_path / "tokens"
    os.makedirs(out / "en")
    (out / "en" / "part-0.idx").write_bytes(b"old")
    with pytest.raises(ConfigError, match="holds no record of what made it"):
        tokenize_shards(str(corpus), str(out), in_process=True)
