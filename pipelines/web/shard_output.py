"""Per-language Parquet shards, written atomically per chunk of input files, with resumption.

Layout of an output directory::

    OUT/<lang>/<chunk>-<nnnn>.parquet      curated documents (id, url, source, warc_date, text, lang, lang_score)
    OUT/_chunks/<chunk>/stats.json         that chunk's statistics
    OUT/_chunks/<chunk>/drops.parquet      its sampled dropped documents (operators/drop_samples.py)
    OUT/_chunks/<chunk>/files.json         its shards' checksums, taken when they were written (common/checksums.py)
    OUT/_chunks/<chunk>/_SUCCESS           written last: the chunk is complete
    OUT/_plan.json                         inputs, chunking and settings (a rerun must have the same)
    OUT/stats.json                         all chunks merged
    OUT/_drops/drops.parquet               all chunks' dropped-document samples merged
    OUT/_tmp/<chunk>/...                   in-progress parts, renamed into place on commit

Writers put parts under ``_tmp``; :func:`commit_chunk` renames them into ``OUT/<lang>/`` and then
writes the chunk's stats and ``_SUCCESS``. A chunk interrupted anywhere before ``_SUCCESS`` is wiped
(:func:`reset_chunk`) and redone by the next run, so files are never half-written or doubled. A committed
chunk whose shards no longer match their checksums (:meth:`ShardOutput.damage`) is redone too.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from typing import Dict, List, Sequence

import pyarrow as pa
import pyarrow.compute as pc

from common.atomic_io import publish, write_json, write_parquet, write_text
from common.checksums import file_checksum, problems
from operators.stats import PipelineStats

DROPS_FILE = "drops.parquet"   # a chunk's sampled dropped documents, beside its stats.json

MANIFEST_SCHEMA = pa.schema([("lang", pa.string()), ("path", pa.string()), ("rows", pa.int64()),
                             ("checksum", pa.string())])
FILES = "files.json"   # a committed chunk's {shard path relative to OUT: checksum}


@dataclass(frozen=True)
class Chunk:
    index: int
    files: tuple

    @property
    def name(self) -> str:
        digest = hashlib.sha1("\n".join(self.files).encode()).hexdigest()[:10]
        return f"chunk-{self.index:05d}-{digest}"


def plan_chunks(locations: Sequence[str], chunk_files: int) -> List[Chunk]:
    return [
        Chunk(i // chunk_files, tuple(locations[i : i + chunk_files]))
        for i in range(0, len(locations), chunk_files)
    ]


class ShardOutput:
    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)

    def chunk_dir(self, chunk: Chunk) -> str:
        return os.path.join(self.root, "_chunks", chunk.name)

    def tmp_dir(self, chunk: Chunk) -> str:
        return os.path.join(self.root, "_tmp", chunk.name)

    def is_done(self, chunk: Chunk) -> bool:
        return os.path.exists(os.path.join(self.chunk_dir(chunk), "_SUCCESS"))

    def reset_chunk(self, chunk: Chunk, best_effort: bool = False) -> None:
        """Remove every trace of an unfinished chunk (``best_effort``: as much as the storage lets, after a
        failure; the next run's reset removes the rest)."""
        shutil.rmtree(self.tmp_dir(chunk), ignore_errors=True)
        shutil.rmtree(self.chunk_dir(chunk), ignore_errors=True)
        if os.path.isdir(self.root):
            for lang in os.listdir(self.root):
                lang_dir = os.path.join(self.root, lang)
                if lang.startswith("_") or not os.path.isdir(lang_dir):
                    continue
                for name in os.listdir(lang_dir):
                    if name.startswith(chunk.name + "-"):
                        try:
                            os.remove(os.path.join(lang_dir, name))
                        except OSError:
                            if not best_effort:
                                raise

    def commit_chunk(self, chunk: Chunk, manifest: pa.Table, stats: PipelineStats) -> None:
        """Move the chunk's parts into place, then write its stats and _SUCCESS."""
        kept: Counter = Counter()
        numbers: Dict[str, int] = Counter()
        files: Dict[str, str] = {}
        rows = sorted(manifest.to_pylist(), key=lambda r: (r["lang"], r["path"]))
        for row in rows:
            final = os.path.join(self.root, row["lang"], f"{chunk.name}-{numbers[row['lang']]:04d}.parquet")
            numbers[row["lang"]] += 1
            publish(row["path"], final)
            kept[row["lang"]] += row["rows"]
            files[os.path.relpath(final, self.root)] = row["checksum"]
        stats.add_kept(kept)
        write_json(os.path.join(self.chunk_dir(chunk), FILES), files)
        write_text(os.path.join(self.chunk_dir(chunk), "stats.json"), stats.to_json())
        if stats.drop_samples:
            write_parquet(stats.drop_samples.to_table(), os.path.join(self.chunk_dir(chunk), DROPS_FILE))
        write_text(os.path.join(self.chunk_dir(chunk), "_SUCCESS"), "")
        shutil.rmtree(self.tmp_dir(chunk), ignore_errors=True)

    def damage(self, chunk: Chunk) -> List[str]:
        """What no longer matches in a committed chunk: shards missing, cut short or changed since they were
        written ([] for a sound chunk, or one committed before checksums were kept)."""
        path = os.path.join(self.chunk_dir(chunk), FILES)
        if not os.path.exists(path):
            return []
        with open(path, encoding="utf-8") as handle:
            return problems(json.load(handle), self.root)

    def remove_tmp(self) -> None:
        """Remove ``_tmp`` once every chunk is committed (it is empty then)."""
        shutil.rmtree(os.path.join(self.root, "_tmp"), ignore_errors=True)

    def chunk_stats(self, chunk: Chunk) -> PipelineStats:
        """A committed chunk's statistics, with its sampled dropped documents."""
        with open(os.path.join(self.chunk_dir(chunk), "stats.json"), encoding="utf-8") as handle:
            stats = PipelineStats.from_dict(json.load(handle))
        drops = os.path.join(self.chunk_dir(chunk), DROPS_FILE)
        if os.path.exists(drops):
            import pyarrow.parquet as pq

            from operators.drop_samples import DropSamples

            stats.drop_samples = DropSamples.from_table(pq.read_table(drops))
        return stats


def write_parts(batch: pa.Table, tmp_dir: str) -> pa.Table:
    """Write one part per language of ``batch`` under ``tmp_dir``; return the manifest rows."""
    out = []
    if batch.num_rows == 0:
        return MANIFEST_SCHEMA.empty_table()
    langs = batch.column("lang")
    for lang in sorted(pc.unique(langs).to_pylist()):
        part = batch.filter(pc.equal(langs, lang))
        path = os.path.join(tmp_dir, lang, f"{uuid.uuid4().hex}.parquet")
        write_parquet(part, path)
        # Taken where the part was written, from the page cache: the driver never reads the shards.
        out.append({"lang": lang, "path": path, "rows": part.num_rows, "checksum": file_checksum(path)})
    return pa.Table.from_pylist(out, schema=MANIFEST_SCHEMA)


def concat_manifests(manifests: Sequence[pa.Table]) -> pa.Table:
    manifests = [m for m in manifests if m.num_rows]
    if not manifests:
        return MANIFEST_SCHEMA.empty_table()
    return pa.concat_tables(manifests)
