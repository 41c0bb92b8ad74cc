"""Remote inputs: http(s) URLs, s3:// objects (anonymous, like the public Common Crawl bucket) and
Common Crawl style warc.paths.gz listings, served on loopback (a local HTTP server, a local S3 server)."""

from __future__ import annotations

import functools
import gzip
import http.server
import shutil
import threading

import pyarrow.parquet as pq
import pytest

from common.remote_files import expand_inputs
from pipelines.web.curate import main
from tests.fixtures.curated_output import read_stats, shard_paths
from tests.fixtures.shared_data import shared_path

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


def _counts(stats: dict) -> dict:
    """The statistics without their samples, which name the files where they were read (URL or local path)."""
    return {**stats, "operators": [{k: v for k, v in op.items() if k != "samples"} for op in stats["operators"]]}


def _curate_listing_and_local_copies(base: str, tmp_path):
    """Curate ``base``/warc.paths.gz and the same files from local disk; (remote output dir, both stats' counts).
    The remote run's samples name the remote files."""
    remote_out, local_out = tmp_path / "remote", tmp_path / "local"
    assert main(["--input", base + "warc.paths.gz", "--listing-prefix", base,
                 "--output", str(remote_out), "--in-process"]) == 0
    assert main(["--input", *[str(shared_path("warc", n)) for n in FILES],
                 "--output", str(local_out), "--in-process"]) == 0
    remote = read_stats(str(remote_out))
    samples = [value for op in remote["operators"] for values in op.get("samples", {}).values() for value in values]
    assert samples and all(value.startswith(base) for value in remote["operators"][0]["samples"]["warc_not_a_document"])
    return remote_out, _counts(remote), _counts(read_stats(str(local_out)))


def test_pipeline_reads_a_listing_over_http_like_local_files(served_crawl, tmp_path):
    _, remote, local = _curate_listing_and_local_copies(served_crawl, tmp_path)
    assert remote == local
    assert remote["operators"][0]["docs_out"] == 17  # 16 HTML responses + 1 WET conversion


def test_unreachable_url_is_a_counted_fault(tmp_path):
    out = tmp_path / "out"
    assert main(["--input", "http://127.0.0.1:9/missing.warc.gz", "--output", str(out), "--in-process"]) == 0
    assert read_stats(str(out))["operators"][0]["dropped"] == {"warc_unreadable": 1}


@pytest.fixture()
def public_bucket(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    server_module = pytest.importorskip("moto.server")
    server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                      aws_access_key_id="test", aws_secret_access_key="test")
    s3.create_bucket(Bucket="commoncrawl")
    for name in FILES:
        s3.upload_file(str(shared_path("warc", name)), "commoncrawl", f"crawl-data/{name}",
                       ExtraArgs={"ACL": "public-read"})
    listing = gzip.compress("".join(f"crawl-data/{n}\n" for n in FILES).encode())
    s3.put_object(Bucket="commoncrawl", Key="warc.paths.gz", Body=listing, ACL="public-read")
    monkeypatch.setenv("MARCO_S3_ENDPOINT", endpoint)
    monkeypatch.setenv("MARCO_S3_ANONYMOUS", "1")
    yield "s3://commoncrawl/"
    server.stop()


def test_s3_listing_reads_like_local_files(public_bucket, tmp_path):
    s3_out, remote, local = _curate_listing_and_local_copies(public_bucket, tmp_path)
    assert remote == local
    # Kept documents name the object they were read from in the bucket.
    sources = [source for path in shard_paths(s3_out)
               for source in pq.read_table(path).column("source").to_pylist()]
    assert sources and all(s.startswith(public_bucket + "crawl-data/CC-MAIN-") for s in sources)


def test_missing_s3_object_is_a_counted_fault(public_bucket, tmp_path):
    out = tmp_path / "out"
    assert main(["--input", public_bucket + "crawl-data/absent.warc.gz", "--output", str(out), "--in-process"]) == 0
    assert read_stats(str(out))["operators"][0]["dropped"] == {"warc_unreadable": 1}
