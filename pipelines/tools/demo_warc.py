"""Build the demo WARC from the project's own fixture pages (``pipelines/tools/demo_pages/``).

    python pipelines/build_demo_warc.py --output build/demo/demo.warc.gz

``pipelines/tools/demo_pages/manifest.json`` lists one HTTP response per record::

    {"file": "en_....html", "url": "...", "status": 200,
     "content_type": "text/html; charset=utf-8", "charset": "utf-8", "expect": "en"}

* ``file``: a page in ``demo_pages/``, stored on disk already encoded in ``charset`` (the bytes go
  into the WARC unchanged; the Russian and Japanese pages are windows-1251 / Shift_JIS and declare
  their charset only in the HTTP Content-Type header).
* ``body`` (text, encoded with ``charset``) or ``body_base64`` (raw bytes): an inline payload.
* ``oversize_bytes``: an HTML page built here by repeating ``paragraph`` until it exceeds that size.
* ``expect``: the language the pipeline should keep the page as, or the reason it should drop it.

The output is a gzip-per-record WARC/1.1 (as Common Crawl's): a warcinfo record, then one
``response`` record per manifest entry with a full HTTP/1.1 header block. Dates and record ids are
derived from the manifest (fixed base date, uuid5 of the URL), so every run writes the same bytes.

Only the standard library and warcio are used, so the script runs from anywhere.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import uuid
from datetime import datetime, timedelta, timezone
from http import HTTPStatus
from io import BytesIO
from typing import List, Optional

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

from common.atomic_io import atomic_write

PAGES_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo_pages")
MANIFEST = os.path.join(PAGES_DIR, "manifest.json")
DEFAULT_OUTPUT = os.path.join("build", "demo", "demo.warc.gz")

# Record i is dated BASE_DATE + i seconds: fixed, so the file is byte-identical on every run.
BASE_DATE = datetime(2024, 6, 1, 12, 0, 0, tzinfo=timezone.utc)


def load_manifest(path: str = MANIFEST) -> List[dict]:
    with open(path, encoding="utf-8") as handle:
        records = json.load(handle)
    if not isinstance(records, list) or not records:
        raise ValueError(f"{path}: expected a non-empty JSON list of records")
    for i, rec in enumerate(records):
        for key in ("url", "status", "content_type", "expect"):
            if key not in rec:
                raise ValueError(f"{path}: record {i} has no {key!r}")
        sources = [k for k in ("file", "body", "body_base64", "oversize_bytes") if k in rec]
        if len(sources) != 1:
            raise ValueError(f"{path}: record {i} needs exactly one of file/body/body_base64/oversize_bytes")
    return records


def _oversized_page(rec: dict, charset: str) -> bytes:
    """An HTML page that repeats one paragraph until it is larger than ``oversize_bytes``."""
    limit = int(rec["oversize_bytes"])
    head = (
        "<!DOCTYPE html>\n<html>\n<head>\n"
        f"<meta charset=\"{charset}\">\n<title>{rec.get('title', 'Archive')}</title>\n</head>\n"
        f"<body>\n<article>\n<h1>{rec.get('title', 'Archive')}</h1>\n"
    ).encode(charset)
    tail = "</article>\n</body>\n</html>\n".encode(charset)
    paragraph = f"<p>{rec['paragraph']}</p>\n".encode(charset)
    count = (limit - len(head) - len(tail)) // len(paragraph) + 1
    return head + paragraph * count + tail


def record_body(rec: dict, pages_dir: str = PAGES_DIR) -> bytes:
    """The HTTP payload of one manifest record, as bytes (``file`` is relative to ``pages_dir``)."""
    charset = rec.get("charset") or "utf-8"
    if "file" in rec:
        with open(os.path.join(pages_dir, rec["file"]), "rb") as handle:
            body = handle.read()
        body.decode(charset)  # the file must really be in the charset the manifest declares
        return body
    if "body" in rec:
        return rec["body"].encode(charset)
    if "body_base64" in rec:
        return base64.b64decode(rec["body_base64"])
    return _oversized_page(rec, charset)


def record_id(url: str) -> str:
    return f"<urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, url)}>"


def _warc_date(index: int) -> str:
    return (BASE_DATE + timedelta(seconds=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _http_headers(rec: dict, body: bytes) -> StatusAndHeaders:
    status = int(rec["status"])
    headers = [
        ("Date", (BASE_DATE - timedelta(days=1)).strftime("%a, %d %b %Y %H:%M:%S GMT")),
        ("Server", "nginx"),
        ("Content-Type", rec["content_type"]),
        ("Content-Length", str(len(body))),
        ("Connection", "close"),
    ]
    return StatusAndHeaders(f"{status} {HTTPStatus(status).phrase}", headers, protocol="HTTP/1.1")


def build_demo_warc(output_path: str = DEFAULT_OUTPUT, manifest_path: Optional[str] = None) -> str:
    """Write the demo WARC to ``output_path`` (parent folders created) and return the path."""
    manifest_path = manifest_path or MANIFEST
    records = load_manifest(manifest_path)
    pages_dir = os.path.dirname(os.path.abspath(manifest_path))
    with atomic_write(output_path, "wb") as out:
        writer = WARCWriter(out, gzip=True, warc_version="1.1")
        filename = os.path.basename(output_path)
        info = (
            "software: marco-curation build_demo_warc.py (warcio)\r\n"
            "format: WARC File Format 1.1\r\n"
            "description: demo pages of the curation pipeline (pipelines/tools/demo_pages/manifest.json)\r\n"
        ).encode("utf-8")
        writer.write_record(
            writer.create_warc_record(
                "",
                "warcinfo",
                payload=BytesIO(info),
                length=len(info),
                warc_content_type="application/warc-fields",
                warc_headers_dict={
                    "WARC-Record-ID": record_id("warcinfo:" + filename),
                    "WARC-Date": _warc_date(0),
                    "WARC-Filename": filename,
                },
            )
        )
        for index, rec in enumerate(records, start=1):
            body = record_body(rec, pages_dir)
            writer.write_record(
                writer.create_warc_record(
                    rec["url"],
                    "response",
                    payload=BytesIO(body),
                    length=len(body),
                    http_headers=_http_headers(rec, body),
                    warc_headers_dict={
                        "WARC-Record-ID": record_id(rec["url"]),
                        "WARC-Date": _warc_date(index),
                    },
                )
            )
    return output_path


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output", default=DEFAULT_OUTPUT, help=f"WARC file to write (default {DEFAULT_OUTPUT})")
    parser.add_argument("--manifest", default=MANIFEST, help="manifest JSON (default: demo_pages/manifest.json)")
    args = parser.parse_args(argv)
    path = build_demo_warc(args.output, args.manifest)
    count = len(load_manifest(args.manifest))
    print(f"wrote {path}: {count} response records ({os.path.getsize(path)} bytes)")
    return 0

