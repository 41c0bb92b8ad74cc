"""Opening inputs wherever they live: local paths, ``https://`` URLs and ``s3://`` objects.

* Local files: plain ``open``.
* ``http(s)://``: streamed with urllib (no whole-file download); a failed open is retried.
* ``s3://bucket/key``: pyarrow's S3 filesystem, anonymous by default (the Common Crawl bucket is
  public, region us-east-1); set ``AWS_ACCESS_KEY_ID`` etc. and ``MARCO_S3_ANONYMOUS=0`` to sign,
  ``MARCO_S3_ENDPOINT=http://host:port`` for an S3-compatible store.

Listing expansion (:func:`expand_inputs`, :func:`expand_input_files`) runs on the driver: globs, directories,
and Common Crawl ``warc.paths.gz`` / ``wet.paths.gz`` listings whose relative lines are prefixed with a base URL.

Which files are read:

* a file named explicitly, every match of a glob, every line of a listing: always (a file that is no
  archive is then counted by the reader, as ``warc_unreadable``);
* in a directory (searched recursively; hidden files left out): only files named like an archive
  (:func:`is_archive_name`: ``.warc``, ``.wet``, ``.wat``, ``.arc``, each optionally ``.gz``, e.g.
  ``.warc.gz``, ``.warc.wet.gz``, ``.wat.gz``). The others (``SOURCE.md``, ``readme.txt``) are skipped
  by name: one warning line per directory on the driver, and :func:`expand_input_files` returns them so the
  pipeline records them in ``stats.json`` (``inputs.skipped``). A directory with no such file at all is an
  error naming it, as a glob that matches nothing is.
"""

from __future__ import annotations

import glob
import gzip
import io
import logging
import os
import time
import urllib.request
from typing import BinaryIO, Iterable, List, NamedTuple, Sequence

log = logging.getLogger(__name__)

COMMON_CRAWL_HTTPS = "https://data.commoncrawl.org/"
COMMON_CRAWL_S3 = "s3://commoncrawl/"

_OPEN_RETRIES = 3

# What a file found in a directory input must be named like (before an optional ".gz").
ARCHIVE_SUFFIXES = (".warc", ".wet", ".wat", ".arc")
# File names a warning line lists before it says "+N more".
_NAMED = 5


def is_remote(location: str) -> bool:
    return location.startswith(("http://", "https://", "s3://"))


def _open_http(url: str) -> BinaryIO:
    last: Exception | None = None
    for attempt in range(_OPEN_RETRIES):
        try:
            request = urllib.request.Request(url, headers={"User-Agent": "marco-curation/0.1"})
            return urllib.request.urlopen(request, timeout=60)
        except Exception as exc:  # network errors: retry with backoff, then give up
            last = exc
            time.sleep(2**attempt)
    raise OSError(f"cannot open {url}: {last}")


def _open_s3(location: str) -> BinaryIO:
    from pyarrow import fs

    anonymous = os.environ.get("MARCO_S3_ANONYMOUS", "1") != "0"
    region = os.environ.get("AWS_REGION", "us-east-1")
    endpoint = os.environ.get("MARCO_S3_ENDPOINT")  # an S3-compatible store, e.g. http://minio:9000
    options = {}
    if endpoint:
        scheme, _, host = endpoint.partition("://")
        options = {"endpoint_override": host or scheme, "scheme": scheme if host else "https"}
    s3 = fs.S3FileSystem(anonymous=anonymous, region=region, **options)
    # compression=None: the raw bytes (pyarrow would otherwise gunzip .gz on its own)
    return s3.open_input_stream(location[len("s3://"):], compression=None)


def open_binary(location: str) -> BinaryIO:
    """A readable binary stream for a local path, an http(s) URL or an s3:// object."""
    if location.startswith(("http://", "https://")):
        return _open_http(location)
    if location.startswith("s3://"):
        return _open_s3(location)
    return open(location, "rb")


def is_listing(location: str) -> bool:
    """Common Crawl path listings: ``warc.paths.gz``, ``wet.paths.gz`` or a plain ``*.paths`` file."""
    base = location.rsplit("/", 1)[-1]
    return base.endswith(".paths.gz") or base.endswith(".paths")


def read_listing(location: str, prefix: str) -> List[str]:
    """Lines of a listing; relative lines get ``prefix`` (e.g. the Common Crawl https base)."""
    with open_binary(location) as raw:
        data = raw.read()
    if location.endswith(".gz"):
        data = gzip.decompress(data)
    out = []
    for line in io.StringIO(data.decode("utf-8")):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        out.append(line if is_remote(line) or os.path.isabs(line) else prefix + line)
    return out


def is_archive_name(path: str) -> bool:
    """Named like a WARC, WET, WAT or ARC file, plain or gzipped (``x.warc.gz``, ``x.warc.wet.gz``)."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(".gz"):
        name = name[:-3]
    return name.endswith(ARCHIVE_SUFFIXES)


def describe_skipped(folder: str, paths: Sequence[str], what: str) -> str:
    """``skipped 2 non-WARC files in DIR: SOURCE.md, readme.txt`` (names relative to ``folder``)."""
    names = [os.path.relpath(p, folder) for p in paths]
    more = f" (+{len(names) - _NAMED} more)" if len(names) > _NAMED else ""
    return f"skipped {len(names)} {what} in {folder}: {', '.join(names[:_NAMED])}{more}"


class InputFiles(NamedTuple):
    locations: List[str]   # what to read, in a stable order, without duplicates
    skipped: List[str]     # files of directory inputs not named like an archive, left out


def expand_input_files(inputs: Iterable[str], listing_prefix: str = COMMON_CRAWL_HTTPS) -> InputFiles:
    """Turn user inputs into the WARC/WET locations to read and the files of directories skipped by name.

    Raises FileNotFoundError naming an input that matches nothing, before any work starts.
    """
    locations: List[str] = []
    skipped: List[str] = []
    for item in inputs:
        if is_listing(item):
            locations.extend(read_listing(item, listing_prefix))
        elif is_remote(item):
            locations.append(item)
        elif os.path.isdir(item):
            found = sorted(
                os.path.join(root, name)
                for root, _, names in os.walk(item)
                for name in names
                if not name.startswith(".")
            )
            archives = [p for p in found if is_archive_name(p)]
            left_out = [p for p in found if not is_archive_name(p)]
            if not archives:
                raise FileNotFoundError(f"--input {item}: no file named like a WARC/WET/WAT file in this directory"
                                        + (f" ({describe_skipped(item, left_out, 'other files')})" if left_out else ""))
            if left_out:
                log.warning("%s", describe_skipped(item, left_out, "non-WARC files"))
                skipped.extend(left_out)
            locations.extend(archives)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            if not matches:
                raise FileNotFoundError(f"--input {item}: no file matches")
            locations.extend(matches)
        elif os.path.isfile(item):
            locations.append(item)
        else:
            raise FileNotFoundError(f"--input {item}: no such file")
    unique = list(dict.fromkeys(locations))
    read = set(unique)  # a file both skipped in a directory and named explicitly is read
    return InputFiles(unique, [p for p in dict.fromkeys(skipped) if p not in read])


def expand_inputs(inputs: Iterable[str], listing_prefix: str = COMMON_CRAWL_HTTPS) -> List[str]:
    """The locations of :func:`expand_input_files` (the skipped files are only logged)."""
    return expand_input_files(inputs, listing_prefix).locations
