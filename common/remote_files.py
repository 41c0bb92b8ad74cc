"""Opening inputs wherever they live: local paths, ``https://`` URLs and ``s3://`` objects.

* Local files: plain ``open``.
* ``http(s)://``: streamed with urllib (no whole-file download); a failed open is retried.
* ``s3://bucket/key``: pyarrow's S3 filesystem, anonymous by default (the Common Crawl bucket is
  public, region us-east-1); set ``AWS_ACCESS_KEY_ID`` etc. and ``MARCO_S3_ANONYMOUS=0`` to sign,
  ``MARCO_S3_ENDPOINT=http://host:port`` for an S3-compatible store.

Listing expansion (:func:`expand_inputs`) runs on the driver: globs, directories, and Common Crawl
``warc.paths.gz`` / ``wet.paths.gz`` listings whose relative lines are prefixed with a base URL.
"""

from __future__ import annotations

import glob
import gzip
import io
import os
import time
import urllib.request
from typing import BinaryIO, Iterable, List

COMMON_CRAWL_HTTPS = "https://data.commoncrawl.org/"
COMMON_CRAWL_S3 = "s3://commoncrawl/"

_OPEN_RETRIES = 3


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


def expand_inputs(inputs: Iterable[str], listing_prefix: str = COMMON_CRAWL_HTTPS) -> List[str]:
    """Turn user inputs into a list of WARC/WET locations, in a stable order, without duplicates.

    Raises FileNotFoundError naming an input that matches nothing, before any work starts.
    """
    locations: List[str] = []
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
            locations.extend(found)
        elif glob.has_magic(item):
            matches = sorted(p for p in glob.glob(item) if os.path.isfile(p))
            if not matches:
                raise FileNotFoundError(f"--input {item}: no file matches")
            locations.extend(matches)
        elif os.path.isfile(item):
            locations.append(item)
        else:
            raise FileNotFoundError(f"--input {item}: no such file")
    seen = set()
    unique = []
    for loc in locations:
        if loc not in seen:
            seen.add(loc)
            unique.append(loc)
    return unique
