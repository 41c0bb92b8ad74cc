"""How a launcher script becomes one process per device: under torchrun, the deepspeed launcher or
srun it already is one (they set LOCAL_RANK and WORLD_SIZE); otherwise it replaces itself with torchrun
(``--nproc-per-node N``), or runs as a world of one."""

from __future__ import annotations

import argparse
import ctypes
import os
import signal
import sys
from typing import IO, Callable, List, Optional

EXIT_STOPPED = 75  # EX_TEMPFAIL: stopped by SIGTERM with a checkpoint; rerun to resume
LAUNCHER_PID = "MARCO_LAUNCHER_PID"  # set for the workers of a torchrun this module started
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
_held_locks: List[IO[str]] = []  # run-directory locks, held until the process exits


def add_process_arguments(parser: argparse.ArgumentParser) -> None:
    """The options every launcher shares: the world (``--nodes`` x ``--nproc-per-node``, what a run starts
    and what ``--dry-run`` plans for) and ``--overwrite``."""
    parser.add_argument("--nproc-per-node", type=int, default=1,
                        help="processes (GPUs) per node (default: %(default)s): training starts this many under "
                             "torchrun; --dry-run plans for --nodes x this many (under a launcher: its WORLD_SIZE)")
    parser.add_argument("--nodes", type=int, default=1,
                        help="nodes (default: %(default)s) for --dry-run to plan for; a multi-node run starts the "
                             "command on every node under torchrun, the deepspeed launcher or srun")
    parser.add_argument("--overwrite", action="store_true",
                        help="when the run folder holds a run made with other settings or data, empty it and start "
                             "afresh (without it that is an error; the same settings and data resume)")
    # The deepspeed launcher passes --local_rank to every process (LOCAL_RANK is in the environment too).
    parser.add_argument("--local_rank", "--local-rank", type=int, help=argparse.SUPPRESS)


def under_launcher() -> bool:
    """torchrun, the deepspeed launcher and Slurm's srun all set these per process."""
    return "LOCAL_RANK" in os.environ and "WORLD_SIZE" in os.environ


def world_size(nproc_per_node: int) -> int:
    return int(os.environ["WORLD_SIZE"]) if under_launcher() else nproc_per_node


def planned_world_size(args: argparse.Namespace, training: bool) -> int:
    """The world a command plans for, from the flags a run uses: a launcher's WORLD_SIZE, else ``--nodes`` x
    ``--nproc-per-node``. Training started here runs on this node only, so more nodes is an error."""
    from common.config_check import ConfigError

    for name in ("nodes", "nproc_per_node"):
        if getattr(args, name) < 1:
            raise ConfigError(f"--{name.replace('_', '-')}: must be at least 1")
    if under_launcher():
        return int(os.environ["WORLD_SIZE"])
    if training and args.nodes > 1:
        raise ConfigError(f"--nodes {args.nodes}: a run on several nodes starts this command on every node under "
                          "torchrun, the deepspeed launcher or srun (see --help); --nodes is for --dry-run")
    return args.nodes * args.nproc_per_node


def exec_torchrun(script: str, nproc: int, argv: List[str]) -> None:
    """Replaces this process with torchrun running ``script`` in ``nproc`` processes, so signals sent to
    this process id (a scheduler's SIGTERM) reach torchrun, which passes them to the workers."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={nproc}", script,
               *without_nproc(argv)]
    os.environ[LAUNCHER_PID] = str(os.getpid())  # execv keeps the process id: torchrun will have this one
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, command)


def become_world_of_one() -> None:
    os.environ.update({"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": os.environ.get("MASTER_PORT", "29511")})


def is_complete(run_dir: str, latest: Optional[dict], steps: int) -> bool:
    """The run's last step is checkpointed and its weights exported: nothing left to do."""
    from training.engine.run_layout import export_record

    return latest is not None and latest["step"] >= steps and export_record(run_dir) is not None


def trains_here(nproc_per_node: int) -> bool:
    """This process runs training itself (a launcher's worker, or a world of one), rather than
    replacing itself with torchrun."""
    return under_launcher() or nproc_per_node <= 1


def hold_run_dir(run_dir: str, nproc_per_node: int) -> None:
    """Rank 0 of the run locks ``run_dir`` until it exits, before it reads any checkpoint there
    (common/run_lock.py); raises RunDirectoryBusy when another run holds it."""
    from common.run_lock import acquire_run_lock

    if trains_here(nproc_per_node) and os.environ.get("RANK", "0") == "0":
        _held_locks.append(acquire_run_lock(run_dir))


def guard_run_dir(run_dir: str, nproc_per_node: int, plan: dict, overwrite: bool) -> bool:
    """Lock ``run_dir`` and compare ``plan`` with the one it records (``training/engine/run_plan.py``), in the
    one process that may: rank 0 of a training world locks it for good (``hold_run_dir``); a launcher about to
    start torchrun locks it for the check only (its workers' rank 0 then locks it and finds the same plan).
    Returns whether the run starts afresh; False on the other ranks."""
    from common.run_lock import acquire_run_lock
    from training.engine.run_plan import check_run_plan

    if os.environ.get("RANK", "0") != "0":
        return False
    if trains_here(nproc_per_node):
        hold_run_dir(run_dir, nproc_per_node)
        return check_run_plan(run_dir, plan, overwrite)
    handle = acquire_run_lock(run_dir)
    try:
        return check_run_plan(run_dir, plan, overwrite)
    finally:
        handle.close()


def stop_with_launcher() -> None:
    """Workers of a torchrun started by ``exec_torchrun`` get SIGTERM when torchrun dies, even by SIGKILL
    (torchrun starts each worker in its own session, so a kill of its process group misses them): they save
    a checkpoint at the end of the step and exit instead of training on as orphans."""
    parent = os.environ.get(LAUNCHER_PID)
    if parent is None or not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0) != 0:
        return
    if os.getppid() != int(parent):  # torchrun died before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)


def start_training(script: str, nproc_per_node: int, argv: List[str], train: Callable[[], str]) -> int:
    """Runs ``train`` in every process (starting torchrun first when asked); 0 when it finished,
    EXIT_STOPPED when it stopped on SIGTERM with a checkpoint, 1 with one line when a checkpoint could not be
    written (the storage is full: the last complete checkpoint stays the one to resume from)."""
    from training.engine.checkpoints import CheckpointNotWritten

    if not trains_here(nproc_per_node):
        exec_torchrun(script, nproc_per_node, argv)
    if under_launcher():
        stop_with_launcher()
    else:
        become_world_of_one()
    try:
        outcome = train()
    except CheckpointNotWritten as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        leave_process_group(wait_for_others=False)
        return 1
    leave_process_group(wait_for_others=True)
    return 0 if outcome == "finished" else EXIT_STOPPED


def leave_process_group(wait_for_others: bool) -> None:
    """Closes the training world's process group before the process exits (``wait_for_others``: after every rank
    got here). Left to the interpreter's exit, the gloo group's threads are torn down while a peer may still be
    closing its connections, and a rank can die of SIGABRT ("terminate called without an active exception")
    after its work is done, which torchrun reports as the run failing."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()):
        return
    if wait_for_others:
        dist.barrier()
    dist.destroy_process_group()


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


__all__ = ["add_process_arguments", "under_launcher", "world_size", "planned_world_size", "exec_torchrun",
           "become_world_of_one", "without_nproc", "is_complete", "trains_here", "hold_run_dir", "guard_run_dir",
           "stop_with_launcher", "start_training", "leave_process_group", "EXIT_STOPPED"]
