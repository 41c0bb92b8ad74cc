"""Global exact-substring removal over curated shards (paper §3.1.1; Lee et al. 2022, RefineWeb).

Stages (Ray Data tasks, or loops in-process), each writing its results under ``WORK``:

1. **tokenize** (per input file): token ids and character offsets of every document with the
   configured tokenizer (default: the Qwen2 BPE, :mod:`common.tokenizer`).
2. **partition**: files are grouped per language, in path order, into partitions of at most
   ``max_partition_tokens`` tokens (a file is never split). One partition is one suffix array in one
   task, so this bound is the memory bound: about 20 bytes per token (ids, suffix array, LCP and the
   marks, all int32 or smaller), 1 GB for the default 50 M tokens.
3. **find** (per partition): :func:`operators.dedup.exact_substrings.duplicated_token_mask` marks every
   token inside a span of >= ``min_tokens`` tokens that occurs more than once in the partition; the
   runs become character ranges through the offsets.
4. **filter** (per input file): the ranges are cut out of the text (every occurrence, the first
   included); a document that lost text and has fewer than ``min_doc_tokens`` tokens left is
   dropped with reason ``dup:substring_short``. Kept documents get ``dup_removed_chars``.

Larger than one node: partitions are independent tasks spread over the cluster, each bounded by
``max_partition_tokens``; repeats are found within a partition (one language's documents in input
order), not across partitions. Run MinHash first (``--stage all``): it removes the near-duplicate
documents, which are the bulk of cross-partition repeats, and partitions can be made as large as a
worker's memory allows.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Dict, List, Optional

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.atomic_io import save_npz
from common.config_check import ConfigError, PathOrName
from common.tokenizer import load_tokenizer, tokenizer_source
from operators.dedup.exact_substrings import character_ranges, duplicated_token_mask, remove_ranges, token_runs
from operators.drop_samples import DropSampling, DropSamples, candidates, payload
from pipelines.runtime.shard_files import ShardTask, StageFiles, write_shard
from pipelines.runtime.task_map import StageChain

REASON = "dup:substring_short"
TRIMMED = "substring:trimmed"
REMOVED_COLUMN = "dup_removed_chars"
TOKENIZE_BATCH = 256


@dataclass
class SubstringConfig:
    # Tokenizer: "qwen2" (the packaged Qwen2 BPE), a tokenizer.json, or a folder (see common/tokenizer.py).
    tokenizer: Optional[PathOrName] = "qwen2"
    # Shortest repeated span removed, in tokens (Lee et al. and RefineWeb: 50).
    min_tokens: int = 50
    # A document cut below this many tokens is dropped (datatrove's ESRangeRemover: 50 words).
    min_doc_tokens: int = 50
    # Most tokens in one suffix array (one task's memory: ~20 bytes per token).
    max_partition_tokens: int = 50_000_000

    def validate(self) -> None:
        if self.min_tokens < 2:
            raise ConfigError("min_tokens: must be at least 2")
        if self.min_doc_tokens < 0:
            raise ConfigError("min_doc_tokens: must not be negative")
        if self.max_partition_tokens < self.min_tokens:
            raise ConfigError("max_partition_tokens: must be at least min_tokens")

    def check_files(self, key: str = "substring.tokenizer") -> None:
        tokenizer_source(self.tokenizer, key)


@dataclass
class SubstringRun(StageFiles):
    config: SubstringConfig
    drops: DropSampling = field(default_factory=lambda: DropSampling(per_key=0))


def _tokens_path(work: str, file_index: int) -> str:
    return os.path.join(work, "tokens", f"file-{file_index:06d}.npz")


@dataclass
class TokenizeItem:
    file: int
    path: str
    work: str
    tokenizer: Optional[str]


@dataclass
class TokenizeResult:
    docs: int
    tokens: int
    vocabulary: int


def tokenize_task(item: TokenizeItem) -> TokenizeResult:
    tokenizer = load_tokenizer(item.tokenizer)
    texts = pq.read_table(item.path, columns=["text"]).column("text").to_pylist()
    ids: List[np.ndarray] = []
    offsets: List[np.ndarray] = []
    counts = np.zeros(len(texts), dtype=np.int64)
    for lo in range(0, len(texts), TOKENIZE_BATCH):
        for k, encoding in enumerate(tokenizer.encode_batch([t or "" for t in texts[lo:lo + TOKENIZE_BATCH]],
                                                            add_special_tokens=False)):
            counts[lo + k] = len(encoding.ids)
            ids.append(np.array(encoding.ids, dtype=np.int32))
            offsets.append(np.array(encoding.offsets, dtype=np.int32).reshape(-1, 2))
    save_npz(_tokens_path(item.work, item.file), counts=counts,
              ids=np.concatenate(ids) if ids else np.empty(0, dtype=np.int32),
              offsets=np.concatenate(offsets) if offsets else np.empty((0, 2), dtype=np.int32))
    return TokenizeResult(len(texts), int(counts.sum()), tokenizer.get_vocab_size(with_added_tokens=True))


def plan_partitions(run: SubstringRun, tokens_per_file: List[int]) -> List[List[int]]:
    """Consecutive files of one language, up to max_partition_tokens per partition."""
    partitions: List[List[int]] = []
    current: List[int] = []
    current_lang, current_tokens = None, 0
    for index, tokens in enumerate(tokens_per_file):
        lang = run.relative(index).split(os.sep)[0]
        if current and (lang != current_lang or current_tokens + tokens > run.config.max_partition_tokens):
            partitions.append(current)
            current, current_tokens = [], 0
        current.append(index)
        current_lang = lang
        current_tokens += tokens
    if current:
        partitions.append(current)
    return partitions


@dataclass
class FindItem:
    files: List[int]        # one partition: consecutive files of one language
    work: str
    min_tokens: int
    separator_base: int     # the vocabulary size: separators between documents are ids above it


@dataclass
class FindResult:
    documents: int
    tokens: int
    removed_tokens: int


def find_task(item: FindItem) -> FindResult:
    documents, offsets, owners = [], [], []
    for file_index in item.files:
        with np.load(_tokens_path(item.work, file_index)) as data:
            counts, ids, file_offsets = data["counts"], data["ids"], data["offsets"]
        bounds = np.r_[0, np.cumsum(counts)]
        for row in range(len(counts)):
            documents.append(ids[bounds[row]:bounds[row + 1]])
            offsets.append(file_offsets[bounds[row]:bounds[row + 1]])
            owners.append((file_index, row))
    masks = duplicated_token_mask(documents, item.min_tokens, item.separator_base)
    per_file: Dict[int, list] = {f: [] for f in item.files}
    per_doc: Dict[int, list] = {f: [] for f in item.files}
    removed_tokens = 0
    for (file_index, row), mask, doc_offsets in zip(owners, masks, offsets):
        if not mask.any():
            continue
        removed_tokens += int(mask.sum())
        per_doc[file_index].append((row, int(mask.sum()), len(mask)))
        per_file[file_index].extend((row, start, end) for start, end in character_ranges(token_runs(mask), doc_offsets))
    for file_index in item.files:
        save_npz(os.path.join(item.work, "ranges", f"file-{file_index:06d}.npz"),
                  ranges=np.array(per_file[file_index], dtype=np.int64).reshape(-1, 3),
                  documents=np.array(per_doc[file_index], dtype=np.int64).reshape(-1, 3))
    return FindResult(len(documents), int(sum(len(d) for d in documents)), removed_tokens)


@dataclass
class FilterItem(ShardTask):
    min_doc_tokens: int
    per_key: int = 0        # the sample of dropped documents (DropSampling)
    text_chars: int = 0


@dataclass
class FilterResult:
    by_language: Dict[str, List[int]]   # lang: [in, out, trimmed and kept, characters cut]
    drops: dict = field(default_factory=dict)   # sampled dropped documents, with their text before the cut


def filter_task(item: FilterItem) -> FilterResult:
    table = original = pq.read_table(item.path)
    with np.load(os.path.join(item.work, "ranges", f"file-{item.file:06d}.npz")) as data:
        ranges, touched = data["ranges"], data["documents"]
    texts = table.column("text").to_pylist()
    langs = table.column("lang").to_pylist()
    removed_chars = np.zeros(len(texts), dtype=np.int64)
    keep = np.ones(len(texts), dtype=bool)
    by_row: Dict[int, list] = {}
    for row, start, end in ranges.tolist():
        by_row.setdefault(row, []).append((start, end))
    for row, doc_ranges in by_row.items():
        new_text = remove_ranges(texts[row], sorted(doc_ranges))
        removed_chars[row] = len(texts[row]) - len(new_text)
        texts[row] = new_text
    for row, removed, total in touched.tolist():
        if total - removed < item.min_doc_tokens:
            keep[row] = False
    table = table.set_column(table.column_names.index("text"), "text", pa.array(texts, type=pa.string()))
    if REMOVED_COLUMN in table.column_names:
        table = table.drop_columns([REMOVED_COLUMN])
    table = table.append_column(REMOVED_COLUMN, pa.array(removed_chars.astype(np.int32)))
    kept = table.filter(pa.array(keep))
    write_shard(kept, item.output_root, item.relative)
    counts: Dict[str, list] = {}
    trimmed_rows = {row for row, _, _ in touched.tolist()}
    for row, lang in enumerate(langs):
        c = counts.setdefault(lang, [0, 0, 0, 0])  # in, out, trimmed and kept, characters cut
        c[0] += 1
        c[1] += int(keep[row])
        c[2] += int(keep[row] and row in trimmed_rows)
        c[3] += int(removed_chars[row])
    sampling = DropSampling(item.per_key, item.text_chars)
    drops = []
    if sampling.enabled and not keep.all():
        # The text as it was: what the cut left is too short to judge by.
        if REMOVED_COLUMN in original.column_names:
            original = original.drop_columns([REMOVED_COLUMN])
        original = original.append_column(REMOVED_COLUMN, pa.array(removed_chars.astype(np.int32)))
        drops = candidates("substring", original, [None if k else REASON for k in keep.tolist()], "id", sampling)
    return FilterResult(counts, payload(drops, sampling.per_key))


@dataclass
class SubstringOutcome:
    """What stats.json gets: per language [in, out, trimmed and kept, characters cut], and the details; and the
    sample of dropped documents (``{"per_key", "rows"}``)."""
    by_language: Dict[str, List[int]]
    details: dict
    drops: dict = field(default_factory=dict)


def run_substring(run: SubstringRun, chain: StageChain) -> SubstringOutcome:
    config = run.config
    files = list(enumerate(run.inputs))
    tokenized = chain.run(run.work, "tokenize", tokenize_task,
                          [TokenizeItem(i, p, run.work, config.tokenizer) for i, p in files], TokenizeResult)
    partitions = plan_partitions(run, [r.tokens for r in tokenized])
    separator_base = max(r.vocabulary for r in tokenized)
    found = chain.run(run.work, "find", find_task,
                      [FindItem(p, run.work, config.min_tokens, separator_base) for p in partitions], FindResult)
    filtered = chain.run(run.work, "filter", filter_task,
                         [FilterItem(**asdict(task), min_doc_tokens=config.min_doc_tokens, per_key=run.drops.per_key,
                                     text_chars=run.drops.text_chars) for task in run.shard_tasks()],
                         FilterResult)
    by_language: Dict[str, list] = {}
    sample = DropSamples(run.drops.per_key)
    for result in filtered:
        for lang, counts in result.by_language.items():
            total = by_language.setdefault(lang, [0, 0, 0, 0])
            for k in range(4):
                total[k] += counts[k]
        sample.add_payload(result.drops)
    removed_by_language = Counter({lang: c[3] for lang, c in by_language.items()})
    return SubstringOutcome(by_language, {
        "tokenizer": config.tokenizer, "min_tokens": config.min_tokens, "min_doc_tokens": config.min_doc_tokens,
        "partitions": len(partitions), "largest_partition_tokens": max((r.tokens for r in found), default=0),
        "tokens": sum(r.tokens for r in found),
        "removed_tokens": sum(r.removed_tokens for r in found),
        "removed_characters": sum(removed_by_language.values()),
        "removed_characters_by_language": dict(sorted(removed_by_language.items())),
        "first_occurrence_kept": False,
    }, sample.payload())
