"""Tokenize curated shards into Megatron indexed datasets (paper §3.2: the token shards training reads).

    python pipelines/tokenize_shards.py --input deduped/ --output tokens/ [--tokenizer qwen2|PATH|HUB_ID]
    ray job submit --working-dir . -- python pipelines/tokenize_shards.py --input /data/deduped --output /data/tokens

Every ``INPUT/<group>/<name>.parquet`` (``<group>`` is a language of a curated or deduplicated output,
a pair such as ``en-de`` of ``curate_parallel.py``'s, or ``knowledge_<lang>`` / ``synthetic_<lang>`` of
``curate_knowledge.py`` / ``synthesize.py``; ``--input`` takes several outputs at once) becomes ``OUTPUT/<group>/<name>.bin`` +
``.idx`` (int32, :mod:`training.megatron_index`): one sequence per document, its ``text`` tokenized
with the Qwen2 BPE (``tokenizers``; :mod:`common.tokenizer`) and the end-of-document token
(``<|endoftext|>``) appended. ``OUTPUT/manifest.json`` lists every shard with its group, documents
and tokens. One Ray Data task per shard.

``OUTPUT/_plan.json`` records what the output was made from (:func:`common.atomic_io.check_plan`): the
input shards (paths, sizes, modification times), the tokenizer (its file and a digest of it), the
end-of-document token and the dtype. A rerun with the same plan skips every shard whose ``.idx`` and
``.json`` exist, so an interrupted run resumes where it stopped; a rerun with another input folder, other
or rewritten input files, or another tokenizer is one error naming what changed, before any work
(use a new ``--output``, or ``--overwrite`` to empty the folder and start afresh).

The file is not called ``tokenize.py``: run as a script, its folder comes first on ``sys.path``, and
a ``pipelines/tokenize.py`` would then stand in for Python's own ``tokenize`` module in every
pipeline script (``inspect`` and ``linecache`` import it).
"""

from __future__ import annotations

import argparse
import json
import os
from dataclasses import asdict, dataclass
from typing import Dict, List, Optional, Sequence, Union

import numpy as np
import pyarrow.parquet as pq

from common.atomic_io import check_plan, finish_run, write_json
from common.config_check import ConfigError
from common.fingerprints import files_identity, tree_digest
from common.tokenizer import load_tokenizer, tokenizer_source
from operators.stats import PipelineStats
from pipelines.runtime.cli import add_overwrite_argument, add_ray_arguments, run_pipeline
from pipelines.runtime.ray_session import init_ray
from pipelines.runtime.shard_files import list_inputs
from pipelines.runtime.task_map import map_items
from training.data.megatron_index import IndexedShardWriter

EOD_TOKEN = "<|endoftext|>"
BATCH = 1000


def end_of_document_id(tokenizer, token: str) -> int:
    token_id = tokenizer.token_to_id(token)
    if token_id is None:
        raise ConfigError(f"--eod-token: {token!r} is not a token of this tokenizer")
    return token_id


@dataclass
class TokenizeItem:
    path: str           # the input shard
    relative: str       # its path under the input folder, without .parquet
    group: str          # its first folder (language or category)
    prefix: str         # OUTPUT/<relative>: .bin, .idx and .json go there
    tokenizer: Optional[str]
    eod_token: str


@dataclass
class ShardEntry:
    """A token shard, as ``manifest.json`` lists it."""
    shard: str
    group: str
    documents: int
    tokens: int


def tokenize_task(item: TokenizeItem) -> ShardEntry:
    prefix = item.prefix
    if os.path.exists(prefix + ".idx") and os.path.exists(prefix + ".json"):
        with open(prefix + ".json", encoding="utf-8") as handle:
            return ShardEntry(**json.load(handle))  # finished by an earlier run
    tokenizer = load_tokenizer(item.tokenizer)
    eod = end_of_document_id(tokenizer, item.eod_token)
    texts = pq.read_table(item.path, columns=["text"]).column("text").to_pylist()
    writer = IndexedShardWriter(prefix, np.int32)
    tokens = 0
    try:
        for lo in range(0, len(texts), BATCH):
            # encode_batch_fast: the same ids without character offsets, which are not needed here.
            batch = [t or "" for t in texts[lo:lo + BATCH]]
            flat: List[int] = []
            lengths: List[int] = []
            for encoding in tokenizer.encode_batch_fast(batch, add_special_tokens=False):
                flat.extend(encoding.ids)
                flat.append(eod)
                lengths.append(len(encoding.ids) + 1)
            writer.add_documents(np.array(flat, dtype=np.int32), lengths)
            tokens += len(flat)
        writer.finalize()
    except BaseException:
        writer.abort()
        raise
    entry = ShardEntry(item.relative, item.group, len(texts), tokens)
    write_json(prefix + ".json", asdict(entry), indent=None)
    return entry


def tokenizer_identity(spec: Optional[str], source: str) -> dict:
    """The tokenizer as a plan names it: what was asked, the file or folder it resolved to and its digest
    (a hub id is named by itself)."""
    local = os.path.exists(source)
    return {"spec": spec or "qwen2", "source": os.path.abspath(source) if local else source,
            "digest": tree_digest(source) if local else None}


def run_plan(inputs: List[str], tokenizer: Optional[str], source: str, eod_token: str) -> dict:
    """What a token output depends on: compared with ``OUTPUT/_plan.json`` before a rerun reuses a shard."""
    return {"pipeline": "tokenize_shards", "inputs": files_identity(inputs),
            "tokenizer": tokenizer_identity(tokenizer, source), "eod_token": eod_token, "dtype": "int32"}


def tokenize_shards(input_dir: Union[str, Sequence[str]], output: str, tokenizer: Optional[str] = "qwen2", eod_token: str = EOD_TOKEN,
                    in_process: bool = False, ray_address: Optional[str] = None,
                    num_cpus: Optional[int] = None, overwrite: bool = False) -> PipelineStats:
    shards: Dict[str, str] = {}    # <group>/<name>.parquet -> its path, over every input folder
    for folder in [input_dir] if isinstance(input_dir, str) else list(input_dir):
        if not os.path.isdir(folder):
            raise ConfigError(f"--input: folder not found: {folder}")
        found = list_inputs(folder)
        if not found:
            raise ConfigError(f"--input: no <group>/*.parquet shards in {folder}")
        for path in found:
            relative = os.path.relpath(path, folder)
            if relative in shards:
                raise ConfigError(f"--input: {relative} is in two inputs: {shards[relative]} and {path}")
            shards[relative] = path
    inputs = list(shards.values())
    source = tokenizer_source(tokenizer, "--tokenizer")
    end_of_document_id(load_tokenizer(tokenizer, "--tokenizer"), eod_token)
    output = os.path.abspath(output)
    check_plan(output, run_plan(inputs, tokenizer, source, eod_token), overwrite=overwrite)
    items = []
    for relative, path in shards.items():
        items.append(TokenizeItem(path, relative[: -len(".parquet")], relative.split(os.sep)[0],
                                  os.path.join(output, relative[: -len(".parquet")]), tokenizer, eod_token))
    if not in_process:
        init_ray(ray_address, num_cpus)
    entries = map_items(tokenize_task, items, not in_process, "tokenize")
    manifest = {"tokenizer": tokenizer or "qwen2", "tokenizer_file": source, "eod_token": eod_token, "dtype": "int32",
                "shards": [asdict(e) for e in entries],
                "groups": {}}
    for entry in entries:
        group = manifest["groups"].setdefault(entry.group, {"documents": 0, "tokens": 0})
        group["documents"] += entry.documents
        group["tokens"] += entry.tokens
    write_json(os.path.join(output, "manifest.json"), manifest)
    stats = PipelineStats(["tokenize"])
    documents = sum(e.documents for e in entries)
    stats.add("tokenize", documents, documents, {})
    stats.add_kept({group: counts["documents"] for group, counts in manifest["groups"].items()})
    stats.details["tokenize"] = {"tokens": sum(e.tokens for e in entries),
                                 "tokens_by_group": {g: c["tokens"] for g, c in sorted(manifest["groups"].items())}}
    finish_run(output, stats, f"Token shards of {os.path.basename(output)}")
    return stats


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True, nargs="+",
                        help="curated, deduplicated, parallel, knowledge or synthetic outputs (<group>/*.parquet); "
                             "several are tokenized into one set of shards")
    parser.add_argument("--output", required=True, help="folder for <group>/<name>.bin/.idx and manifest.json")
    parser.add_argument("--tokenizer", default="qwen2",
                        help="qwen2 (the packaged Qwen2 BPE), a tokenizer.json, or a model folder (default: %(default)s)")
    parser.add_argument("--eod-token", default=EOD_TOKEN, help="appended to every document (default: %(default)s)")
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded local Ray")
    add_overwrite_argument(parser)
    add_ray_arguments(parser)
    return parser.parse_args(argv)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    return run_pipeline("tokenize_shards", args.output, lambda: tokenize_shards(
        args.input, args.output, args.tokenizer, args.eod_token, args.in_process, args.ray_address, args.num_cpus,
        args.overwrite))

