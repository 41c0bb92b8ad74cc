"""MinHash dedup end to end: planted near-duplicates in real text of all 29 languages, and a Ray run
over curate_cc.py's output of the shared WARCs.

The planted corpus (tests/fixtures/planted_duplicates.py) has 80 real documents per language, 24 near
variants (exact Jaccard 0.8-1.0 to their base, four exact copies) and 12 far variants (0.3-0.5).
Every pair of documents in a language is scored with its exact Jaccard; a pair is "merged" when the
pipeline put both in one cluster.
"""

import itertools
import os
from collections import Counter, defaultdict

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.languages import TARGET_LANGUAGES
from operators.dedup.minhash import shingles
from pipelines.global_dedup.dedup import DedupConfig, dedup
from pipelines.global_dedup.minhash_dedup import CLUSTER_SIZE_COLUMN, ROW_BITS, cluster_map
from pipelines.runtime.shard_files import list_inputs
from tests.fixtures.curated_output import documents_by_language, read_stats
from tests.fixtures.planted_duplicates import jaccard, planted_corpus
from tests.fixtures.shared_data import shared_path

MIN_PRECISION = 0.98
MIN_RECALL = 0.95
MAX_LOW_MERGED = 0.05


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    data = str(shared_path("ntrex128").parent)
    shared_path("mono_leipzig_lingua")
    root = tmp_path_factory.mktemp("planted")
    corpus = {}
    for lang in TARGET_LANGUAGES:
        docs, pairs = planted_corpus(data, lang)
        corpus[lang] = (docs, pairs)
        half = 80 + (len(docs) - 80) // 2  # near/far variants in both files: clusters cross files
        os.makedirs(root / lang)
        for number, part in enumerate((docs[:half], docs[half:])):
            pq.write_table(pa.table({"id": [d[0] for d in part], "text": [d[1] for d in part],
                                     "lang": [lang] * len(part)}), root / lang / f"part-{number:04d}.parquet")
    output = tmp_path_factory.mktemp("deduped")
    stats = dedup(DedupConfig(partitions=3), str(root), str(output), stage="minhash", in_process=True, keep_work=True)
    return root, output, corpus, stats


def uid_to_id(root):
    ids = {}
    for index, path in enumerate(list_inputs(str(root))):
        for row, doc_id in enumerate(pq.read_table(path, columns=["id"]).column("id").to_pylist()):
            ids[index << ROW_BITS | row] = doc_id
    return ids


def test_planted_near_duplicates_precision_recall_per_language(planted):
    root, output, corpus, _ = planted
    ids = uid_to_id(root)
    cluster_of = {ids[uid]: ids[rep] for uid, rep in cluster_map(str(output / "_work" / "minhash")).items()}
    totals = Counter()
    print(f"\n{'lang':<5}{'pairs>=0.8':>11}{'merged':>8}{'precision':>10}{'recall':>8}{'far merged':>11}")
    for lang in TARGET_LANGUAGES:
        docs, pairs = corpus[lang]
        sets = {doc_id: set(shingles(text, lang)) for doc_id, text in docs}
        counts = Counter()
        for a, b in itertools.combinations(sets, 2):
            similarity = jaccard(sets[a], sets[b])
            merged = a in cluster_of and cluster_of.get(a) == cluster_of.get(b)
            counts["high"] += similarity >= 0.8
            counts["merged"] += merged
            counts["merged_high"] += merged and similarity >= 0.8
        far = [p for p, s in pairs.items() if s < 0.5]
        counts["far"] = len(far)
        counts["far_merged"] = sum(a in cluster_of and cluster_of[a] == cluster_of.get(b) for a, b in far)
        totals.update(counts)
        print(f"{lang:<5}{counts['high']:>11}{counts['merged']:>8}"
              f"{counts['merged_high'] / max(1, counts['merged']):>10.3f}{counts['merged_high'] / counts['high']:>8.3f}"
              f"{counts['far_merged'] / counts['far']:>11.3f}")
    precision = totals["merged_high"] / totals["merged"]
    recall = totals["merged_high"] / totals["high"]
    far_merged = totals["far_merged"] / totals["far"]
    print(f"all  {totals['high']:>11}{totals['merged']:>8}{precision:>10.3f}{recall:>8.3f}{far_merged:>11.3f}")
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL and far_merged <= MAX_LOW_MERGED


def test_output_keeps_one_representative_per_cluster_with_its_size(planted):
    root, output, corpus, stats = planted
    ids = uid_to_id(root)
    clusters = defaultdict(list)
    for uid, rep in cluster_map(str(output / "_work" / "minhash")).items():
        clusters[ids[rep]].append(ids[uid])
    kept = {}
    for path in list_inputs(str(output)):
        table = pq.read_table(path, columns=["id", CLUSTER_SIZE_COLUMN])
        kept.update(zip(table.column("id").to_pylist(), table.column(CLUSTER_SIZE_COLUMN).to_pylist()))
    members = {m for rep, group in clusters.items() for m in group if m != rep}
    every_id = {doc_id for docs, _ in corpus.values() for doc_id, _ in docs}
    assert set(kept) == every_id - members
    for rep, group in clusters.items():
        assert kept[rep] == len(group) > 1
        # The representative is the document that comes first: a base, never its variant.
        assert "-base-" in rep
    assert all(size == 1 for doc_id, size in kept.items() if doc_id not in clusters)
    minhash = stats.operator("minhash")
    assert minhash.dropped == {"dup:minhash": len(members)}
    histogram = stats.details["minhash"]["cluster_size_histogram"]
    assert histogram == {str(k): v for k, v in sorted(Counter(len(g) for g in clusters.values()).items())}
    assert sorted(os.path.relpath(p, output) for p in list_inputs(str(output))) == \
        sorted(os.path.relpath(p, root) for p in list_inputs(str(root)))


def test_sampled_near_duplicates_name_their_kept_representative(planted):
    """_drops/: per language up to 20 of the removed variants, each with its cluster's representative, which
    is the kept base document of that variant's cluster."""
    import json

    root, output, corpus, stats = planted
    ids = uid_to_id(root)
    representative = {ids[uid]: ids[rep] for uid, rep in cluster_map(str(output / "_work" / "minhash")).items()}
    rows = pq.read_table(output / "_drops" / "drops.parquet").to_pylist()
    removed = stats.operator("minhash").by_language
    assert {row["lang"] for row in rows} == {lang for lang, counts in removed.items() if counts.dropped}
    for lang in {row["lang"] for row in rows}:
        assert sum(row["lang"] == lang for row in rows) == min(20, removed[lang].dropped["dup:minhash"])
    texts = {doc_id: text for docs, _ in corpus.values() for doc_id, text in docs}
    for row in rows:
        signals = json.loads(row["signals"])
        assert (row["operator"], row["reason"]) == ("minhash", "dup:minhash")
        assert signals["representative_id"] == representative[row["id"]] != row["id"]
        assert "-base-" in signals["representative_id"] and row["text"] == texts[row["id"]][:2000]


@pytest.mark.slow
def test_dedup_all_stages_on_ray_over_curate_cc_output_equals_in_process(ray_local, tmp_path):
    from pipelines.web.config import load_config
    from pipelines.web.curate import curate

    curated = tmp_path / "curated"
    curate_stats = curate(load_config(None), [str(shared_path("warc"))], str(curated), in_process=True)
    on_ray = dedup(DedupConfig(), str(curated), str(tmp_path / "ray"), stage="all")
    local = dedup(DedupConfig(), str(curated), str(tmp_path / "local"), stage="all", in_process=True)
    assert on_ray.to_dict() == local.to_dict()
    minhash = on_ray.operator("minhash")
    assert minhash.docs_in == sum(curate_stats.kept_per_language.values())
    substring = on_ray.operator("substring")
    assert substring.docs_in == minhash.docs_out
    assert sum(on_ray.kept_per_language.values()) == substring.docs_out
    assert documents_by_language(str(tmp_path / "ray")) == documents_by_language(str(tmp_path / "local"))
    assert not (tmp_path / "ray" / "_work").exists()
    drops = pq.read_table(tmp_path / "ray" / "_drops" / "drops.parquet")
    assert drops.num_rows >= 1 and drops.equals(pq.read_table(tmp_path / "local" / "_drops" / "drops.parquet"))
    # Two archive.org book pages by one author share most of their text: a cluster of two.
    assert minhash.dropped["dup:minhash"] >= 1
    details = read_stats(str(tmp_path / "ray"))["details"]
    assert details["minhash"]["clusters"] >= 1
    # News pages of one site repeat whole paragraphs: exact substrings are cut.
    assert details["substring"]["removed_characters"] > 0 and substring.noted["substring:trimmed"] > 0
