"""Inputs over HTTP and through a Common Crawl style warc.paths.gz listing (served on loopback)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import threading

import pytest

from operators.remote_files import expand_inputs
from pipelines.curate_cc import main
from tests.curated_output import read_stats
from tests.shared_data import shared_path

FILES = ["CC-MAIN-2020-34_excerpt_resiliparse.warc.gz", "CC-MAIN-2024-22_whirlwind.warc.wet.gz"]


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture()
def served_crawl(tmp_path):
    root = tmp_path / "www"
    (root / "crawl-data").mkdir(parents=True)
    for name in FILES:
        shutil.copy(shared_path("warc", name), root / "crawl-data" / name)
    listing = "\n".join(f"crawl-data/{name}" for name in FILES) + "\n"
    (root / "warc.paths.gz").write_bytes(gzip.compress(listing.encode()))
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()


def test_listing_expands_relative_paths_with_prefix(served_crawl):
    locations = expand_inputs([served_crawl + "warc.paths.gz"], listing_prefix=served_crawl)
    assert locations == [served_crawl + "crawl-data/" + name for name in FILES]


def test_pipeline_reads_a_listing_over_http_like_local_files(served_crawl, tmp_path):
    remote_out, local_out = tmp_path / "remote", tmp_path / "local"
    assert main(["--input", served_crawl + "warc.paths.gz", "--listing-prefix", served_crawl,
                 "--output", str(remote_out), "--in-process"]) == 0
    assert main(["--input", *[str(shared_path("warc", n)) for n in FILES],
                 "--output", str(local_out), "--in-process"]) == 0
    remote, local = read_stats(str(remote_out)), read_stats(str(local_out))
    assert remote == local
    assert remote["operators"][0]["docs_out"] == 17  # 16 HTML responses + 1 WET conversion


def test_unreachable_url_is_a_counted_fault(tmp_path):
    out = tmp_path / "out"
    assert main(["--input", "http://127.0.0.1:9/missing.warc.gz", "--output", str(out), "--in-process"]) == 0
    assert read_stats(str(out))["operators"][0]["dropped"] == {"warc_unreadable": 1}
