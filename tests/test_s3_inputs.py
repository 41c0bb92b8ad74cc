"""s3:// inputs, anonymous like the public Common Crawl bucket, against a local S3 server (moto)."""

from __future__ import annotations

import gzip

import pyarrow.parquet as pq
import pytest

from pipelines.curate_cc import main
from tests.curated_output import read_stats
from tests.shared_data import shared_path

FILES = ["CC-MAIN-2020-34_excerpt_resiliparse.warc.gz", "CC-MAIN-2024-22_whirlwind.warc.wet.gz"]


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
    s3_out, local_out = tmp_path / "s3", tmp_path / "local"
    assert main(["--input", public_bucket + "warc.paths.gz", "--listing-prefix", public_bucket,
                 "--output", str(s3_out), "--in-process"]) == 0
    assert main(["--input", *[str(shared_path("warc", n)) for n in FILES],
                 "--output", str(local_out), "--in-process"]) == 0
    assert read_stats(str(s3_out)) == read_stats(str(local_out))
    sources = pq.read_table(next(s3_out.glob("zh/*.parquet"))).column("source").to_pylist()
    assert all(s.startswith(public_bucket + "crawl-data/CC-MAIN-2020-34") for s in sources)


def test_missing_s3_object_is_a_counted_fault(public_bucket, tmp_path):
    out = tmp_path / "out"
    assert main(["--input", public_bucket + "crawl-data/absent.warc.gz", "--output", str(out), "--in-process"]) == 0
    assert read_stats(str(out))["operators"][0]["dropped"] == {"warc_unreadable": 1}
