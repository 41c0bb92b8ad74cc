"""Streaming reader of WARC and WET files into document rows (paper §3.1.1, "Document Preparation").

* Reads local paths, ``https://`` URLs and ``s3://`` objects (:mod:`common.remote_files`), record by
  record: a file is never loaded whole. Both gzip layouts work: one member per record (Common Crawl) and
  one member for the whole file (ClueWeb, home-made writers).
* Two parsers, one result (``backend``, default ``auto``). FastWARC (resiliparse's Rust parser) splits each
  file first: its inflating, finding of record boundaries and splitting of header lines cost about a third of
  warcio's. Every record it yields is checked on the raw bytes it came from
  (:mod:`operators.web.warc_fastwarc`): it starts where warcio starts it (in a gzip file, a gzip member of its
  own), its WARC header block is in the canonical form both parsers split alike, its Content-Length reads the
  same and its block is whole, and it ends with blank lines only. Everything the rows depend on beyond the
  split is warcio's semantics: its own code (HTTP blocks, content encodings, the fix-up of target URIs), or an
  equivalent shortcut where the input is plain (header decoding, simple HTTP header blocks). From the first
  record that fails a check, or at any FastWARC error, warcio reads the file again and emits the records after
  those already emitted, as it always did; so only damaged or non-conforming files are read twice (truncated
  files, ClueWeb09's wrong warcinfo Content-Length, files that are one gzip member, the files of
  ``warc_quirks``). ``backend="warcio"`` reads with warcio alone (the reference); ``backend="fastwarc"`` raises
  :class:`WarcBackendError` instead of falling back (tests, benchmarks). ``bench/warc_reader.py`` measures both.
* WARC ``response`` / ``resource`` records: kept when the HTTP status is 200 and the payload is HTML
  (by Content-Type, or by sniffing when the type is missing); the body is decoded with the declared
  charset or detection (:mod:`operators.web.html_decoding`) into the ``html`` column.
* WET ``conversion`` records: already text; they fill ``text`` and skip extraction.
* Other record types (warcinfo, request, metadata, revisit; every record of a WAT file, which are JSON
  ``metadata``) are not documents: each is one row dropped as ``warc_not_a_document``, so the reader's
  ``docs_in`` is the number of records read (plus one row per whole-file fault) and a WAT file shows as
  records read, none kept, instead of nothing. (Blank stretches that warcio reports as records without a
  type are not records.)

Rows: ``id`` (WARC-Record-ID), ``url``, ``source`` (``<file>:<record offset>``), ``warc_date``,
``html`` (null for WET), ``text`` (null for HTML). ``source`` is what the statistics show as samples of
each reason (``sample_column``): the record's place, or the bare file name for a whole-file fault.

Reasons: ``not_http_200``, ``not_html``, ``record_too_large``, ``warc_not_a_document``, and the faults
(:data:`FAULT_REASONS`): ``warc_truncated`` (a record shorter than its Content-Length, or a gzip stream that
ends early), ``warc_malformed`` (a record warcio cannot parse), ``warc_unreadable`` (the file cannot be
opened or is not a WARC at all), ``warc_empty`` (the file holds no record at all: zero bytes, an empty gzip
member), ``warc_deadline`` (the reader spent ``file_deadline_s`` on the file; the rest of it is not read). Records read before a fault are kept; the fault itself is one counted row. After a malformed
record the file is read again leniently, cut at ``WARC/x.y`` version lines with each record parsed on its
own, so the records after the fault are recovered too (ClueWeb09's wrong warcinfo Content-Length otherwise
hides a whole file).
``source`` offsets are positions in the file, or in the decompressed stream for files that are a
single gzip member or were resynchronised.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import re
import time
import zlib
from dataclasses import dataclass
from typing import Iterator, Optional

import pyarrow as pa

from common.config_check import ConfigError
from common.remote_files import open_binary
from operators.base import Outcome, OutcomeBatcher, Source
from operators.web.html_decoding import decode_html

log = logging.getLogger(__name__)

DOCUMENT_SCHEMA = pa.schema(
    [
        ("id", pa.string()),
        ("url", pa.string()),
        ("source", pa.string()),
        ("warc_date", pa.string()),
        ("html", pa.string()),
        ("text", pa.string()),
    ]
)

# Faults of a file rather than judgements of a document: the driver repeats them at the end of a run.
FAULT_REASONS = ("warc_unreadable", "warc_empty", "warc_truncated", "warc_malformed", "warc_deadline")
NOT_A_DOCUMENT = "warc_not_a_document"
_DOCUMENT_TYPES = ("response", "resource", "conversion")

_HTML_TYPES = ("text/html", "application/xhtml+xml", "application/xml+xhtml")
_TEXT_TYPES = ("text/plain",)

# auto: FastWARC where it reads a record exactly as warcio would, warcio from the first record it cannot vouch
# for; warcio: warcio alone (the reference); fastwarc: FastWARC alone, WarcBackendError instead of falling back.
BACKENDS = ("auto", "warcio", "fastwarc")


@dataclass
class WarcReaderConfig:
    # Documents per emitted batch (rows of dropped records come on top, up to 16 times as many).
    batch_size: int = 256
    # Records whose payload exceeds this are dropped as record_too_large (memory guard; Common
    # Crawl itself truncates payloads at 1 MiB).
    max_record_bytes: int = 20_000_000
    # Which parser splits the file into records (see the module docstring); the rows do not depend on it.
    backend: str = "auto"
    # The most seconds the reader spends on one file (its own time, not the later steps'): past it the rest of
    # the file is one warc_deadline row, so no input can hold a worker forever. A Common Crawl WARC (1 GB,
    # ~40k records) takes about a minute; None: no limit.
    file_deadline_s: Optional[float] = 1800.0

    def validate(self) -> None:
        if self.batch_size <= 0:
            raise ConfigError("batch_size: must be positive")
        if self.file_deadline_s is not None and self.file_deadline_s <= 0:
            raise ConfigError("file_deadline_s: must be positive (or null for no limit)")
        if self.max_record_bytes <= 0:
            raise ConfigError("max_record_bytes: must be positive")
        if self.backend not in BACKENDS:
            raise ConfigError(f"backend: expected one of {', '.join(BACKENDS)}, got {self.backend!r}")


class WarcBackendError(RuntimeError):
    """``backend="fastwarc"`` met a file FastWARC cannot read exactly as warcio would."""


def _fastwarc_module(required: bool):
    """:mod:`operators.web.warc_fastwarc`, imported on first use like warcio (None without FastWARC installed,
    unless ``required``)."""
    try:
        from operators.web import warc_fastwarc
    except ImportError:
        if required:
            raise
        log.warning("FastWARC is not installed: warcio reads every file")
        return None
    return warc_fastwarc


class _GzipRestart(Exception):
    """The file is one gzip member for many records: read it again through a decompressor."""


class _Resync(Exception):
    """A malformed record: read the file again, splitting records at WARC version lines."""


_VERSION_LINE = re.compile(rb"^WARC/\d+\.\d+\r?\n$")


class _Prefixed(io.RawIOBase):
    """A raw stream with a few already-read bytes put back in front."""

    def __init__(self, prefix: bytes, raw) -> None:
        self.prefix, self.raw = prefix, raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.prefix:
            n = min(len(buffer), len(self.prefix))
            buffer[:n] = self.prefix[:n]
            self.prefix = self.prefix[n:]
            return n
        data = self.raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _is_html(content_type: Optional[str], body: bytes) -> bool:
    if content_type:
        media = content_type.split(";", 1)[0].strip().lower()
        if media:
            return media in _HTML_TYPES
    head = body[:1024].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")) or b"<html" in head


def _clean_url(url: Optional[str]) -> Optional[str]:
    if url is None:
        return None
    url = url.strip().strip("<>").strip()
    # Non-conforming writers emit "WARC-Target-URI:: https://..." (a stray colon, an encoded space).
    while url.startswith((":", "%20", " ")):
        url = url[3:] if url.startswith("%20") else url[1:]
    return url or None


class WarcReader(Source):
    name = "warc_reader"
    sample_column = "source"

    def __init__(self, config: WarcReaderConfig) -> None:
        self.config = config

    def read(self, location: str) -> Iterator[Outcome]:
        batcher = OutcomeBatcher(self.config.batch_size, DOCUMENT_SCHEMA, kept_only=True)
        yield from batcher.batches(self._within_deadline(location, self._all_records(location)))

    def _within_deadline(self, location: str, rows):
        """``rows`` until the reader has spent ``file_deadline_s`` on the file (time inside the reader only: the
        steps that process a batch between two records do not count); then one ``warc_deadline`` row."""
        limit = self.config.file_deadline_s
        if limit is None:
            yield from rows
            return
        spent, resumed = 0.0, time.monotonic()
        for row in rows:
            spent += time.monotonic() - resumed
            yield row
            resumed = time.monotonic()
            if spent >= limit:
                rows.close()
                log.warning("warc_deadline: %s took more than %s s to read; the rest of it is skipped",
                            location, limit)
                yield self._fault_row(location, 0, "deadline"), "warc_deadline"
                return

    def _all_records(self, location: str):
        """FastWARC's checked pass, then, from the first record it cannot vouch for, warcio's passes over the
        records it did not emit. A file that gave no row at all (no record, no fault) is one ``warc_empty`` row."""
        emitted = 0
        with_warcio = True
        if self.config.backend != "warcio":
            fastwarc = _fastwarc_module(required=self.config.backend == "fastwarc")
            if fastwarc is not None:
                try:
                    for result in self._fastwarc_records(location, fastwarc):
                        emitted += 1
                        yield result
                    with_warcio = False
                except fastwarc.Fallback as why:
                    if self.config.backend == "fastwarc":
                        raise WarcBackendError(f"{location}: {why}") from why.__cause__
                    log.info("warcio reads %s from record %d on: %s", location, emitted + 1, why)
        if with_warcio:
            for result in self._warcio_records(location, skip=emitted):
                emitted += 1
                yield result
        if emitted == 0:
            log.warning("warc_empty: %s holds no WARC record", location)
            yield self._fault_row(location, 0, "empty", whole_file=True), "warc_empty"

    def _fastwarc_records(self, location: str, fastwarc):
        """(row, reason) per record as FastWARC splits the file (:func:`operators.web.warc_fastwarc.records`), each
        emitted once the next record shows where it ended; ``Fallback`` at the first record not vouched for."""
        raw = self._open(location)
        if raw is None:
            yield self._fault_row(location, 0, "open", whole_file=True), "warc_unreadable"
            return
        with raw:
            pending = None  # the last record's (row, reason)
            for offset, record in fastwarc.records(raw, _DOCUMENT_TYPES):
                if pending is not None:
                    yield pending
                    pending = None
                if record is not None:
                    try:
                        pending = self._record(location, fastwarc.Offset(offset), record)
                    except BaseException as exc:
                        raise fastwarc.not_vouched(exc, f"record at {offset}")
            if pending is not None:
                yield pending

    def _warcio_records(self, location: str, skip: int):
        """warcio's strict pass; on a single-member gzip file again through a decompressor; after a malformed
        record a lenient pass. Each pass leaves out the records emitted before it (``skip`` at first)."""
        done = skip
        try:
            try:
                for result in self._records(location, decompress=False, skip=done):
                    done += 1
                    yield result
            except _GzipRestart:
                for result in self._records(location, decompress=True, skip=done):
                    done += 1
                    yield result
        except _Resync as resync:
            yield from self._resynced_records(location, skip=resync.args[0])

    def _open(self, location: str):
        """The file's raw stream, or None (logged) when it cannot be opened."""
        try:
            return open_binary(location)
        except Exception as exc:
            log.warning("cannot open %s: %r", location, exc)
            return None

    def _records(self, location: str, decompress: bool, skip: int):
        """(row, reason) per record; faults become one row with a reason and end the file."""
        from warcio.archiveiterator import ArchiveIterator
        from warcio.exceptions import ArchiveLoadFailed

        seen = 0
        raw = self._open(location)
        if raw is None:
            yield self._fault_row(location, 0, "open", whole_file=True), "warc_unreadable"
            return
        with raw:
            stream = gzip.GzipFile(fileobj=raw) if decompress else raw
            iterator = ArchiveIterator(stream, check_digests=False)
            offset = 0
            try:
                for record in iterator:
                    if record.format.startswith("arc") and ".arc" not in location.lower():
                        # warcio falls back to the old ARC format on anything; a file not named
                        # .arc that does not start with a WARC header is simply not an archive.
                        raise ArchiveLoadFailed("Unknown archive format: neither WARC nor .arc")
                    if record.rec_type is None:
                        continue
                    result = self._record(location, iterator, record)
                    offset = iterator.get_record_offset()
                    seen += 1
                    if seen <= skip:
                        continue
                    yield result
            except ArchiveLoadFailed as exc:
                message = str(exc)
                if not decompress and "non-chunked gzip" in message:
                    raise _GzipRestart() from exc
                kind = "warc_unreadable" if seen == 0 and "Unknown archive format" in message else "warc_malformed"
                log.warning("%s in %s after %d records: %s", kind, location, seen, message.strip()[:200])
                yield self._fault_row(location, offset, "fault", whole_file=kind == "warc_unreadable"), kind
                if kind == "warc_malformed":
                    raise _Resync(max(seen, skip)) from exc
            except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
                log.warning("warc_truncated in %s after %d records: %r", location, seen, exc)
                yield self._fault_row(location, offset, "fault"), "warc_truncated"
            except (_GzipRestart, _Resync):
                raise
            except Exception as exc:  # warcio's own failures on damaged bytes (e.g. a record without a target URI)
                log.warning("warc_malformed in %s after %d records: %r", location, seen, exc)
                yield self._fault_row(location, offset, "fault"), "warc_malformed"
                raise _Resync(max(seen, skip)) from exc

    def _segments(self, stream) -> Iterator[tuple[int, bytes]]:
        """(offset, bytes) of each stretch of the stream that starts at a WARC version line."""
        start, offset, parts, size, at_line_start = 0, 0, [], 0, True
        while True:
            line = stream.readline(1 << 20)   # a "line" of a 200 MB block without newlines comes in pieces
            if not line:
                break
            if at_line_start and _VERSION_LINE.match(line) and parts:
                yield start, b"".join(parts)
                start, parts, size = offset, [], 0
            if size <= self.config.max_record_bytes:  # past that the record is dropped anyway
                parts.append(line)
                size += len(line)
            offset += len(line)
            at_line_start = line.endswith(b"\n")
        if parts:
            yield start, b"".join(parts)

    def _resynced_records(self, location: str, skip: int):
        """Lenient second pass after a malformed record: every record is parsed on its own, so one
        bad header (e.g. ClueWeb09's wrong warcinfo Content-Length) costs one record, not the file.
        The first ``skip`` documents were already emitted by the strict pass."""
        from warcio.archiveiterator import ArchiveIterator

        seen = 0
        try:
            with open_binary(location) as raw:
                head = raw.read(2)
                raw_stream = io.BufferedReader(_Prefixed(head, raw))
                stream = gzip.GzipFile(fileobj=raw_stream) if head == b"\x1f\x8b" else raw_stream
                for offset, segment in self._segments(io.BufferedReader(stream)):
                    try:
                        iterator = ArchiveIterator(io.BytesIO(segment), check_digests=False)
                        for record in iterator:
                            if record.rec_type is None:
                                continue
                            row, reason = self._record(location, iterator, record)
                            row["source"] = f"{location}:{offset}"
                            seen += 1
                            if seen > skip:
                                yield row, reason
                    except Exception as exc:  # this record only; the next segment starts afresh
                        if seen >= skip:
                            log.warning("warc_malformed record at %s:%d: %r", location, offset, exc)
                            yield self._fault_row(location, offset, "segment"), "warc_malformed"
        except (EOFError, zlib.error, gzip.BadGzipFile, OSError) as exc:
            log.warning("warc_truncated in %s during resync: %r", location, exc)
            yield self._fault_row(location, 0, "resync"), "warc_truncated"

    def _fault_row(self, location: str, offset: int, what: str, whole_file: bool = False) -> dict:
        """A placeholder row for a fault; its ``source`` is the bare file name when the fault is the file's."""
        digest = hashlib.sha1(f"{location}:{offset}:{what}".encode()).hexdigest()
        return {"id": f"fault:{digest}", "url": None, "source": location if whole_file else f"{location}:{offset}"}

    def _record(self, location: str, iterator, record) -> tuple[dict, Optional[str]]:
        if record.rec_type in _DOCUMENT_TYPES:
            return self._document(location, iterator, record)
        return self._row(location, iterator, record), NOT_A_DOCUMENT

    def _row(self, location: str, iterator, record) -> dict:
        headers = record.rec_headers
        row = {
            "id": headers.get_header("WARC-Record-ID"),
            "url": _clean_url(headers.get_header("WARC-Target-URI")),
            "source": f"{location}:{iterator.get_record_offset()}",
            "warc_date": headers.get_header("WARC-Date"),
        }
        if not row["id"]:
            row["id"] = "sha1:" + hashlib.sha1(row["source"].encode()).hexdigest()
        return row

    def _document(self, location: str, iterator, record) -> tuple[dict, Optional[str]]:
        headers = record.rec_headers
        stream = record.content_stream()
        body = stream.read(self.config.max_record_bytes + 1)
        row = self._row(location, iterator, record)
        if len(body) > self.config.max_record_bytes:
            # Not drained here: the parser skips the rest on its way to the next record (and finds a record cut
            # short there, as a warc_truncated row of its own).
            return row, "record_too_large"
        if getattr(record.raw_stream, "limit", 0) > 0:
            return row, "warc_truncated"
        if record.rec_type == "conversion":
            ctype = headers.get_header("Content-Type") or "text/plain"
            if ctype.split(";")[0].strip().lower() not in _TEXT_TYPES:
                return row, "not_html"
            row["text"] = decode_html(body, ctype)
            return row, None
        ctype = headers.get_header("Content-Type")
        if ctype and ctype.lower().startswith("application/http"):
            ctype = None  # a response without its HTTP header block: sniff the payload
        if record.http_headers is not None:
            status = record.http_headers.get_statuscode()
            if status != "200":
                return row, "not_http_200"
            ctype = record.http_headers.get_header("Content-Type")
        if not _is_html(ctype, body):
            return row, "not_html"
        row["html"] = decode_html(body, ctype)
        return row, None
