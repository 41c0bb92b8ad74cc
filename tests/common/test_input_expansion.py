"""Which files a directory input gives the WARC reader: archives by name; the rest skipped by name and said."""

from __future__ import annotations

import gzip
import logging
import shutil

import pytest

from common.remote_files import expand_input_files, expand_inputs, is_archive_name
from tests.fixtures.shared_data import shared_path

WARC = "CC-MAIN-2024-22_whirlwind.warc.gz"


@pytest.fixture()
def crawl_dir(tmp_path):
    folder = tmp_path / "crawl"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(shared_path("warc", WARC), folder / WARC)
    (folder / "SOURCE.md").write_text("# where these files come from\n")
    (folder / "readme.txt").write_text("hello\n")
    (folder / "sub" / "part.warc.wet.gz").write_bytes(gzip.compress(b""))
    (folder / ".hidden.warc.gz").write_bytes(b"")
    return folder


def test_directory_input_takes_archives_and_skips_the_rest_by_name(crawl_dir, caplog):
    with caplog.at_level(logging.WARNING, logger="common.remote_files"):
        found = expand_input_files([str(crawl_dir)])
    assert found.locations == [str(crawl_dir / WARC), str(crawl_dir / "sub" / "part.warc.wet.gz")]
    assert found.skipped == [str(crawl_dir / "SOURCE.md"), str(crawl_dir / "readme.txt")]
    assert f"skipped 2 non-WARC files in {crawl_dir}: SOURCE.md, readme.txt" in caplog.text
    assert expand_inputs([str(crawl_dir)]) == found.locations


def test_explicit_files_and_globs_are_always_read(crawl_dir):
    found = expand_input_files([str(crawl_dir / "readme.txt"), str(crawl_dir / "*.md")])
    assert found.locations == [str(crawl_dir / "readme.txt"), str(crawl_dir / "SOURCE.md")]
    assert found.skipped == []
    # named explicitly as well as found in the directory: read, not reported as skipped
    both = expand_input_files([str(crawl_dir), str(crawl_dir / "SOURCE.md")])
    assert str(crawl_dir / "SOURCE.md") in both.locations and both.skipped == [str(crawl_dir / "readme.txt")]


def test_directory_without_archives_is_an_error_naming_it(tmp_path):
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "SOURCE.md").write_text("x")
    with pytest.raises(FileNotFoundError, match="no file named like a WARC.*SOURCE.md"):
        expand_input_files([str(tmp_path / "notes")])


@pytest.mark.parametrize("name, archive", [
    ("a.warc", True), ("a.warc.gz", True), ("a.WARC.GZ", True), ("a.wet.gz", True), ("a.warc.wet.gz", True),
    ("a.warc.wat.gz", True), ("a.wat", True), ("a.arc.gz", True), ("SOURCE.md", False), ("readme.txt", False),
    ("warc.paths.gz", False), ("a.warc.gz.tmp", False), ("a.gz", False),
])
def test_archive_names(name, archive):
    assert is_archive_name(f"/data/{name}") is archive
