"""MinHash dedup speed and memory: our signatures against datasketch and datatrove in one run, and the
clustering stage's peak memory on a million signature rows with planted clusters.

    .venv/bin/python -m bench.minhash                 # ~6,400 documents x 2, 1M rows: about 5 min
    .venv/bin/python -m bench.minhash --repeat 1 --cluster-rows 200000 --skip-datatrove

Documents: NTREX-128 news articles and Leipzig web-sentence documents of all 29 languages
(``pipelines/reference_documents.py``), repeated ``--repeat`` times.

(a) ours: :func:`operators.dedup.minhash.signatures` (shingling included) over batches of 1,000 documents,
    112 permutations: through the compiled kernel (native/minhash_kernel) and through the Python/numpy path,
    and the kernel path's parts per document (normalization, ICU words, joining the words, the kernel's
    hashing and permutations).
(b) datasketch 2.0.0, the same shingles (our shingling is timed with it) and 112 permutations, used
    as its docs show: one ``MinHash(num_perm=112)`` per document and ``update_batch`` with the UTF-8
    shingles; once with its default (``affine32`` scheme, SHA-1 hash) and once configured like ours
    (``legacy`` scheme, our permutations and xxh3 hash: bit-identical signatures).
(c) datatrove 0.10.1 (``bench/minhash_datatrove_run.py`` in ``bench/.venv-datatrove``):
    ``MinhashDedupSignature`` with its default config and its own word tokenizer per language.

docs/s per core = documents / CPU seconds of the timed loop (``time.process_time``, one thread).

(d) clustering: ``--cluster-rows`` random signatures (default 1,000,000); 10 % of them are planted
    near-duplicates of others (about three copies per source, each hash value kept with probability 0.85, i.e.
    Jaccard ~0.85). Their band rows are written as the signature stage writes them, then the bucket,
    connected-components and cluster stages of ``pipelines/global_dedup/minhash_dedup.py`` run in a child process,
    in-process (no Ray), with the default partition count. Reported: the child's own peak RSS, its wall
    time, and how many planted documents ended in their base's cluster.

Results go to ``bench/results/minhash-<timestamp>.json``.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List, Sequence, Tuple

BENCH_DIR = Path(__file__).resolve().parent
ROOT = BENCH_DIR.parent

import numpy as np
import xxhash

from bench.report import save_report
from common.languages import FLORES_CODES, TARGET_LANGUAGES
from operators.dedup.minhash import (
    MinHashConfig,
    band_keys,
    permutation_parameters,
    shingle_hash,
    shingles,
    signatures,
    signatures_from_hashes,
)

DEFAULT_DATA = Path(os.environ.get("MARCO_SHARED_DATA", ROOT.parent / "shared" / "data"))
TARGET_FROM_TEXT_RATIO = 2.0   # ours from text against datasketch update_batch from text (issue 22)
TARGET_CLUSTER_GB = 2.0

Doc = Tuple[str, str]


def load_documents(data: Path, repeat: int) -> List[Doc]:
    from pipelines.tools.reference_documents import documents

    docs = [(text, lang) for lang in TARGET_LANGUAGES for corpus in ("ntrex", "leipzig")
            for text in documents(corpus, str(data), lang)]
    return docs * repeat


def timed(function) -> Tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    function()
    return time.process_time() - cpu, time.perf_counter() - wall


def _rate(docs: int, cpu: float, wall: float, **extra) -> dict:
    return {"docs": docs, "cpu_s": round(cpu, 3), "wall_s": round(wall, 3), "docs_per_core_s": docs / cpu, **extra}


def measure_ours(docs: Sequence[Doc], compiled: bool = True) -> dict:
    """Text -> signature, shingling included: what the pipeline's signature stage does per document."""
    config = MinHashConfig()
    signatures([docs[0][0]], [docs[0][1]], config, compiled=compiled)  # warm-up: ICU iterators, permutations

    def run():
        for lo in range(0, len(docs), 1000):
            batch = docs[lo:lo + 1000]
            signatures([t for t, _ in batch], [l for _, l in batch], config, compiled=compiled)

    return _rate(len(docs), *timed(run), path="compiled kernel" if compiled else "python and numpy")


def measure_parts(docs: Sequence[Doc]) -> dict:
    """The compiled path's parts, CPU microseconds per document: normalization, ICU words, joining the words
    into one UTF-8 buffer, and the kernel (XXH3 of every shingle span, 112 permutations, minima)."""
    from common.lm_text import normalize
    from common.words import words
    from operators.dedup.minhash import COMPILED_KERNEL

    config = MinHashConfig()
    parts: dict = {}
    normalized: List[str] = []
    tokens: List[List[str]] = []
    joined: List[bytes] = []
    parts["normalize"] = timed(lambda: normalized.extend(normalize(t, keep_digits=False) for t, _ in docs))[0]
    parts["icu_words"] = timed(lambda: tokens.extend(words(n, l) for n, (_, l) in zip(normalized, docs)))[0]
    parts["join_words"] = timed(lambda: joined.extend(" ".join(t).encode("utf-8") for t in tokens))[0]
    a, b = permutation_parameters(config.permutations, config.seed)

    def kernel():
        for lo in range(0, len(joined), 1000):
            batch = joined[lo:lo + 1000]
            offsets = np.concatenate(([0], np.cumsum([len(x) for x in batch]))).astype(np.int64)
            out = np.full((len(batch), config.permutations), 2**32 - 1, dtype=np.uint32)
            COMPILED_KERNEL.signatures(b"".join(batch), offsets, config.ngram, a, b, out,
                                       np.zeros(len(batch), dtype=np.int64))

    parts["kernel"] = timed(kernel)[0] if COMPILED_KERNEL is not None else float("nan")
    return {name: round(cpu / len(docs) * 1e6, 1) for name, cpu in parts.items()}


def measure_ours_given_shingles(grams: Sequence[List[str]]) -> dict:
    """Shingle strings -> signature: hashing (xxh3) and the vectorized permutations, batches of 1,000."""
    config = MinHashConfig()

    def run():
        for lo in range(0, len(grams), 1000):
            batch = grams[lo:lo + 1000]
            counts = np.array([len(g) for g in batch], dtype=np.int64)
            values = np.fromiter((xxhash.xxh3_64_intdigest(s.encode()) for g in batch for s in g), dtype=np.uint64,
                                 count=int(counts.sum()))
            signatures_from_hashes(values, counts, config)

    return _rate(len(grams), *timed(run))


def measure_shingling(docs: Sequence[Doc]) -> Tuple[dict, List[List[str]]]:
    """Text -> distinct shingle strings (normalization, ICU words, 5-grams): the part every library
    needs before MinHash, done once here and given to each library below."""
    out: List[List[str]] = []
    cpu, wall = timed(lambda: out.extend(shingles(t, l) for t, l in docs))
    return _rate(len(docs), cpu, wall), out


def measure_datasketch(grams: Sequence[List[str]], usage: str) -> dict:
    """datasketch 2.0.0 on the same shingle strings, 112 permutations, one MinHash per document."""
    from datasketch import MinHash

    a, b = permutation_parameters(112, 1)

    def sketch(doc_grams: List[str]):
        if usage == "like_ours":
            m = MinHash(num_perm=112, hashfunc=shingle_hash, permutations=(a, b), scheme="legacy")
            m.update_batch(doc_grams)
        elif usage == "update_batch":
            m = MinHash(num_perm=112)
            m.update_batch([g.encode("utf-8") for g in doc_grams])
        else:  # the README's loop
            m = MinHash(num_perm=112)
            for g in doc_grams:
                m.update(g.encode("utf-8"))
        return m.hashvalues

    sketch(grams[0])
    return _rate(len(grams), *timed(lambda: [sketch(g) for g in grams]), usage=DATASKETCH_USAGES[usage])


DATASKETCH_USAGES = {
    "update_batch": "MinHash(num_perm=112) (affine32 scheme, sha1) + update_batch",
    "update_loop": "MinHash(num_perm=112) + update() per shingle (the README's example)",
    "like_ours": "legacy scheme with our permutations and xxh3 hash (bit-identical signatures) + update_batch",
}


def measure_datatrove(docs: Sequence[Doc], workdir: str) -> dict:
    from bench import datatrove_anchor

    python = datatrove_anchor.ensure_venv(log=lambda msg: print(msg, flush=True))
    path = os.path.join(workdir, "docs.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        for text, lang in docs:
            handle.write(json.dumps({"text": text, "lang": lang, "code": FLORES_CODES[lang]}, ensure_ascii=False) + "\n")
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1"})
    proc = subprocess.run([str(python), str(BENCH_DIR / "minhash_datatrove_run.py"), "--input", path],
                          capture_output=True, text=True, env=env, cwd=workdir, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"minhash_datatrove_run.py failed:\n{proc.stderr[-2000:]}")
    result = json.loads([line for line in proc.stdout.splitlines() if line.startswith("{")][-1])
    result["docs_per_core_s"] = result["docs"] / result["cpu_s"]
    return result


# ---------------------------------------------------------------------------------------------------
# (d) clustering memory

def planted_signatures(rows: int, seed: int = 0) -> Tuple[np.ndarray, np.ndarray]:
    """(uint32 signatures [rows x 112], base row of each row: itself unless it is a planted copy)."""
    rng = np.random.default_rng(seed)
    sigs = rng.integers(0, 2**32, size=(rows, 112), dtype=np.uint32)
    base = np.arange(rows)
    copies = rows // 10
    sources = rng.choice(np.arange(copies, rows), size=copies // 3, replace=False)  # ~3 copies per source
    targets = np.arange(copies)
    owners = sources[rng.integers(0, len(sources), size=copies)]
    keep = rng.random((copies, 112)) < 0.85
    sigs[targets] = np.where(keep, sigs[owners], sigs[targets])
    base[targets] = owners
    return sigs, base


def write_band_rows(sigs: np.ndarray, work: str, partitions: int, files: int) -> None:
    from common.atomic_io import save_npy
    from pipelines.global_dedup.minhash_dedup import ROW_BITS

    config = MinHashConfig()
    per_file = -(-len(sigs) // files)
    for f in range(files):
        chunk = sigs[f * per_file:(f + 1) * per_file]
        keys = band_keys(chunk, config.bands, config.rows)
        uids = (np.uint64(f) << np.uint64(ROW_BITS)) | np.arange(len(chunk), dtype=np.uint64)
        rows = np.stack([np.broadcast_to(np.arange(config.bands, dtype=np.uint64), keys.shape).ravel(),
                         keys.ravel(), np.repeat(uids, config.bands)], axis=1)
        targets = rows[:, 1] % np.uint64(partitions)
        for p in range(partitions):
            save_npy(os.path.join(work, "bands", f"part-{p:04d}", f"file-{f:06d}.npy"), rows[targets == p])


def cluster_child(work: str, partitions: int) -> int:
    """The bucket, components and cluster stages, in-process, as the pipeline runs them."""
    from pipelines.global_dedup.connected_components import connected_components
    from pipelines.global_dedup.minhash_dedup import PartitionItem, bucket_task, cluster_task

    started = time.perf_counter()
    edges = sum(bucket_task(PartitionItem(p, partitions, work)).edges for p in range(partitions))
    last, rounds = connected_components(os.path.join(work, "graph"), partitions, use_ray=False)
    for p in range(partitions):
        cluster_task(PartitionItem(p, partitions, work, last))
    print(json.dumps({"edges": edges, "rounds": rounds, "wall_s": round(time.perf_counter() - started, 2),
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
    return 0


def measure_clustering(rows: int, workdir: str) -> dict:
    from pipelines.global_dedup.minhash_dedup import ROW_BITS, cluster_map

    sigs, base = planted_signatures(rows)
    partitions = int(min(256, max(2, -(-rows // 250_000))))  # the pipeline's default_partitions
    files = max(1, rows // 10_000)
    work = os.path.join(workdir, "cluster-work")
    write_band_rows(sigs, work, partitions, files)
    del sigs
    proc = subprocess.run([sys.executable, "-m", "bench.minhash", "--cluster-child", work, "--partitions", str(partitions)],
                          capture_output=True, text=True, timeout=3600)
    if proc.returncode != 0:
        raise RuntimeError(f"clustering child failed:\n{proc.stderr[-2000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    peak_kb = result.pop("peak_rss_kb")
    per_file = -(-rows // files)
    clusters = cluster_map(work)
    index = {(uid >> ROW_BITS) * per_file + (uid & ((1 << ROW_BITS) - 1)): rep for uid, rep in clusters.items()}
    planted = np.flatnonzero(base != np.arange(rows))
    found = sum(1 for r in planted.tolist() if r in index and index.get(int(base[r])) == index[r])
    result.update({"rows": rows, "partitions": partitions, "files": files, "planted_copies": int(len(planted)),
                   "planted_found": found, "peak_rss_gb": round(peak_kb / 2**20, 3)})
    return result


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--cluster-rows", type=int, default=1_000_000)
    parser.add_argument("--skip-datatrove", action="store_true")
    parser.add_argument("--cluster-child", help=argparse.SUPPRESS)
    parser.add_argument("--partitions", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.cluster_child:
        return cluster_child(args.cluster_child, args.partitions)

    docs = load_documents(Path(args.data), args.repeat)
    print(f"{len(docs)} documents, 29 languages", flush=True)
    report = {"started": _dt.datetime.now().isoformat(timespec="seconds"), "docs": len(docs)}
    with tempfile.TemporaryDirectory() as workdir:
        report["ours"] = measure_ours(docs)
        print(f"ours: {report['ours']['docs_per_core_s']:.0f} docs/s/core", flush=True)
        report["ours_python_path"] = measure_ours(docs, compiled=False)
        report["parts_us_per_doc"] = measure_parts(docs)
        report["shingling"], grams = measure_shingling(docs)
        report["ours_given_shingles"] = measure_ours_given_shingles(grams)
        for usage in DATASKETCH_USAGES:
            report[f"datasketch_{usage}"] = measure_datasketch(grams, usage)
        if not args.skip_datatrove:
            try:
                report["datatrove"] = measure_datatrove(docs, workdir)
            except Exception as exc:  # the anchor venv may not build offline: say so and go on
                report["datatrove_error"] = str(exc)[:500]
        # The shared machine drifts: ours is measured on both sides of the others and averaged.
        report["ours_again"] = measure_ours(docs)
        report["ours_given_shingles_again"] = measure_ours_given_shingles(grams)
        ours = (report["ours"]["docs_per_core_s"] + report["ours_again"]["docs_per_core_s"]) / 2
        ours_given = (report["ours_given_shingles"]["docs_per_core_s"]
                      + report["ours_given_shingles_again"]["docs_per_core_s"]) / 2
        shingling_s_per_doc = 1.0 / report["shingling"]["docs_per_core_s"]
        ratios = {}
        for usage in DATASKETCH_USAGES:
            rate = report[f"datasketch_{usage}"]["docs_per_core_s"]
            ratios[f"datasketch_{usage}:given_shingles"] = ours_given / rate
            # Text to signature: datasketch's time plus the shingling it needs.
            ratios[f"datasketch_{usage}:from_text"] = ours * (1.0 / rate + shingling_s_per_doc)
        if "datatrove" in report:
            ratios["datatrove:from_text"] = ours / report["datatrove"]["docs_per_core_s"]
        report["ratios"] = {k: round(v, 2) for k, v in ratios.items()}
        report["clustering"] = measure_clustering(args.cluster_rows, workdir)

    print(f"\nsignatures, docs/s per core: ours from text {ours:.0f}, ours from shingle strings {ours_given:.0f}; "
          f"shingling alone {report['shingling']['docs_per_core_s']:.0f}")
    for name, ratio in ratios.items():
        print(f"  ours vs {name}: {ratio:.1f}x")
    print(f"  (target: from text >= {TARGET_FROM_TEXT_RATIO:.0f}x datasketch update_batch)")
    print(f"  ours through the Python/numpy path: {report['ours_python_path']['docs_per_core_s']:.0f} docs/s per core; "
          f"compiled path's parts, us per document: {report['parts_us_per_doc']}")
    if "datatrove_error" in report:
        print(f"  datatrove: not measured ({report['datatrove_error'][:200]})")
    c = report["clustering"]
    print(f"clustering {c['rows']} rows ({c['partitions']} partitions, {c['edges']} candidate edges, "
          f"{c['rounds']} rounds): {c['wall_s']} s, peak RSS {c['peak_rss_gb']} GB (target <= {TARGET_CLUSTER_GB} GB); "
          f"planted copies found in their base's cluster: {c['planted_found']}/{c['planted_copies']}")
    save_report("minhash", report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
