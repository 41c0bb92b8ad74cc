"""A run's statistics so far, as one line of its driver's log, and read back from a job's log.

The driver of a pipeline submitted as a job (Ray's Jobs API) logs, after each finished chunk, the human table
and one machine-readable line, ``running statistics {...}`` (the chunks done and the statistics so far as
compact JSON, samples left out), and one more at its end with its final figures (``"final": true``). A job's
log is what the Jobs API serves for a live or finished job, through the dashboard's address alone, so
``pipelines/job_stats.py`` and ``pipelines/submit_job.py --wait`` read the table from there. Runs that are
not submitted jobs do not write these lines (nothing would read them).
"""

from __future__ import annotations

import json
import logging
import os
import re
from dataclasses import dataclass
from typing import Optional

from operators.stats import PipelineStats

MARKER = "running statistics "
_LINE = re.compile(re.escape(MARKER) + r"(\{.*\})\s*$", re.M)


@dataclass(frozen=True)
class RunningStats:
    stats: PipelineStats
    final: bool = False      # the run's own stats.json figures (its last line)
    chunks: int = 0          # chunks finished in this run so far (0 where the pipeline does not say)
    total_chunks: int = 0    # chunks this run has to do

    def heading(self) -> str:
        if self.final:
            return "final statistics"
        return f"statistics so far ({self.chunks} of {self.total_chunks} chunks of this run done)"


def in_submitted_job() -> bool:
    """Whether this process is the driver of a job submitted through Ray's Jobs API (whose log the Jobs API
    serves): only there are the lines worth their bytes."""
    return "RAY_JOB_CONFIG_JSON_ENV_VAR" in os.environ


def log_running_stats(logger: logging.Logger, stats: PipelineStats, chunks: int = 0, total_chunks: int = 0,
                      final: bool = False) -> None:
    if in_submitted_job():
        logger.info("%s", running_stats_line(stats, chunks, total_chunks, final))


def running_stats_line(stats: PipelineStats, chunks: int = 0, total_chunks: int = 0, final: bool = False) -> str:
    data = stats.to_dict()
    for op in data["operators"]:
        op.pop("samples", None)
        op.pop("files", None)
    return MARKER + json.dumps({"final": final, "chunks": chunks, "total_chunks": total_chunks, "stats": data},
                               separators=(",", ":"), ensure_ascii=False)


def last_running_stats(log_text: str) -> Optional[RunningStats]:
    """The last running-statistics line of a job's log; None where there is none (a pipeline that reports only
    at its end, or a job that has not finished a chunk yet)."""
    for match in reversed(list(_LINE.finditer(log_text))):
        try:
            data = json.loads(match.group(1))
            return RunningStats(PipelineStats.from_dict(data["stats"]), bool(data.get("final")),
                                int(data.get("chunks", 0)), int(data.get("total_chunks", 0)))
        except (ValueError, KeyError, TypeError):
            continue   # a line cut by the log's rotation; an earlier one is whole
    return None
