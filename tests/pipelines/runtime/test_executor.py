"""The executor seam: a step list run in-process, regrouped batches, and what the Ray Data executor refuses."""

from __future__ import annotations

import pyarrow as pa
import pytest

from operators.stats import PipelineStats
from operators.web.url_filter import UrlFilter, UrlFilterConfig
from operators.web.warc_reader import WarcReader, WarcReaderConfig
from pipelines.runtime.executor import InProcessExecutor, RayDataExecutor, Step, StepList, regroup
from tests.fixtures.shared_data import shared_path


def test_regroup_folds_the_remainder_into_the_last_batch():
    tables = [pa.table({"n": list(range(i * 7, (i + 1) * 7))}) for i in range(30)]  # 210 rows in pieces of 7
    chunks = list(regroup(iter(tables), 20))
    assert [c.num_rows for c in chunks] == [20] * 9 + [30]
    assert [n for c in chunks for n in c.column("n").to_pylist()] == list(range(210))
    assert [c.num_rows for c in regroup(iter(tables[:2]), 20)] == [14]
    assert list(regroup(iter([pa.table({"n": []})]), 20)) == []


def _web_steps(batch_rows=None, reader_batch: int = 16) -> StepList:
    return StepList.of(WarcReader(WarcReaderConfig(batch_size=reader_batch)),
                       Step(UrlFilter(UrlFilterConfig()), batch_rows))


def test_in_process_run_counts_every_step_and_regroups_before_a_step():
    files = [str(shared_path("warc", "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz")),
             str(shared_path("warc", "CC-MAIN-2024-22_whirlwind.warc.gz"))]
    steps = _web_steps()
    assert steps.names == ["warc_reader", "url_filter"]
    plain = PipelineStats(steps.names)
    plain_tables = list(InProcessExecutor().stream(steps, files, plain))
    plain_ids = [i for t in plain_tables for i in t.column("id").to_pylist()]
    regrouped = PipelineStats(steps.names)
    sizes, ids = [], []
    for table in InProcessExecutor().stream(_web_steps(batch_rows=5), files, regrouped):
        sizes.append(table.num_rows)
        ids.extend(table.column("id").to_pylist())
    reader, url = plain.operator("warc_reader"), plain.operator("url_filter")
    assert reader.docs_out == url.docs_in > 0 and url.docs_out == len(plain_ids)
    # The same documents in the same order, whatever the batches; the filter saw batches of 5 rows per file
    # (the remainder folded into the last one), so its outputs are at most 9 rows.
    assert ids == plain_ids
    assert max(t.num_rows for t in plain_tables) > 9 >= max(sizes)
    assert regrouped.to_dict() == plain.to_dict()


def test_execute_writes_batches_of_at_least_write_rows():
    files = [str(shared_path("warc", "CC-MAIN-2020-34_excerpt_resiliparse.warc.gz"))]
    steps = _web_steps(reader_batch=2)  # the reader alone emits batches of at most 2 documents
    unbatched = InProcessExecutor().execute(steps, files, None, lambda t: t)
    written = InProcessExecutor().execute(steps, files, None, lambda t: t, write_rows=6)
    assert max(t.num_rows for t in unbatched) <= 2
    assert [i for t in written for i in t.column("id").to_pylist()] == [
        i for t in unbatched for i in t.column("id").to_pylist()]
    assert len(written) >= 2 and all(t.num_rows >= 6 for t in written)


def test_ray_data_executor_refuses_steps_that_regroup():
    pytest.importorskip("ray")
    with pytest.raises(ValueError, match="url_filter"):
        RayDataExecutor().execute(_web_steps(batch_rows=5), ["x.warc.gz"], None, lambda t: t)
