"""An output location that is read-only or fills up: one clear error naming the path (no traceback), before
any work where it can be known, and nothing half-committed; freeing space and rerunning resumes."""

from __future__ import annotations

import pytest

from pipelines.tools.demo_warc import build_demo_warc
from pipelines.web.curate import main
from tests.fixtures.curated_output import read_stats
from tests.fixtures.small_filesystem import fill, make_read_only, small_filesystem


@pytest.fixture(scope="module")
def demo_warc(tmp_path_factory):
    return build_demo_warc(str(tmp_path_factory.mktemp("demo") / "demo.warc.gz"))


def test_read_only_output_is_one_error_before_any_work(demo_warc, tmp_path, capsys):
    with small_filesystem(tmp_path / "mnt") as mount:
        make_read_only(mount)
        assert main(["--input", demo_warc, "--output", str(mount / "out"), "--in-process"]) == 2
        captured = capsys.readouterr()
        assert f"error: --output {mount / 'out'}: cannot write there (Read-only file system)" in captured.err
        assert "Traceback" not in captured.err + captured.out
        assert "progress" not in captured.err  # refused before reading a document


def test_full_output_stops_with_one_line_commits_nothing_and_resumes(demo_warc, tmp_path, capsys):
    clean = tmp_path / "clean"
    assert main(["--input", demo_warc, "--output", str(clean), "--in-process"]) == 0
    with small_filesystem(tmp_path / "mnt", size="2m") as mount:
        out = mount / "out"
        filler = fill(mount, leave_bytes=48 * 1024)  # room for the plan, not for the shards
        capsys.readouterr()
        assert main(["--input", demo_warc, "--output", str(out), "--in-process", "--chunk-files", "1"]) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: ") and "No space left on device" in err and str(out) in err
        assert "rerun the same command" in err and len(err.strip().splitlines()) == 1
        assert "Traceback" not in err
        assert not list(out.glob("*/*.parquet")) and not (out / "stats.json").exists()
        filler.unlink()
        assert main(["--input", demo_warc, "--output", str(out), "--in-process", "--chunk-files", "1"]) == 0
        assert read_stats(str(out))["kept_per_language"] == read_stats(str(clean))["kept_per_language"]
