"""The README's tour, "From WARC to a trained checkpoint", run line for line as the README shows it (extracted
from README.md by tests/fixtures/readme_tour.py): every command exits 0 and leaves what the README says."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.readme_tour import prepare, run_tour, tour_commands

pytestmark = pytest.mark.slow


def test_tour_commands_are_found_in_the_readme():
    commands = tour_commands()
    assert "pipelines/curate_cc.py" in commands and "launch/dpo.py" in commands


def test_readme_tour_runs_as_written(tmp_path):
    folder = prepare(tmp_path / "checkout")
    result = run_tour(folder)
    assert result.returncode == 0, (result.stdout + result.stderr)[-6000:]
    tour = folder / "build" / "tour"
    curated = json.loads((tour / "curated" / "stats.json").read_text())
    perplexity = next(op for op in curated["operators"] if op["name"] == "perplexity")
    assert perplexity["docs_in"] > 0  # the perplexity step ran, with the models the tour trained
    for stage in (1, 2):
        assert (tour / "blends" / f"stage-{stage}.blend.json").is_file()
    blends = [json.loads((tour / "blends" / f"stage-{s}.blend.json").read_text())["blend_shares"] for s in (1, 2)]
    assert blends[0] != blends[1]  # Table 2's two stages differ even on ten documents
    for run in ("stage-1", "stage-2", "sft", "dpo"):
        assert (tour / "checkpoints" / run / "final" / "export.json").is_file(), run
    start = [json.loads(line) for line in (tour / "checkpoints" / "stage-2" / "logs" / "train.jsonl").open()][0]
    assert start["init_from"].endswith("checkpoints/stage-1/final")
