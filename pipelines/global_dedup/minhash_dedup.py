"""Global MinHash near-duplicate removal over curated shards (paper §3.1.1; RefineWeb, datatrove).

Stages, each a map over files or partitions (Ray Data tasks, or a loop in-process), each writing its
result under ``WORK`` before the next starts, so no process holds more than one file or partition:

1. **signatures** (per input file): MinHash signatures and LSH band keys
   (:mod:`operators.dedup.minhash`); rows ``(band, key, uid)`` go to ``WORK/bands/part-P/`` by key.
   A document's ``uid`` is ``file index << 32 | row``, files in sorted path order.
2. **buckets** (per band partition): documents sharing a band key form a bucket; each bucket
   becomes star edges from its smallest uid to the others (candidate pairs are never listed
   pairwise, so a bucket of n copies costs n - 1 edges).
3. **components** (:mod:`pipelines.global_dedup.connected_components`): alternating large-star / small-star
   rounds over node-partitioned edge files until every document points at its cluster's smallest uid.
4. **clusters** (per node partition): members and roots with cluster sizes, regrouped per input file.
5. **filter** (per input file): the representative of each cluster is kept with
   ``dup_cluster_size``; the other members are dropped with reason ``dup:minhash``; other documents
   get ``dup_cluster_size = 1``. The output file has the input's relative path.

Representative rule: the cluster's smallest uid, i.e. the document that comes first in the curated
output (files in path order: language, then chunk in input order, then part; rows in file order).
It depends on the input only, never on worker timing; datatrove also keeps the first document.
Documents without words have no signature; they are kept and noted ``minhash:no_words``.
"""

from __future__ import annotations

import glob
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.atomic_io import save_npy
from operators.drop_samples import DropSampling, DropSamples, candidates, payload
from operators.dedup.minhash import MinHashConfig, band_keys, signatures
from pipelines.global_dedup.connected_components import (
    component_roots,
    connected_components,
    read_partition,
    write_undirected,
)
from pipelines.runtime.shard_files import ShardTask, StageFiles, load_arrays, write_shard
from pipelines.runtime.task_map import StageChain

REASON = "dup:minhash"
NO_WORDS = "minhash:no_words"
CLUSTER_SIZE_COLUMN = "dup_cluster_size"
ROW_BITS = 32
SIGNATURE_BATCH = 1000


@dataclass
class MinHashRun(StageFiles):
    config: MinHashConfig
    partitions: int
    drops: DropSampling = field(default_factory=lambda: DropSampling(per_key=0))


def _uid(file_index: int, rows: np.ndarray) -> np.ndarray:
    return (np.uint64(file_index) << np.uint64(ROW_BITS)) | rows.astype(np.uint64)


@dataclass
class SignatureItem:
    file: int
    path: str
    work: str
    partitions: int
    config: dict        # MinHashConfig fields without the derived ones


@dataclass
class SignatureResult:
    docs: int
    without_words: Dict[str, int]


def signature_task(item: SignatureItem) -> SignatureResult:
    config = MinHashConfig(**item.config)
    table = pq.read_table(item.path, columns=["text", "lang"])
    texts, langs = table.column("text").to_pylist(), table.column("lang").to_pylist()
    pieces: List[np.ndarray] = []
    without_words: Counter = Counter()
    for lo in range(0, len(texts), SIGNATURE_BATCH):
        sigs, present = signatures(texts[lo:lo + SIGNATURE_BATCH], langs[lo:lo + SIGNATURE_BATCH], config)
        rows = np.flatnonzero(present) + lo
        without_words.update(lang for lang, p in zip(langs[lo:lo + SIGNATURE_BATCH], present) if not p)
        keys = band_keys(sigs[present], config.bands, config.rows)
        uids = _uid(item.file, rows)
        bands = np.broadcast_to(np.arange(config.bands, dtype=np.uint64), keys.shape)
        pieces.append(np.stack([bands.ravel(), keys.ravel(), np.repeat(uids, config.bands)], axis=1))
    rows_out = np.concatenate(pieces) if pieces else np.empty((0, 3), dtype=np.uint64)
    targets = (rows_out[:, 1] % np.uint64(item.partitions)).astype(np.int64)
    for p in range(item.partitions):
        save_npy(os.path.join(item.work, "bands", f"part-{p:04d}", f"file-{item.file:06d}.npy"),
                   rows_out[targets == p])
    return SignatureResult(len(texts), dict(without_words))


@dataclass
class PartitionItem:
    partition: int
    partitions: int
    work: str
    round: int = 0      # the last round of connected components (cluster_task)


@dataclass
class BucketResult:
    candidate_buckets: int
    edges: int


def bucket_task(item: PartitionItem) -> BucketResult:
    rows = load_arrays(os.path.join(item.work, "bands", f"part-{item.partition:04d}", "*.npy"), 3)
    edges = np.empty((0, 2), dtype=np.uint64)
    buckets = 0
    if len(rows):
        rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
        new = np.r_[True, (rows[1:, 0] != rows[:-1, 0]) | (rows[1:, 1] != rows[:-1, 1])]
        first = np.flatnonzero(new)
        head = rows[first, 2][np.cumsum(new) - 1]  # the smallest uid of each row's bucket
        linked = ~new & (rows[:, 2] != head)
        edges = np.stack([head[linked], rows[linked, 2]], axis=1)
        buckets = int(np.count_nonzero(np.diff(np.r_[first, len(rows)]) > 1))
    write_undirected(edges, os.path.join(item.work, "graph"), 0, item.partition, item.partitions)
    return BucketResult(buckets, int(len(edges)))


@dataclass
class ClusterResult:
    histogram: Dict[str, int]   # cluster size (as a string: JSON keys): clusters


def cluster_task(item: PartitionItem) -> ClusterResult:
    edges = read_partition(os.path.join(item.work, "graph"), item.round, item.partition)
    members, roots_of_members, roots, sizes = component_roots(edges)
    # Per input file: [row, 0, root uid] for members, [row, 1, cluster size] for roots.
    rows = np.concatenate([np.stack([members, np.zeros_like(members), roots_of_members], axis=1),
                           np.stack([roots, np.ones_like(roots), sizes.astype(np.uint64)], axis=1)])
    files = (rows[:, 0] >> np.uint64(ROW_BITS)).astype(np.int64)
    rows[:, 0] &= np.uint64((1 << ROW_BITS) - 1)
    for file_index in np.unique(files):
        save_npy(os.path.join(item.work, "clusters", f"file-{file_index:06d}", f"from-{item.partition:04d}.npy"),
                 rows[files == file_index])
    return ClusterResult({str(k): int(v) for k, v in zip(*np.unique(sizes, return_counts=True))})


@dataclass
class FilterResult:
    by_language: Dict[str, List[int]]   # lang: [in, out]
    drops: dict = field(default_factory=dict)   # sampled dropped documents: {"per_key", "rows"}


@dataclass
class FilterItem:
    shard: ShardTask
    per_key: int        # the sample of dropped documents (DropSampling)
    text_chars: int


# Carried into a dropped document's sampled signals: its cluster's size and representative (by uid, resolved to
# the representative's document id once the sample is known: representative_ids).
CLUSTER_ROOT_COLUMN = "dup_cluster_root_uid"


def filter_task(item: FilterItem) -> FilterResult:
    sampling = DropSampling(item.per_key, item.text_chars)
    item = item.shard
    table = pq.read_table(item.path)
    clusters = load_arrays(os.path.join(item.work, "clusters", f"file-{item.file:06d}", "*.npy"), 3)
    sizes = np.ones(table.num_rows, dtype=np.int32)
    keep = np.ones(table.num_rows, dtype=bool)
    roots = np.zeros(table.num_rows, dtype=np.int64)
    if len(clusters):
        rows = clusters[:, 0].astype(np.int64)
        is_root = clusters[:, 1] == 1
        keep[rows[~is_root]] = False
        sizes[rows[is_root]] = clusters[is_root, 2].astype(np.int32)
        roots[rows[~is_root]] = clusters[~is_root, 2].astype(np.int64)
    if CLUSTER_SIZE_COLUMN in table.column_names:
        table = table.drop_columns([CLUSTER_SIZE_COLUMN])
    table = table.append_column(CLUSTER_SIZE_COLUMN, pa.array(sizes, type=pa.int32()))
    langs = table.column("lang").to_pylist()
    kept = table.filter(pa.array(keep))
    write_shard(kept, item.output_root, item.relative)
    by_language: Dict[str, list] = {}
    for lang, k in zip(langs, keep.tolist()):
        counts = by_language.setdefault(lang, [0, 0])
        counts[0] += 1
        counts[1] += int(k)
    drops = []
    if sampling.enabled and not keep.all():
        with_cluster = table.drop_columns([CLUSTER_SIZE_COLUMN]).append_column(
            CLUSTER_ROOT_COLUMN, pa.array(roots, type=pa.int64()))
        reasons = [None if k else REASON for k in keep.tolist()]
        drops = candidates("minhash", with_cluster, reasons, "id", sampling)
    return FilterResult(by_language, payload(drops, sampling.per_key))


def representative_ids(rows: List[dict], inputs: List[str]) -> List[dict]:
    """The sampled dropped documents with their cluster's representative named: ``representative_id`` (the kept
    document's id) and ``cluster`` (its uid) in ``signals``, read from the input shards."""
    wanted: Dict[int, set] = {}
    for row in rows:
        uid = json.loads(row["signals"]).get(CLUSTER_ROOT_COLUMN)
        if uid is not None:
            wanted.setdefault(uid >> ROW_BITS, set()).add(uid & ((1 << ROW_BITS) - 1))
    ids: Dict[int, str] = {}
    for file_index, file_rows in wanted.items():
        column = pq.read_table(inputs[file_index], columns=["id"]).column("id")
        for row_index in file_rows:
            ids[(file_index << ROW_BITS) | row_index] = column[row_index].as_py()
    named = []
    for row in rows:
        signals = json.loads(row["signals"])
        uid = signals.pop(CLUSTER_ROOT_COLUMN, None)
        if uid is not None:
            signals.update({"cluster": uid, "representative_id": ids[uid]})
        named.append({**row, "signals": json.dumps(signals, sort_keys=True)})
    return named


@dataclass
class MinHashOutcome:
    """What stats.json gets: per language [in, out], documents without words per language, the details; and
    the sample of dropped documents (``{"per_key", "rows"}``)."""
    by_language: Dict[str, List[int]]
    without_words: Dict[str, int]
    details: dict
    drops: dict = field(default_factory=dict)


def run_minhash(run: MinHashRun, chain: StageChain) -> MinHashOutcome:
    """All five stages, resumable (``chain``); returns the counts for stats.json."""
    config = {k: v for k, v in vars(run.config).items() if k not in ("threshold", "num_perm")}
    files = list(enumerate(run.inputs))
    signed = chain.run(run.work, "signatures", signature_task,
                       [SignatureItem(i, p, run.work, run.partitions, config) for i, p in files], SignatureResult)
    bucketed = chain.run(run.work, "buckets", bucket_task,
                         [PartitionItem(p, run.partitions, run.work) for p in range(run.partitions)], BucketResult)
    last_round, rounds = chain.step(run.work, "components", lambda: list(connected_components(
        os.path.join(run.work, "graph"), run.partitions, chain.use_ray)))
    clustered = chain.run(run.work, "clusters", cluster_task,
                          [PartitionItem(p, run.partitions, run.work, last_round) for p in range(run.partitions)],
                          ClusterResult)
    filtered = chain.run(run.work, "filter", filter_task,
                         [FilterItem(shard, run.drops.per_key, run.drops.text_chars) for shard in run.shard_tasks()],
                         FilterResult)
    histogram: Counter = Counter()
    for result in clustered:
        histogram.update({int(k): v for k, v in result.histogram.items()})
    without_words: Counter = Counter()
    for result in signed:
        without_words.update(result.without_words)
    by_language: Dict[str, list] = {}
    sample = DropSamples(run.drops.per_key)
    for result in filtered:
        for lang, (docs_in, docs_out) in result.by_language.items():
            counts = by_language.setdefault(lang, [0, 0])
            counts[0] += docs_in
            counts[1] += docs_out
        if result.drops:
            sample.add_payload(result.drops)
    drops = payload(representative_ids(sample.rows(), run.inputs), sample.per_key)
    return MinHashOutcome(by_language, dict(without_words), {
        "ngram": run.config.ngram, "bands": run.config.bands, "rows": run.config.rows,
        "approximate_threshold": round(run.config.approximate_threshold, 4),
        "partitions": run.partitions, "component_rounds": rounds,
        "candidate_buckets": sum(r.candidate_buckets for r in bucketed),
        "candidate_edges": sum(r.edges for r in bucketed),
        "clusters": sum(histogram.values()),
        "documents_in_clusters": sum(size * n for size, n in histogram.items()),
        "cluster_size_histogram": {str(k): histogram[k] for k in sorted(histogram)},
    }, drops)


def cluster_map(work: str) -> Dict[int, int]:
    """``{uid: cluster representative uid}`` for every document in a cluster of two or more, read
    from a run's work folder (``--keep-work``): for inspecting and testing what was merged."""
    found: Dict[int, int] = {}
    for folder in glob.glob(os.path.join(work, "clusters", "file-*")):
        base = int(os.path.basename(folder).split("-")[1]) << ROW_BITS
        for row, kind, value in load_arrays(os.path.join(folder, "*.npy"), 3).tolist():
            found[base | row] = base | row if kind == 1 else value
    return found


def default_partitions(inputs: List[str], requested: Optional[int]) -> int:
    if requested:
        return requested
    rows = sum(pq.ParquetFile(p).metadata.num_rows for p in inputs)
    # ~250k documents (3.5 M band rows, ~85 MB) per partition keeps every task's memory small.
    return int(min(256, max(2, -(-rows // 250_000))))
