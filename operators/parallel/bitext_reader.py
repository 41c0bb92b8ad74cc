"""Parallel-corpus readers: OPUS Moses files, TSV, TMX and CCAligned (paper §3.1.2).

One location is one corpus; the format comes from its name (``format: auto``) or the config:

* **moses**: ``PREFIX`` with ``PREFIX.<src>`` and ``PREFIX.<tgt>`` beside it, one segment per line
  (OPUS's ``*.L1`` / ``*.L2``). Lines beyond the shorter file are counted ``read:line_count_mismatch``.
* **tsv**: ``source<TAB>target[<TAB>...]`` per line (OPUS ``*.tsv``); extra columns are ignored.
* **tmx**: ``<tu>`` units with one ``<tuv xml:lang=...><seg>`` per language; read as a stream.
  A unit without both languages is ``read:tmx_missing_side``; broken XML ends the file with
  ``read:bad_xml`` (pairs before it are kept).
* **ccaligned**: ``<a>-<b>.tsv`` from statmt.org/cc-aligned (``en_XX-de_DE.tsv.xz``). Sentence pairs
  have 3 columns (``source, target, LASER similarity``), document pairs 5 (``domain, source URL,
  source content, target URL, target content``); the column order follows the file name, so
  ``--src de --tgt en`` reads ``en_XX-de_DE`` with the sides swapped.

Files may be plain, ``.gz``, ``.xz``, ``.bz2`` or ``.zst``. A line that is not UTF-8 is
``read:bad_encoding``; a TSV line with too few columns ``read:wrong_column_count``; a file whose
compressed stream breaks off ends with ``read:truncated`` (what was read before is kept). Each
problem is one counted placeholder row, so nothing is lost silently.

Rows: ``id`` (location + line), ``src_text``, ``tgt_text``, ``src_lang``, ``tgt_lang``, ``source``
(the location), ``src_url`` / ``tgt_url`` (CCAligned documents) and ``given_score`` (CCAligned's
LASER similarity), null where the format has none.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass
from typing import Iterator, Optional, Tuple

import pyarrow as pa

from common.compressed_files import COMPRESSIONS, decode_utf8, decompressed_lines, open_decompressed, strip_compression
from common.config_check import ConfigError
from operators.base import Outcome, OutcomeBatcher, Source

FORMATS = ("auto", "moses", "tsv", "tmx", "ccaligned")
PAIR_SCHEMA = pa.schema([
    ("id", pa.string()), ("src_text", pa.string()), ("tgt_text", pa.string()),
    ("src_lang", pa.string()), ("tgt_lang", pa.string()), ("source", pa.string()),
    ("src_url", pa.string()), ("tgt_url", pa.string()), ("given_score", pa.float32()),
])
_CCALIGNED_NAME = re.compile(r"^([a-z]{2,3})_[A-Za-z]{2}-([a-z]{2,3})_[A-Za-z]{2}\.tsv$")
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"


@dataclass
class BitextReaderConfig:
    src: str = "en"
    tgt: str = "de"
    format: str = "auto"
    batch_size: int = 2000

    def validate(self) -> None:
        if self.format not in FORMATS:
            raise ConfigError(f"format: expected one of {', '.join(FORMATS)}, got {self.format!r}")
        if not self.src or not self.tgt or self.src == self.tgt:
            raise ConfigError("src, tgt: two different language codes are needed")
        if self.batch_size <= 0:
            raise ConfigError("batch_size: must be positive")


def find_side(prefix: str, lang: str) -> Optional[str]:
    for suffix in ("",) + COMPRESSIONS:
        if os.path.isfile(f"{prefix}.{lang}{suffix}"):
            return f"{prefix}.{lang}{suffix}"
    return None


def detect_format(location: str, src: str, tgt: str) -> str:
    name = strip_compression(os.path.basename(location))
    if name.endswith(".tmx"):
        return "tmx"
    if _CCALIGNED_NAME.match(name):
        return "ccaligned"
    if name.endswith(".tsv"):
        return "tsv"
    if find_side(location, src) and find_side(location, tgt):
        return "moses"
    raise ConfigError(f"--input {location}: cannot tell its format (.tmx, .tsv, <a>_XX-<b>_YY.tsv, or a Moses "
                      f"prefix with {location}.{src} and {location}.{tgt}); set --format")


class BitextReader(Source):
    name = "bitext_reader"

    def __init__(self, config: BitextReaderConfig) -> None:
        self.config = config

    def check_location(self, location: str) -> str:
        """The location's format; a ConfigError if it cannot be read as the config says (run before
        any work starts, so a wrong input is one clear error, not a count of failed files)."""
        config = self.config
        kind = config.format if config.format != "auto" else detect_format(location, config.src, config.tgt)
        if kind == "moses":
            for lang in (config.src, config.tgt):
                if not find_side(location, lang):
                    raise ConfigError(f"--input {location}: {location}.{lang} not found")
        elif not os.path.isfile(location):
            raise ConfigError(f"--input {location}: file not found")
        if kind == "ccaligned":
            match = _CCALIGNED_NAME.match(strip_compression(os.path.basename(location)))
            if match is None or set(match.groups()) != {config.src, config.tgt}:
                raise ConfigError(f"--input {location}: CCAligned files are named <a>_XX-<b>_YY.tsv for "
                                  f"--src {config.src} --tgt {config.tgt}")
        return kind

    def read(self, location: str) -> Iterator[Outcome]:
        kind = self.check_location(location)
        rows = {"moses": self._moses, "tsv": self._tsv, "ccaligned": self._tsv, "tmx": self._tmx}[kind](location, kind)
        yield from OutcomeBatcher(self.config.batch_size, PAIR_SCHEMA).batches(rows)

    def _row(self, location: str, number: int, src_text: str = "", tgt_text: str = "", **extra) -> dict:
        digest = hashlib.sha1(f"{location}:{number}".encode()).hexdigest()[:16]
        return {"id": f"{digest}-{number}", "src_text": src_text, "tgt_text": tgt_text, "src_lang": self.config.src,
                "tgt_lang": self.config.tgt, "source": location, "src_url": extra.get("src_url"),
                "tgt_url": extra.get("tgt_url"), "given_score": extra.get("given_score")}

    def _moses(self, location: str, kind: str) -> Iterator[Tuple[dict, Optional[str]]]:
        src_path, tgt_path = find_side(location, self.config.src), find_side(location, self.config.tgt)
        src_lines, tgt_lines = decompressed_lines(src_path), decompressed_lines(tgt_path)
        number = 0
        while True:
            src, src_problem = next(src_lines, (None, "end"))
            tgt, tgt_problem = next(tgt_lines, (None, "end"))
            if src_problem == "end" and tgt_problem == "end":
                return
            number += 1
            problem = next((p for p in (src_problem, tgt_problem) if p not in (None, "end")), None)
            if problem is None and "end" in (src_problem, tgt_problem):
                problem = "read:line_count_mismatch"
            if problem is not None:
                yield self._row(location, number), problem
                continue
            src_text, tgt_text = decode_utf8(src), decode_utf8(tgt)
            if src_text is None or tgt_text is None:
                yield self._row(location, number), "read:bad_encoding"
            else:
                yield self._row(location, number, src_text, tgt_text), None

    def _tsv(self, location: str, kind: str) -> Iterator[Tuple[dict, Optional[str]]]:
        swap, columns = False, 2
        if kind == "ccaligned":
            first, _ = _CCALIGNED_NAME.match(strip_compression(os.path.basename(location))).groups()
            swap = first != self.config.src
        for number, (raw, problem) in enumerate(decompressed_lines(location), start=1):
            if problem is not None:
                yield self._row(location, number), problem
                continue
            line = decode_utf8(raw)
            if line is None:
                yield self._row(location, number), "read:bad_encoding"
                continue
            fields = line.split("\t")
            if kind == "ccaligned":
                columns = 5 if len(fields) >= 5 else 3
            if len(fields) < columns:
                yield self._row(location, number), "read:wrong_column_count"
                continue
            extra = {}
            if kind == "ccaligned" and columns == 5:
                _, src_url, src_text, tgt_url, tgt_text = fields[:5]
                if swap:
                    src_url, src_text, tgt_url, tgt_text = tgt_url, tgt_text, src_url, src_text
                extra = {"src_url": src_url, "tgt_url": tgt_url}
            else:
                src_text, tgt_text = (fields[1], fields[0]) if swap else (fields[0], fields[1])
                if kind == "ccaligned":
                    try:
                        extra = {"given_score": float(fields[2])}
                    except ValueError:
                        yield self._row(location, number), "read:bad_score"
                        continue
            yield self._row(location, number, src_text, tgt_text, **extra), None

    def _tmx(self, location: str, kind: str) -> Iterator[Tuple[dict, Optional[str]]]:
        number = 0
        handle = open_decompressed(location)
        try:
            for _, element in ElementTree.iterparse(handle, events=("end",)):
                if element.tag != "tu":
                    continue
                number += 1
                sides = {}
                for tuv in element.iter("tuv"):
                    lang = (tuv.get(_XML_LANG) or tuv.get("lang") or "").lower().replace("_", "-").split("-")[0]
                    seg = tuv.find("seg")
                    if seg is not None:
                        sides[lang] = "".join(seg.itertext())
                element.clear()
                if self.config.src in sides and self.config.tgt in sides:
                    yield self._row(location, number, sides[self.config.src], sides[self.config.tgt]), None
                else:
                    yield self._row(location, number), "read:tmx_missing_side"
        except ElementTree.ParseError:
            yield self._row(location, number + 1), "read:bad_xml"
        except (EOFError, OSError, lzma.LZMAError) as exc:
            if isinstance(exc, FileNotFoundError):
                raise
            yield self._row(location, number + 1), "read:truncated"
        finally:
            handle.close()


__all__ = ["BitextReader", "BitextReaderConfig", "PAIR_SCHEMA", "detect_format"]
