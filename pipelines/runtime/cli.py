"""What every pipeline script's command line shares: the Ray options and the way a run ends."""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
from typing import Any, Callable, Optional, Sequence

from common.config_check import ConfigError
from common.run_lock import LOCK_NAME, RunDirectoryBusy, acquire_run_lock
from operators.stats import PipelineStats
from pipelines.runtime.job_paths import check_job_paths
from pipelines.runtime.running_stats import log_running_stats


def add_ray_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ray-address", help="Ray cluster address; default: RAY_ADDRESS or an embedded local Ray")
    parser.add_argument("--in-process", action="store_true", help="run without Ray, in this process")


def add_overwrite_argument(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--overwrite", action="store_true",
                        help="replace what an earlier run with other inputs or settings left in the output folder "
                             "(without it, such a folder is an error; a rerun with the same ones resumes)")


def record_job_main(argv: Optional[Sequence[str]], name: str, description: str, config_help: str,
                    load_config: Callable[[Optional[str]], Any], run: Callable[..., PipelineStats],
                    output_default: Optional[str] = None, output_help: str = "output folder") -> int:
    """The command line of a job over local record files (curate_sft, curate_knowledge): ``--input`` files,
    folders or globs, ``--output``, ``--config``, ``--num-cpus``, the Ray options and ``--overwrite``; then
    ``run(config, inputs, output, in_process, ray_address, overwrite)`` through :func:`run_pipeline`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--input", nargs="+", required=True, help="files, folders or globs")
    parser.add_argument("--output", required=output_default is None, default=output_default, help=output_help)
    parser.add_argument("--config", help=config_help)
    parser.add_argument("--num-cpus", type=int, help="CPUs of the embedded Ray (default: all)")
    add_ray_arguments(parser)
    add_overwrite_argument(parser)
    args = parser.parse_args(argv)

    def job() -> PipelineStats:
        config = load_config(args.config)
        if args.num_cpus is not None:
            config.num_cpus = args.num_cpus
        return run(config, args.input, args.output, args.in_process, args.ray_address, args.overwrite)

    return run_pipeline(name, args.output, job, args.input)


# Storage failures that stop a run as one line instead of a traceback.
STORAGE_ERRORS = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EACCES, errno.EPERM, errno.EIO}


def storage_error(exc: OSError, output: str) -> str:
    where = f": {exc.filename}" if exc.filename else f" (writing under {output})"
    return (f"{exc.strerror or exc}{where}; the run stopped and committed nothing unfinished (finished chunks and "
            f"stages stay): fix the storage and rerun the same command to resume")


class OutputLock:
    """This job's lock of its output folder (common/run_lock.py): another job writing there is
    :class:`RunDirectoryBusy`. Remote outputs are not locked. A folder the lock itself created is removed again
    when the job is refused before any work (a bad config leaves nothing behind)."""

    def __init__(self, output: str) -> None:
        self.folder = output
        self.handle = None
        self.created = False
        if "://" in output:
            return
        self.created = not os.path.exists(output)
        try:
            os.makedirs(output, exist_ok=True)
        except OSError:
            self.created = False
            return   # check_plan names the folder that cannot be made
        try:
            self.handle = acquire_run_lock(output, wait_s=2.0, holder="pipeline job",
                                           advice="wait for it to finish or stop it, or choose another --output")
        except OSError:
            self.created = False   # a read-only or full folder: check_plan names it


    def release(self, refused: bool = False) -> None:
        if self.handle is None:
            return
        if refused and self.created and os.listdir(self.folder) == [LOCK_NAME]:
            os.remove(os.path.join(self.folder, LOCK_NAME))
            os.rmdir(self.folder)
        self.handle.close()
        self.handle = None


def run_pipeline(name: str, output: str, job: Callable[[], PipelineStats], inputs: Sequence[str] = ()) -> int:
    """Run ``job``; a bad config or input is one line on stderr and exit status 2, and so is an output folder
    that another job holds (one writer per folder: :class:`OutputLock`); storage failing during the
    run (full, read-only, over quota) one line and status 1, with nothing half-committed; otherwise the
    statistics table (also what the Ray dashboard shows at the end of the job's log), then the run's
    warnings (:func:`print_warnings`)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    lock = None
    try:
        check_job_paths("--output", [output])
        check_job_paths("--input", inputs)
        lock = OutputLock(output)
        stats = job()
    except (ConfigError, FileNotFoundError, RunDirectoryBusy) as exc:
        print(f"error: {exc}", file=sys.stderr)
        if lock is not None:
            lock.release(refused=True)
        return 2
    except OSError as exc:
        cause = getattr(exc, "cause", None) or exc  # a Ray task's error carries the worker's exception
        if not isinstance(cause, OSError) or cause.errno not in STORAGE_ERRORS:
            raise
        print(f"error: {storage_error(cause, output)}", file=sys.stderr)
        return 1
    finally:
        if lock is not None:
            lock.release()
    print(f"\n=== {name}: per-operator statistics ({output}/stats.json) ===")
    print(stats.table())
    print_warnings(stats)
    log_running_stats(logging.getLogger(name), stats, final=True)
    print(finished_line(name, output))
    return 0


def finished_line(name: str, output: str) -> str:
    """The run's last line: where its statistics, report and dropped-document samples are."""
    line = f"{name} finished: statistics {output}/stats.json, report {output}/report.html"
    if os.path.isdir(os.path.join(output, "_drops")):
        line += f", dropped-document samples {output}/_drops/"
    return line


def print_warnings(stats: PipelineStats) -> None:
    """The lines after the table (and before the one naming the run's files), so that what went wrong on a Ray
    worker (whose log nobody reads) is seen on the driver: inputs that gave no documents,
    files of directory inputs skipped by name, and every reason that says an input is damaged
    (``warc_unreadable``, ``warc_empty``, ``error:*`` ...), each with the first few file names or document
    ids from the statistics' samples (:meth:`PipelineStats.problem_lines`). A clean run prints nothing."""
    for line in stats.problem_lines():
        print(line)
