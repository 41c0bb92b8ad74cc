"""Reading plain or compressed files line by line (``.gz``, ``.xz``, ``.bz2``, ``.zst``), with the damage
counted instead of raised: what the parallel-corpus and SFT readers share."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
from typing import BinaryIO, Iterator, Optional, Tuple

COMPRESSIONS = (".gz", ".xz", ".bz2", ".zst")


def strip_compression(name: str) -> str:
    for suffix in COMPRESSIONS:
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name


def open_decompressed(path: str) -> BinaryIO:
    if path.endswith(".gz"):
        return gzip.open(path, "rb")
    if path.endswith(".xz"):
        return lzma.open(path, "rb")
    if path.endswith(".bz2"):
        return bz2.open(path, "rb")
    if path.endswith(".zst"):
        import zstandard

        return io.BufferedReader(zstandard.ZstdDecompressor().stream_reader(open(path, "rb"), closefd=True))
    return open(path, "rb")


def decompressed_lines(path: str) -> Iterator[Tuple[Optional[bytes], Optional[str]]]:
    """(line bytes, None) per line, then (None, "read:truncated") if the stream breaks off."""
    try:
        with open_decompressed(path) as handle:
            for raw in handle:
                yield raw.rstrip(b"\r\n"), None
    except (EOFError, OSError, lzma.LZMAError, ValueError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        yield None, "read:truncated"


def decode_utf8(raw: bytes) -> Optional[str]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None
