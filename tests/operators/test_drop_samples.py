"""The sample of dropped documents (operators/drop_samples.py, OUT/_drops/): bounded per operator x reason x
language, chosen by a hash of the document's identity so that any batching gives the same sample, and carrying
what decided the drop."""

from __future__ import annotations

import json

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.stats_report import render
from operators.drop_samples import DropSampling, DropSamples, candidates
from pipelines.web.config import load_config
from pipelines.web.curate import curate
from tests.fixtures.curated_output import read_stats
from tests.fixtures.shared_data import shared_path


def _batch(n: int, offset: int = 0) -> pa.Table:
    return pa.table({"id": [f"doc-{i}" for i in range(offset, offset + n)],
                     "url": [f"https://example.org/{i}" for i in range(offset, offset + n)],
                     "text": [f"text {i} " * 50 for i in range(offset, offset + n)],
                     "lang": ["en" if i % 3 else "de" for i in range(offset, offset + n)],
                     "q_score": [i / 10 for i in range(offset, offset + n)]})


def test_any_batching_gives_the_same_sample():
    sampling = DropSampling(per_key=4, text_chars=20)
    whole = DropSamples()
    table = _batch(60)
    reasons = ["short" if i % 2 else None for i in range(60)]
    whole.add(candidates("quality", table, reasons, "id", sampling), sampling.per_key)
    pieces = DropSamples()
    for start in (40, 0, 25, 10):  # other batches, another order, each merged into its own sample first
        end = {0: 10, 10: 25, 25: 40, 40: 60}[start]
        part = DropSamples()
        part.add(candidates("quality", table.slice(start, end - start), reasons[start:end], "id", sampling), 4)
        pieces.merge(part)
    assert pieces.rows() == whole.rows()
    rows = whole.rows()
    assert {(r["reason"], r["lang"]) for r in rows} == {("short", "en"), ("short", "de")}
    assert all(len(r["text"]) <= 20 and json.loads(r["signals"])["q_score"] >= 0 for r in rows)
    assert len(rows) == 8


def test_report_escapes_the_sampled_texts():
    sampling = DropSampling(per_key=2)
    table = pa.table({"id": ["a"], "url": ["https://x.org/<b>"], "text": ["<script>alert(1)</script> & more"]})
    samples = DropSamples()
    samples.add(candidates("quality", table, ["quality:min_words"], "id", sampling), 2)
    stats = {"operators": [{"name": "quality", "docs_in": 1, "docs_out": 0, "dropped": {"quality:min_words": 1}}],
             "kept_per_language": {}}
    page = render(stats, "t", samples)
    assert "<script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more" in page
    assert 'id="drop-examples"' in page and "https://x.org/&lt;b&gt;" in page


@pytest.fixture(scope="module")
def warcs():
    return [str(shared_path("warc")) + "/*"]


def test_the_sample_is_the_lowest_hashes_of_every_dropped_document(warcs, tmp_path):
    """On the shared WARCs: with per_key 3, every operator x reason x language holds min(3, dropped) documents,
    exactly the 3 of lowest hash among all that were dropped for it (a run that samples them all shows which)."""
    runs = {}
    for per_key in (3, 100_000):
        config = load_config(None)
        config.drops = DropSampling(per_key=per_key, text_chars=500)
        out = tmp_path / f"k{per_key}"
        curate(config, warcs, str(out), in_process=True)
        runs[per_key] = (pq.read_table(out / "_drops" / "drops.parquet").to_pylist(), read_stats(str(out)))
    every, stats = runs[100_000]
    sample, stats3 = runs[3]
    assert stats3 == stats
    groups: dict = {}
    for row in every:
        groups.setdefault((row["operator"], row["reason"], row["lang"]), []).append(row)
    expected = [row for key in sorted(groups)
                for row in sorted(groups[key], key=lambda r: (r["rank"], r["id"], r["source"]))[:3]]
    assert sample == expected
    # Every dropped document is in the complete sample: its size per operator and reason is the count.
    for op in stats["operators"]:
        for reason, count in op["dropped"].items():
            assert sum(len(rows) for (name, why, _), rows in groups.items() if (name, why) == (op["name"], reason)) \
                == count, (op["name"], reason)
    # What decided it travels with it: the language score for language ID, the q_* signals for quality.
    quality = [row for row in sample if row["operator"] == "quality"]
    assert quality and all("q_stop_word_ratio" in json.loads(row["signals"]) for row in quality)
    assert all(0 < len(row["text"]) <= 500 for row in quality)
    assert all("lang_score" in json.loads(row["signals"]) for row in sample if row["operator"] == "langid")
