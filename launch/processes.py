"""How a launcher script becomes one process per device: under torchrun, the deepspeed launcher or
srun it already is one (they set LOCAL_RANK and WORLD_SIZE); otherwise it replaces itself with torchrun
(``--nproc-per-node N``), or runs as a world of one."""

from __future__ import annotations

import argparse
import os
import sys
from typing import List

EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped by SIGTERM with a checkpoint; rerun to resume


def add_process_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--nproc-per-node", type=int, default=1,
                        help="training: start this many processes on this machine under torchrun")
    # The deepspeed launcher passes --local_rank to every process (LOCAL_RANK is in the environment too).
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)


def under_launcher() -> bool:
    """torchrun, the deepspeed launcher and Slurm's srun all set these per process."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_size(nproc_per_node: int) -> int:
    return int(os.environ["WORLD_SIZE"]) if under_launcher() else nproc_per_node


def exec_torchrun(script: str, nproc: int, argv: List[str]) -> None:
    """Replaces this process with torchrun running ``script`` in ``nproc`` processes, so signals sent to
    this process id (a scheduler's SIGTERM) reach torchrun, which passes them to the workers."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", script,
               *without_nproc(argv)]
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def become_world_of_one() -> None:
    os.environ.update({"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": os.environ.get("MASTER_PORT", "29511")})


def without_nproc(argv: List[str]) -> List[str]:
    out, skip = [], False
    for item in argv:
        if skip:
            skip = False
        elif item == "--nproc-per-node":
            skip = True
        elif not item.startswith("--nproc-per-node="):
            out.append(item)
    return out


__all__ = ["add_process_arguments", "under_launcher", "world_size", "exec_torchrun", "become_world_of_one",
           "without_nproc", "EXIT_STOPPED"]
