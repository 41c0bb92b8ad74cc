"""FastWARC's split of a WARC file into records, each checked to be the record warcio would read there.

:mod:`operators.web.warc_reader` reads a file with :func:`records` first and, when it raises :class:`Fallback`,
reads the rest with warcio. FastWARC (resiliparse's Rust parser) does the decompression, the finding of record
boundaries and the splitting of WARC header lines, which is where warcio spends most of its time; everything the
rows depend on beyond that is warcio's own code or, for the two hot paths, an equivalent shortcut taken only
where the equivalence is plain (header decoding, :class:`IndexedHeaders`, :class:`_HttpParser`).

FastWARC is more lenient than warcio in places (it accepts a record glued to the previous one, blank lines
inside or before a header block, folded or colon-less header lines, records split over gzip members, and it
stops without an error at an empty gzip member) and stricter in others (over-long header lines, ClueWeb09's
wrong warcinfo Content-Length). So a record is taken only after these checks on the raw bytes FastWARC read
(:class:`_Tap`):

* it starts at 0 or after the previous record; in a gzip file it starts a gzip member of its own
  (warcio's offsets are members' starts, and a member holding several records makes warcio read the whole
  file again decompressed, with other offsets);
* its WARC header block, written back in canonical form from what FastWARC parsed (version line,
  ``Name: value`` CRLF lines, blank line), equals the raw bytes: then both parsers see the same lines, and
  warcio's decoding (UTF-8, else Latin-1, values stripped) is applied to them;
* its Content-Length reads the same in both, and its block is whole;
* it ends with blank lines only: the gap before the next record (plain files) or the gzip member's size
  field (ISIZE: header + block + a few bytes) says so, and the last member runs to the end of the file.

Anything else, including any FastWARC error, raises :class:`Fallback` before the record is yielded.
"""

from __future__ import annotations

import collections
import io
import zlib
from typing import Iterator, Optional, Tuple

from fastwarc.warc import ArchiveIterator
from warcio.limitreader import LimitReader
from warcio.recordloader import ArcWarcRecord, ArcWarcRecordLoader
from warcio.statusandheaders import StatusAndHeaders

# The version lines warcio's parser accepts (ArcWarcRecordLoader.WARC_TYPES); FastWARC also takes other WARC/0.x.
_WARC_VERSIONS = tuple(version.encode() for version in ArcWarcRecordLoader.WARC_TYPES)
_GZIP_MAGIC = b"\x1f\x8b\x08"
# Blank-line bytes a record's gzip member may hold after its block (Common Crawl writes 4: CRLF CRLF); fewer
# than the smallest record, so that a member holding a second record never passes.
_MEMBER_SLACK = 32
# Raw bytes the checks may look back over; a check that finds its bytes gone fails (warcio then reads the
# file), so a huge record is never held in memory twice.
_TAP_KEEP = 4 << 20
# Blocks of documents up to this size are read into memory whole (Common Crawl caps payloads at 1 MiB), so that
# warcio's line-by-line HTTP parsing and decoding read from BytesIO instead of calling into FastWARC per line.
_INLINE_BYTES = 2 << 20
# The most bytes one call asks FastWARC's block reader for (:class:`_Piecewise`).
_PIECE = 1 << 20


class Fallback(Exception):
    """FastWARC cannot vouch for this record: warcio reads the file from here (the rows emitted so far stand)."""


def not_vouched(exc: BaseException, what: str) -> Fallback:
    """An error while reading with FastWARC (its own, pyo3's PanicException, a BaseException, when its Rust code
    panics, or one of warcio's code on the record) as a :class:`Fallback`: warcio then reads the record and meets,
    or not, the same trouble, after emitting the same rows. Interrupts and generator exits are raised again."""
    if isinstance(exc, Fallback):
        return exc
    if not isinstance(exc, Exception) and type(exc).__name__ != "PanicException":
        raise exc
    fallback = Fallback(f"{what}: {exc!r}"[:300])
    fallback.__cause__ = exc
    return fallback


class Offset:
    """What the reader asks warcio's iterator for (``get_record_offset``), when FastWARC already knows it."""

    __slots__ = ("offset",)

    def __init__(self, offset: int) -> None:
        self.offset = offset

    def get_record_offset(self) -> int:
        return self.offset


class IndexedHeaders(StatusAndHeaders):
    """warcio's StatusAndHeaders with the first value of each lower-cased name indexed: the reader and warcio's
    record code look up 6 to 8 names per record, each a scan of the list otherwise. Same answers: the index is
    rebuilt whenever warcio's methods for changing headers (add, replace, remove) change the list."""

    def __init__(self, statusline: str, headers: list, protocol: str = "", total_len: int = 0,
                 first: Optional[dict] = None) -> None:
        # Not super().__init__: the pairs are already the (str, str) tuples its constructor would convert them to.
        self.statusline, self.headers, self.protocol, self.total_len, self.headers_buff = (
            statusline, headers, protocol, total_len, None)
        if first is None:
            self._index()
        else:  # built by the caller along with the list
            self._first = first

    def _index(self) -> None:
        first: dict = {}
        for name, value in self.headers:
            first.setdefault(name.lower(), value)
        self._first = first

    def get_header(self, name, default_value=None):
        return self._first.get(name.lower(), default_value)

    def add_header(self, name, value):
        super().add_header(name, value)
        self._index()

    def replace_header(self, name, value):
        old = super().replace_header(name, value)
        self._index()
        return old

    def remove_header(self, name):
        removed = super().remove_header(name)
        self._index()
        return removed

    # StatusAndHeaders binds these aliases to its own methods.
    get = __getitem__ = get_header
    __setitem__ = replace_header
    __delitem__ = remove_header


def _decoded_line(line: bytes) -> str:
    """A header line as warcio decodes it: UTF-8, else Latin-1."""
    try:
        return line.decode("utf-8")
    except UnicodeDecodeError:
        return line.decode("latin-1")


def _lines(block: bytes) -> list:
    """The CRLF-separated lines of ``block``, each decoded as warcio decodes a line (UTF-8 is checked once for the
    whole block: it holds for the block exactly when it holds for every line)."""
    try:
        return block.decode("utf-8").split("\r\n")
    except UnicodeDecodeError:
        return [_decoded_line(line) for line in block.split(b"\r\n")]


def warcio_headers(header_block: bytes) -> IndexedHeaders:
    """The WARC headers warcio's parser reads from ``header_block``, a block in canonical form (every line but
    the version line is ``Name: value``, the name without ``:`` or surrounding blanks): each value stripped of
    Python's whitespace at both ends, as warcio strips a line (FastWARC strips fewer characters)."""
    lines = _lines(header_block)
    headers, first = [], {}
    for line in lines[1:-2]:
        name, value = line.split(": ", 1)
        value = value.strip()
        headers.append((name, value))
        first.setdefault(name.lower(), value)
    return IndexedHeaders("", headers, protocol=lines[0], first=first)


class _HttpParser:
    """warcio's parser of HTTP header blocks (unverified, as its ArchiveIterator makes it), with a shortcut for a
    block in memory whose header lines are all CRLF-terminated, unfolded and not blank up to the first empty line:
    there warcio's line loop reduces to splitting the lines (same decoding, same stripping, same end), done here
    in one pass. Any other block goes to warcio's parser."""

    def __init__(self, parser) -> None:
        self.parser = parser

    def parse(self, stream, full_statusline=None):
        source = getattr(stream, "stream", None)
        if full_statusline is None and isinstance(source, _InMemory) and source.tell() == 0:
            end = source.block.find(b"\r\n\r\n", 0, stream.limit)
            parsed = None if end < 0 else self._simple(source.block[:end])
            if parsed is not None:
                stream.read(end + 4)  # past the header block and its blank line, where warcio's parser leaves it
                return parsed
        return self.parser.parse(stream, full_statusline)

    @staticmethod
    def _simple(region: bytes) -> Optional[IndexedHeaders]:
        """The headers of a block whose header lines are ``region`` (up to the first CRLF CRLF), or None where
        warcio's loop does more than split them."""
        if region.count(b"\n") != region.count(b"\r\n"):
            return None  # a line ending in a bare LF: warcio splits there
        lines = _lines(region)
        status = lines[0].rstrip()
        if not status:
            return None  # warcio ends the block at once
        headers = []
        for line in lines[1:]:
            line = line.rstrip()
            if not line or line[0] in " \t":
                return None  # blank to Python (warcio ends the block there) or folded
            name, colon, value = line.partition(":")
            if colon:  # warcio drops a line without a colon
                headers.append((name.rstrip(" \t"), value.lstrip()))
        protocol, _, statusline = status.partition(" ")
        # total_len as warcio counts it: characters of the decoded lines, line ends and the blank line included.
        total_len = sum(map(len, lines)) + 2 * len(lines) + 2
        return IndexedHeaders(statusline.strip(), headers, protocol, total_len=total_len)


class _InMemory(io.BytesIO):
    """A block read whole, with its bytes at hand for :class:`_HttpParser`."""

    def __init__(self, block: bytes) -> None:
        super().__init__(block)
        self.block = block


class _Piecewise:
    """FastWARC's block reader asked for at most ``_PIECE`` bytes at a time. Its ``readline(size)`` and
    ``read(size)`` reserve ``size`` bytes first, and warcio asks for a line of up to the rest of the block: a
    Content-Length of 99999999999999 would abort the whole process (Rust's out-of-memory handler), not raise."""

    def __init__(self, reader) -> None:
        self.reader = reader

    def readline(self, size: int = -1) -> bytes:
        parts, got = [], 0
        while size is None or size < 0 or got < size:
            want = _PIECE if size is None or size < 0 else min(_PIECE, size - got)
            line = self.reader.readline(want)
            if not line:
                break
            parts.append(line)
            got += len(line)
            if line.endswith(b"\n"):
                break
        return b"".join(parts)

    def read(self, size: int = -1) -> bytes:
        parts, got = [], 0
        while size is None or size < 0 or got < size:
            piece = self.reader.read(_PIECE if size is None or size < 0 else min(_PIECE, size - got))
            if not piece:
                break
            parts.append(piece)
            got += len(piece)
        return b"".join(parts)

    def consume(self) -> int:
        return self.reader.consume()


class _Tap:
    """The raw stream as FastWARC reads it (``read`` and ``tell`` are all it uses), keeping the recent bytes the
    checks compare with: none before ``keep_from``, at most about ``_TAP_KEEP``. ``head`` holds bytes already read
    from ``raw`` to tell the layout."""

    def __init__(self, raw, head: bytes) -> None:
        self.raw, self.head = raw, head
        self.chunks: collections.deque = collections.deque()  # (offset, bytes), in stream order
        self.kept = 0
        self.position = 0
        self.keep_from = 0

    def tell(self) -> int:
        return self.position

    def read(self, size: int = -1) -> bytes:
        if self.head:
            if 0 <= size < len(self.head):
                data, self.head = self.head[:size], self.head[size:]
            else:
                head, self.head = self.head, b""
                data = head + (self.raw.read() if size < 0 else self.raw.read(size - len(head)))
        else:
            data = self.raw.read(size)
        if data:
            self.chunks.append((self.position, data))
            self.position += len(data)
            self.kept += len(data)
            self._trim()
        return data

    def drain(self) -> None:
        """Read to the end, so that ``position`` is the file's size and its last bytes are kept."""
        while self.read(1 << 16):
            pass

    def release(self, offset: int) -> None:
        self.keep_from = offset
        self._trim()

    def _trim(self) -> None:
        chunks = self.chunks
        while len(chunks) > 1 and (chunks[0][0] + len(chunks[0][1]) <= self.keep_from or self.kept > _TAP_KEEP):
            self.kept -= len(chunks.popleft()[1])

    def span(self, start: int, end: int) -> Optional[bytes]:
        """The bytes ``[start, end)`` of the stream, or None when they are no longer (or not yet) kept."""
        if not self.chunks or start < self.chunks[0][0] or end > self.position or start > end:
            return None
        offset, data = self.chunks[-1]
        if offset <= start:  # nearly always: within the last chunk read
            return data[start - offset:end - offset]
        parts = []
        for offset, data in self.chunks:
            if offset + len(data) <= start:
                continue
            if offset >= end:
                break
            parts.append(data[max(start - offset, 0):end - offset])
        return b"".join(parts)


class _Framing:
    """Where warcio would start and end each record FastWARC yields, checked on the raw bytes; a failed check
    raises :class:`Fallback`."""

    def __init__(self, tap: _Tap, gzip_members: bool) -> None:
        self.tap, self.gzip_members = tap, gzip_members
        self.open: Optional[Tuple[int, int, int]] = None  # (start, header bytes, block bytes) of the last record

    def start(self, start: int, header_block: bytes, length: int) -> None:
        """The next record is at ``start``, its WARC header block is ``header_block`` in canonical form and its
        block ``length`` bytes: warcio starts it there and reads the same header lines (the raw bytes equal the
        canonical ones, so no line is folded, blank, colon-less or padded with whitespace). Only then is the end
        of the record before it checked, so that the bytes between the two are known to be what FastWARC
        skipped as blank lines."""
        tap = self.tap
        # warcio's first record is at 0 (blank lines before it make a typeless record that swallows the next one).
        misplaced = start != 0 if self.open is None else start <= self.open[0]
        if misplaced:
            raise Fallback(f"record at {start} is not where warcio starts it")
        if self.gzip_members:
            compressed = tap.span(start, min(start + len(header_block) + 1024, tap.position))
            if compressed is None or not compressed.startswith(_GZIP_MAGIC):
                raise Fallback(f"record at {start} does not start a gzip member")
            raw = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(compressed, len(header_block))
        else:
            raw = tap.span(start, start + len(header_block))
        if raw != header_block:
            raise Fallback(f"WARC header block at {start} is not in canonical form")
        if self.open is not None:
            self._check_end(start)
        self.open = (start, len(header_block), length)
        # What is looked at from now on: this record's member (its size field before the next member, all of it
        # when it is the last), or the plain gap after its block.
        tap.release(start if self.gzip_members else start + len(header_block) + length)

    def finish(self) -> None:
        """FastWARC found no more records: the last one must end the file (drained before). FastWARC also stops,
        without an error, at some damage (an empty gzip member), so this is checked on the bytes to the end."""
        if self.open is None:
            raise Fallback("FastWARC finds no record")
        if not self.gzip_members:
            self._check_end(None)
            return
        # The last record's member must run to the end of the file and hold only the record and blank lines:
        # decompressed again here, once per file, keeping only a tail of it.
        start, header_bytes, length = self.open
        data = self.tap.span(start, self.tap.position)
        if data is None:
            raise Fallback(f"last gzip member at {start} is no longer at hand")
        member, size, tail = zlib.decompressobj(16 + zlib.MAX_WBITS), 0, b""
        for offset in range(0, len(data), 1 << 16):
            if member.eof:
                break
            pending = data[offset:offset + (1 << 16)]
            while pending:
                # At most 1 MiB out per call: 64 KiB of a repetitive page inflate to far more.
                out = member.decompress(pending, 1 << 20)
                size, tail = size + len(out), (tail + out)[-_MEMBER_SLACK:]
                pending = member.unconsumed_tail
                if member.eof:
                    break
        slack = size - header_bytes - length
        if not member.eof or member.unused_data or not 0 <= slack <= _MEMBER_SLACK or tail[len(tail) - slack:].strip():
            raise Fallback(f"last gzip member at {start} does not end the file with its record")

    def _check_end(self, next_start: Optional[int]) -> None:
        """The last record ends right before ``next_start`` (None: at the end of the file, plain files only)."""
        start, header_bytes, length = self.open
        stop = self.tap.position if next_start is None else next_start
        if self.gzip_members:
            # ISIZE, the member's decompressed size, is its last 4 bytes: header + block + a few bytes of blank
            # lines means the member holds this record and nothing else (the next record starts the next member,
            # checked before; an empty or blank member between them fails here).
            size = self.tap.span(stop - 4, stop)
            slack = None if size is None else (int.from_bytes(size, "little") - header_bytes - length) % (1 << 32)
            if slack is None or slack > _MEMBER_SLACK:
                raise Fallback(f"gzip member at {start} holds more than its record")
        else:
            # warcio skips the first line after a block whatever it holds, so a next record must not follow at once.
            gap = self.tap.span(start + header_bytes + length, stop)
            if gap is None or gap.strip() or (next_start is not None and not gap):
                raise Fallback(f"record at {start} is not followed by blank lines")


def _header_block(status: Optional[bytes], items) -> bytes:
    """The WARC header block as FastWARC parsed it, written in canonical form (the version line warcio reads,
    ``Name: value`` CRLF lines, a blank line)."""
    if not status or not status.upper().startswith(_WARC_VERSIONS):
        raise Fallback(f"version line {status!r} warcio does not read")
    return b"\r\n".join([status, *map(b": ".join, items), b"", b""])


def _read_up_to(raw, size: int) -> bytes:
    """Up to ``size`` bytes (fewer only at the end of the stream; a socket may return less per call)."""
    data = b""
    while len(data) < size:
        chunk = raw.read(size - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _int_or_none(value: Optional[str]) -> Optional[int]:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def records(raw, read_types: Tuple[str, ...]) -> Iterator[Tuple[int, Optional[ArcWarcRecord]]]:
    """``(offset, record)`` per record of the raw stream ``raw`` (the file's bytes, compressed or not), ``record``
    being warcio's ArcWarcRecord as warcio's iterator would yield it at that offset, or None for a record without
    a WARC-Type, which the reader skips (as warcio's pass does). ``read_types``: the record types whose block the
    caller reads (the others it only counts). A record is yielded once the one before it has been shown to end
    where warcio ends it, so the caller emits a record's row only when it asks for the next one (and after the
    loop). Raises :class:`Fallback` at the first record not vouched for."""
    head = _read_up_to(raw, len(b"WARC/"))
    if not head.startswith(_GZIP_MAGIC) and head != b"WARC/":
        # Empty, not a WARC, another compression FastWARC would read and warcio not, or blank lines first.
        raise Fallback("neither a gzip nor a plain WARC file")
    tap = _Tap(raw, head)
    framing = _Framing(tap, gzip_members=head != b"WARC/")
    # As warcio's ArchiveIterator makes its loader: HTTP status lines not verified, no ARC headers.
    loader = ArcWarcRecordLoader(verify_http=False, arc2warc=False)
    loader.http_parser = _HttpParser(loader.http_parser)
    try:
        split = iter(ArchiveIterator(tap, parse_http=False))
    except BaseException as exc:
        raise not_vouched(exc, "FastWARC cannot read it")
    while True:
        try:
            record = next(split, None)
        except BaseException as exc:
            raise not_vouched(exc, "FastWARC stops")
        try:
            if record is None:
                tap.drain()
                framing.finish()
                return
            headers = record.headers
            header_block = _header_block(headers.status_line_bytes, headers.items_bytes())
            offset, reader = record.stream_pos, record.reader
            framing.start(offset, header_block, record.content_length)
            parsed, stream = _warcio_record(loader, header_block, record.content_length, reader, read_types)
        except BaseException as exc:
            raise not_vouched(exc, f"record at {record.stream_pos if record is not None else 'end'}")
        yield offset, parsed
        # The caller has read what it needed; the rest of the block must be there (a short one is a truncated
        # file, which warcio reports in its own way).
        if isinstance(stream.stream, _Piecewise) and reader.consume() != stream.limit:
            raise Fallback(f"record at {offset} is shorter than its Content-Length")


def _warcio_record(loader: ArcWarcRecordLoader, header_block: bytes, length: int, reader,
                   read_types: Tuple[str, ...]) -> Tuple[Optional[ArcWarcRecord], LimitReader]:
    """The ArcWarcRecord warcio's loader makes of a record with this canonical header block and this block, and the
    LimitReader it reads the block through. Only the HTTP blocks of the ``read_types`` are parsed: the reader looks
    at no other, and warcio's parsing of the others (requests, revisits) changes no row; it only fails on one
    without a target URI, which is let happen (warcio reads that file)."""
    headers = warcio_headers(header_block)
    rec_type = headers.get_header("WARC-Type")
    uri = loader._ensure_target_uri_format(headers)  # warcio's own fix-up of <...> and spaces (warcio pinned)
    if _int_or_none(headers.get_header("Content-Length")) != length:
        raise Fallback("Content-Length that warcio reads otherwise")
    if rec_type in read_types and length <= _INLINE_BYTES:
        block = reader.read(length)
        if len(block) != length:
            raise Fallback("record shorter than its Content-Length")
        stream = LimitReader(_InMemory(block), length)
    else:
        stream = LimitReader(_Piecewise(reader), length)
    if rec_type is None:
        return None, stream
    http_headers = None
    if rec_type in read_types:
        http_headers = loader.load_http_headers(rec_type, uri, stream, length)
    elif length and uri is None and rec_type in loader.HTTP_RECORDS:
        raise Fallback("HTTP record without a target URI, which warcio fails on")
    return ArcWarcRecord("warc", rec_type, headers, stream, http_headers, headers.get_header("Content-Type"),
                         length), stream
