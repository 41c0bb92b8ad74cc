"""Every broken archive in shared/data/warc_quirks goes through the whole pipeline with exit code 0."""

from __future__ import annotations

import json

import pytest

from pipelines.web.curate import main
from tests.fixtures.curated_output import assert_invariant
from tests.fixtures.shared_data import SHARED_DATA

QUIRKS = sorted(p for p in (SHARED_DATA / "warc_quirks").glob("*.gz")) if (SHARED_DATA / "warc_quirks").exists() else []
FAULTS = {"warc_truncated", "warc_malformed", "warc_unreadable"}


@pytest.mark.skipif(not QUIRKS, reason=f"shared data not found: {SHARED_DATA / 'warc_quirks'}")
@pytest.mark.parametrize("path", QUIRKS, ids=[p.name for p in QUIRKS])
def test_quirky_archive_exits_zero_and_counts_faults(path, tmp_path):
    out = tmp_path / "out"
    assert main(["--input", str(path), "--output", str(out), "--in-process"]) == 0
    stats = json.loads((out / "stats.json").read_text())
    assert_invariant(stats)
    reader = stats["operators"][0]
    assert reader["name"] == "warc_reader"
    faults = {k: v for k, v in reader["dropped"].items() if k in FAULTS}
    # Files known to be damaged report the damage; readable ones produce documents.
    assert faults or reader["docs_out"] > 0
