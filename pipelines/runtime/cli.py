"""What every pipeline script's command line shares: the Ray options and the way a run ends."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Callable

from common.config_check import ConfigError
from operators.stats import PipelineStats


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray-address", help="Ray cluster address; default: RAY_ADDRESS or an embedded local Ray")
    parser.add_argument("--in-process", action="store_true", help="run without Ray, in this process")


def run_pipeline(name: str, output: str, job: Callable[[], PipelineStats]) -> int:
    """Run ``job``; a bad config or input is one line on stderr and exit status 2; otherwise the
    statistics table (also what the Ray dashboard shows at the end of the job's log)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        stats = job()
    except (ConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"\n=== {name}: per-operator statistics ({output}/stats.json) ===")
    print(stats.table())
    return 0
