"""FastWARC and warcio give the same rows and reasons: on every shared WARC/WET/WAT and quirk file, on crafted
records where FastWARC splits differently from warcio, and over HTTP."""

from __future__ import annotations

import functools
import gzip
import http.server
import threading

import pyarrow as pa
import pytest

from common.config_check import ConfigError, build
from operators.runner import SourceRunner
from operators.stats import PipelineStats
from operators.web.warc_reader import WarcBackendError, WarcReader, WarcReaderConfig
from tests.fixtures.shared_data import SHARED_DATA, shared_path

SHARED_FILES = [path for folder in ("warc", "warc_quirks") if (SHARED_DATA / folder).is_dir()
                for path in sorted((SHARED_DATA / folder).iterdir())]
# Conforming files FastWARC reads whole: every shared archive but the WET excerpt that is one gzip member (warcio
# reads it again decompressed, so its offsets are positions in the decompressed stream).
SINGLE_MEMBER = {"CC-MAIN-2016-50_excerpt_filter_test_1.wet.gz"}


def rows(path, **config) -> list:
    """Every (row, reason) the reader emits for ``path``, dropped rows included."""
    return [(row, reason) for outcome in WarcReader(WarcReaderConfig(**config)).read(str(path))
            for row, reason in zip(outcome.table.to_pylist(), outcome.reasons)]


def counts(path, **config) -> tuple:
    """The reader's statistics for ``path``: records in and out, reasons, samples, files."""
    stats = PipelineStats()
    for _ in SourceRunner(WarcReader(WarcReaderConfig(**config)), stats)(pa.table({"path": [str(path)]})):
        pass
    op = stats.operator("warc_reader")
    return op.docs_in, op.docs_out, dict(op.dropped), op.samples, op.files_dict()


@pytest.mark.skipif(not SHARED_FILES, reason=f"shared data not found: {SHARED_DATA}")
@pytest.mark.parametrize("path", SHARED_FILES, ids=[f"{p.parent.name}/{p.name}" for p in SHARED_FILES])
def test_every_shared_file_reads_the_same_with_fastwarc_as_with_warcio(path):
    reference = rows(path, backend="warcio")
    assert rows(path) == reference  # backend="auto", the default
    assert counts(path) == counts(path, backend="warcio")
    if path.parent.name == "warc" and path.name.endswith(".gz") and path.name not in SINGLE_MEMBER:
        # FastWARC alone reads these (no fallback), so the equality above is FastWARC's, not warcio's again.
        assert rows(path, backend="fastwarc") == reference
    elif path.parent.name == "warc_quirks" and path.name.endswith(".gz"):
        # Every quirk file needs warcio somewhere (truncated, one member for many records, malformed, ...).
        with pytest.raises(WarcBackendError):
            rows(path, backend="fastwarc")


def test_clueweb09_ja_records_are_read_by_fastwarc_as_by_warcio():
    path = shared_path("warc", "clueweb09-ja_excerpt_resiliparse.warc.gz")
    fast, reference = rows(path, backend="fastwarc"), rows(path, backend="warcio")
    assert fast == reference and sum(reason is None for _, reason in fast) == 29


# ------------------------------------------------------------------------------------ crafted records

HTTP_OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><body>hello</body></html>"


def record(*headers: bytes, block: bytes = HTTP_OK, version: bytes = b"WARC/1.0", trailer: bytes = b"\r\n\r\n",
           length: int = None) -> bytes:
    """A WARC record written as given (headers are whole lines; Content-Length comes last)."""
    length = len(block) if length is None else length
    return (version + b"\r\n" + b"".join(headers) + b"Content-Length: %d\r\n\r\n" % length + block + trailer)


def response(n: int, *extra: bytes, **parts) -> bytes:
    return record(b"WARC-Type: response\r\n", b"WARC-Record-ID: <urn:uuid:%d>\r\n" % n,
                  b"WARC-Target-URI: http://example.com/%d\r\n" % n, b"WARC-Date: 2020-01-01T00:00:00Z\r\n",
                  b"Content-Type: application/http; msgtype=response\r\n", *extra, **parts)


# Each case: the records of a file; FastWARC either splits them as warcio does or hands the file to warcio.
CASES = {
    "conforming": [response(1), response(2), response(3)],
    "utf-8 and latin-1 header bytes": [response(1, b"WARC-Target-URI: http://example.com/\xc3\xa9\r\n"),
                                       response(2, b"X-Name: caf\xe9\r\n")],
    # NBSP (Latin-1) and NEL (UTF-8) end the values: whitespace to Python, which warcio strips, not to FastWARC.
    "python-only whitespace in values": [
        record(b"WARC-Type: response\r\n", b"WARC-Date: 2020\xa0\r\n", b"WARC-Target-URI: http://example.com/\r\n",
               b"Content-Type: application/http\r\n"),
        record(b"WARC-Type: response\r\n", b"WARC-Date: 2021\xc2\x85\r\n", b"WARC-Target-URI: http://example.com/\r\n",
               b"Content-Type: application/http\r\n")],
    "folded header line": [response(1, b"X-Folded: a\r\n", b"  b\r\n"), response(2)],
    "blank-looking header line": [response(1, b"X-A: 1\r\n", b" \r\n"), response(2)],
    "colon-less header line": [response(1, b"NoColon\r\n"), response(2)],
    "name: value without the space": [response(1, b"X-T:\tv\r\n"), response(2)],
    "duplicate WARC-Type": [response(1, b"WARC-Type: request\r\n"), response(2)],
    "URI in angle brackets with spaces": [response(1, b"WARC-Target-URI: <http://example.com/a b>\r\n"), response(2)],
    "no WARC-Type": [record(b"WARC-Record-ID: <urn:x>\r\n", block=b"abc"), response(2)],
    "no Content-Length": [b"WARC/1.0\r\nWARC-Type: resource\r\n\r\nabc\r\n\r\n", response(2)],
    "request without URI": [record(b"WARC-Type: request\r\n", block=b"GET / HTTP/1.1\r\n\r\n"), response(2)],
    "LF line ends": [response(1).replace(b"\r\n", b"\n"), response(2).replace(b"\r\n", b"\n")],
    "WARC/0.18 and WARC/0.9": [response(1, version=b"WARC/0.18"), response(2, version=b"WARC/0.9")],
    "no blank line after a block": [response(1, trailer=b""), response(2)],
    "one line of junk after a block": [response(1, trailer=b"junk\r\n\r\n"), response(2)],
    "Content-Length too short": [response(1, length=len(HTTP_OK) - 3), response(2)],
    "Content-Length too long": [response(1, length=len(HTTP_OK) + 3), response(2)],
    "blank line before the first record": [b"\r\n" + response(1), response(2)],
    "truncated last record": [response(1), response(2)[:-30]],
    "truncated last metadata record": [response(1), record(b"WARC-Type: metadata\r\n", block=b"x" * 500)[:-100]],
    "junk at the end": [response(1), response(2) + b"junk"],
    "header line over FastWARC's limit": [response(1, b"X-Big: " + b"a" * 40_000 + b"\r\n"), response(2)],
    "HTTP block shapes": [
        response(1, block=HTTP_OK.replace(b"200 OK", b"404 Not Found")),
        response(2, block=b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Type: text/html\r\n\r\n"
                          + gzip.compress(b"<html>zipped</html>") + b"JUNK"),
        response(3, block=b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n<html\r\n1\r\n>\r\n0\r\n\r\n"),
        response(4, block=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Folded: a\r\n b\r\n\r\n<html>f</html>"),
        response(5, block=b"HTTP/1.1 200 OK\nContent-Type: text/html\n\n<html>lf</html>"),
        response(6, block=b"HTTP/1.1 200 OK\nContent-Type: text/plain\r\n\r\n<html>mixed line ends</html>"),
        # warcio joins the folded charset to the Content-Type: Latin-1, not UTF-8.
        response(7, block=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n ; charset=iso-8859-1\r\n\r\n"
                          b"<html>caf\xc3\xa9</html>"),
        response(8, block=b"HTTP/1.1 200 OK\r\n\xa0\r\nContent-Type: text/plain\r\n\r\n<html>blank to Python</html>"),
        response(9, block=b"<html>no HTTP status line</html>"),
        response(10, block=b""),
        record(b"WARC-Type: conversion\r\n", b"WARC-Target-URI: http://example.com/\r\n",
               b"Content-Type: text/plain\r\n", block=b"plain text"),
    ],
    "record over the in-memory size": [response(1, block=HTTP_OK + b"x" * (3 << 20)), response(2)],
}


def layouts(parts: list):
    """The same records uncompressed, one gzip member each (Common Crawl), one member for all, and member
    layouts warcio reads otherwise than one record per member."""
    yield "plain", b"".join(parts)
    yield "member per record", b"".join(gzip.compress(part) for part in parts)
    yield "one member", gzip.compress(b"".join(parts))
    if len(parts) > 2:
        first, second, *rest = parts
        members = [gzip.compress(part) for part in rest]
        yield "two records in a member", b"".join([gzip.compress(first + second), *members])
        yield "header split over members", b"".join([gzip.compress(first[:40]), gzip.compress(first[40:]),
                                                     gzip.compress(second), *members])
        yield "block split over members", b"".join([gzip.compress(first[:-20]), gzip.compress(first[-20:]),
                                                    gzip.compress(second), *members])
        yield "empty member between", b"".join([gzip.compress(first), gzip.compress(b""), gzip.compress(second),
                                                *members])
        yield "blank lines in a member of their own", b"".join([gzip.compress(first[:-4]), gzip.compress(b"\r\n\r\n"),
                                                                gzip.compress(second), *members])


CRAFTED = [(name, layout, data) for name, parts in CASES.items() for layout, data in layouts(parts)]


def outcome(path, **config):
    """The rows, or the exception, of reading ``path`` (warcio fails on some of these records; so must auto)."""
    try:
        return rows(path, **config)
    except Exception as exc:  # noqa: BLE001 - the failure itself is what is compared
        return type(exc)


@pytest.mark.parametrize("name, layout, data", CRAFTED, ids=[f"{name}-{layout}" for name, layout, _ in CRAFTED])
def test_crafted_records_read_the_same_with_fastwarc_as_with_warcio(tmp_path, name, layout, data):
    path = tmp_path / "crafted.warc.gz"
    path.write_bytes(data)
    assert outcome(path) == outcome(path, backend="warcio")


def test_conforming_crafted_files_are_read_by_fastwarc_alone(tmp_path):
    """The shortcuts (canonical headers, simple HTTP blocks) are taken where they apply, not only fallen back from."""
    for layout, data in list(layouts(CASES["conforming"]))[:2] + list(layouts(CASES["HTTP block shapes"]))[:2]:
        path = tmp_path / f"{layout}.warc.gz"
        path.write_bytes(data)
        assert rows(path, backend="fastwarc") == rows(path, backend="warcio")


# ----------------------------------------------------------------------------------- remote, config


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_fastwarc_reads_over_http_as_warcio_reads_the_local_file(tmp_path):
    name = "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz"
    local = shared_path("warc", name)
    (tmp_path / name).write_bytes(local.read_bytes())
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/{name}"
        remote = rows(url, backend="fastwarc")
    finally:
        server.shutdown()
    reference = rows(local, backend="warcio")
    assert [({**row, "source": row["source"].replace(url, str(local))}, reason) for row, reason in remote] == reference


def test_backend_is_validated():
    assert build(WarcReaderConfig, {"backend": "warcio"}).backend == "warcio"
    assert WarcReaderConfig().backend == "auto"
    with pytest.raises(ConfigError, match="reader.backend: expected one of auto, warcio, fastwarc, got 'rust'"):
        build(WarcReaderConfig, {"backend": "rust"}, prefix="reader")


def test_the_backend_is_not_part_of_a_curation_run_plan(tmp_path):
    """A rerun with the other backend resumes the same output folder (the rows do not depend on it)."""
    from pipelines.web.config import CurateConfig
    from pipelines.web.curate import run_plan

    path = tmp_path / "a.warc.gz"
    path.write_bytes(gzip.compress(response(1)))
    default = run_plan(CurateConfig(), [str(path)])
    assert run_plan(CurateConfig(reader=WarcReaderConfig(backend="warcio")), [str(path)]) == default
    assert "backend" not in default["settings"]["reader"]


class _Trickle:
    """A remote-like stream: a few bytes per read, no seek, no tell (FastWARC reads through the reader's tap)."""

    def __init__(self, path, size: int) -> None:
        self.handle, self.size = open(path, "rb"), size

    def read(self, size: int = -1) -> bytes:
        return self.handle.read(self.size if size < 0 else min(size, self.size))

    def close(self) -> None:
        self.handle.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_short_reads_of_a_stream_change_nothing(monkeypatch, size):
    from operators.web import warc_reader

    path = shared_path("warc", "CC-MAIN-2024-22_whirlwind.warc.gz")
    reference = rows(path, backend="warcio")
    monkeypatch.setattr(warc_reader, "open_binary", lambda location: _Trickle(location, size))
    assert rows(path, backend="fastwarc") == reference
