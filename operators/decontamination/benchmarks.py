"""Benchmark sets read from local files: what decontamination looks for.

One ``benchmarks:`` entry per set::

    - name: flores            # the reason is contaminated:<name>
      path: data/flores200_dev
      format: flores          # a folder of <flores_code>.<split> files, one sentence per line, lines aligned
    - name: belebele
      path: data/belebele     # a file, or a folder of them (every file of the format, sorted)
      format: jsonl           # jsonl | parquet | tsv  (plain or .gz/.zst/.xz/.bz2 for jsonl and tsv)
      fields: [flores_passage, question, mc_answer1, mc_answer2, mc_answer3, mc_answer4]
      lang_field: dialect     # per-row language (a code such as en, or a FLORES code such as eng_Latn)
      id_field: link          # rows with the same id are versions of one item in different languages
    - name: mmmlu-de
      path: data/mmmlu/mmlu_DE-DE.csv.tsv
      format: tsv
      fields: [Question, A, B, C, D]
      lang: de                # the language of every row

An item is one row (one line for FLORES); its text is the mapped fields, each a segment of its own (a field
holding a list gives one segment per element), so an n-gram never spans two fields. Items with the same id
in different languages are the parallel versions of one item: FLORES lines of the same number, Belebele rows
of the same ``link`` and question number — all of them are looked for. ``lang`` on a FLORES folder keeps
only those languages (comma-separated ISO codes); without it every file of the split is read.
"""

from __future__ import annotations

import csv
import glob
import io
import json
import os
from dataclasses import dataclass, field
from typing import Iterator, List, Optional

from common.compressed_files import open_decompressed, strip_compression
from common.config_check import ConfigError, ConfigPath
from common.languages import FLORES_CODES

FORMATS = ("flores", "jsonl", "parquet", "tsv")
_ISO_OF_FLORES = {code: iso for iso, code in FLORES_CODES.items()}


def iso_language(code: Optional[str]) -> Optional[str]:
    """``eng_Latn`` → ``en``; a code we have no ISO name for is kept as it is (``ast_Latn``); ``zh-tw`` → ``zh``."""
    if code is None:
        return None
    code = str(code).strip()
    if code in _ISO_OF_FLORES:
        return _ISO_OF_FLORES[code]
    base = code.replace("_", "-").split("-")[0].lower()
    return base if len(base) == 2 else code


@dataclass
class BenchmarkConfig:
    name: str = ""
    path: ConfigPath = ""
    format: str = "jsonl"
    # Columns that make an item's text (not for flores).
    fields: List[str] = field(default_factory=list)
    # The language of every row; for flores, the languages to keep (comma-separated), default all.
    lang: Optional[str] = None
    # Per-row language column (instead of lang).
    lang_field: Optional[str] = None
    # Rows with equal values are one item in several languages (default: each row its own item).
    id_field: Optional[str] = None
    # FLORES split suffix: dev, devtest; None = the only split in the folder.
    split: Optional[str] = None

    def validate(self) -> None:
        if not self.name or any(c in self.name for c in ":, \t"):
            raise ConfigError(f"name: a short name without ':', ',' or spaces, got {self.name!r}")
        if self.format not in FORMATS:
            raise ConfigError(f"format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if self.format != "flores" and not self.fields:
            raise ConfigError(f"fields: benchmark {self.name} needs the columns that make an item's text")
        if self.format != "flores" and not (self.lang or self.lang_field):
            raise ConfigError(f"lang: benchmark {self.name} needs lang (one language) or lang_field (per row)")

    def check_files(self) -> None:
        if not self.path or not os.path.exists(self.path):
            raise ConfigError(f"path: benchmark {self.name}: {self.path or '(empty)'} not found")
        if not self.files():
            raise ConfigError(f"path: benchmark {self.name}: no {self.format} files in {self.path}")

    def files(self) -> List[str]:
        if os.path.isfile(self.path):
            return [self.path]
        if self.format == "flores":
            return flores_files(self.path, self.split, self.languages())
        suffix = {"jsonl": (".jsonl", ".json"), "parquet": (".parquet",), "tsv": (".tsv", ".csv")}[self.format]
        return sorted(p for p in glob.glob(os.path.join(self.path, "**", "*"), recursive=True)
                      if os.path.isfile(p) and strip_compression(p).endswith(suffix))

    def languages(self) -> Optional[List[str]]:
        return [iso_language(code) for code in self.lang.split(",")] if self.lang else None


@dataclass
class BenchmarkItem:
    """One version of one item: ``group`` is shared by its versions in other languages."""

    group: str
    lang: Optional[str]
    segments: List[str]


def flores_files(folder: str, split: Optional[str], languages: Optional[List[str]]) -> List[str]:
    names = sorted(n for n in os.listdir(folder) if "_" in n and "." in n and not n.endswith((".md", ".tsv")))
    splits = sorted({n.rsplit(".", 1)[1] for n in names})
    if split is None and len(splits) > 1:
        raise ConfigError(f"split: {folder} holds the splits {', '.join(splits)}; name one")
    chosen = [n for n in names if split is None or n.rsplit(".", 1)[1] == split]
    if languages is not None:
        chosen = [n for n in chosen if iso_language(n.rsplit(".", 1)[0]) in languages]
    return [os.path.join(folder, n) for n in chosen]


def _segments(value) -> List[str]:
    if value is None:
        return []
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _segments(v)]
    text = str(value).strip()
    return [text] if text else []


def _rows(path: str, fmt: str) -> Iterator[dict]:
    if fmt == "parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=2000):
            yield from batch.to_pylist()
        return
    with open_decompressed(path) as raw:
        handle = io.TextIOWrapper(raw, encoding="utf-8", newline="" if fmt == "tsv" else None)
        if fmt == "jsonl":
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as error:
                        raise ConfigError(f"{path}:{number}: not a JSON line ({error.msg})") from None
        else:
            if strip_compression(path).endswith(".csv"):
                yield from csv.DictReader(handle)                      # quoted fields, as MMMLU's CSVs
            else:
                yield from csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)   # quotes are text


def read_items(config: BenchmarkConfig) -> Iterator[BenchmarkItem]:
    """Every item version of the benchmark, in file order."""
    if config.format == "flores":
        for path in config.files():
            lang = iso_language(os.path.basename(path).rsplit(".", 1)[0])
            with open(path, encoding="utf-8") as handle:
                for number, line in enumerate(handle):
                    yield BenchmarkItem(str(number), lang, _segments(line))
        return
    for path in config.files():
        for number, row in enumerate(_rows(path, config.format)):
            missing = [f for f in config.fields if f not in row]
            if missing:
                raise ConfigError(f"fields: benchmark {config.name}: {path} has no column {missing[0]!r} "
                                  f"(it has {', '.join(sorted(row)[:12])})")
            lang = iso_language(row.get(config.lang_field) if config.lang_field else config.lang)
            group = str(row.get(config.id_field)) if config.id_field else f"{os.path.basename(path)}:{number}"
            yield BenchmarkItem(group, lang, [s for f in config.fields for s in _segments(row.get(f))])


__all__ = ["BenchmarkConfig", "BenchmarkItem", "FORMATS", "iso_language", "read_items"]
