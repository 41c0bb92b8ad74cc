"""A private local Ray head node for tests: own temp dir, explicit ports, stopped by process id.

Never ``ray stop``: it kills every Ray process on the machine, other people's clusters included.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import List


def _free_ports(n: int) -> List[int]:
    sockets, ports = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        sockets.append(s)
        ports.append(s.getsockname()[1])
    for s in sockets:
        s.close()
    return ports


def _pids_using(marker: str) -> List[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="ignore")
        except OSError:
            continue
        if marker in cmdline and int(entry.name) != os.getpid():
            pids.append(int(entry.name))
    return pids


class LocalRayCluster:
    def __init__(self, num_cpus: int = 2) -> None:
        # Unix socket paths are limited to ~107 bytes: keep the temp dir short.
        self.temp_dir = tempfile.mkdtemp(prefix="rt", dir="/tmp")
        # Workers get 100 ports of their own, below the kernel's ephemeral range that the free ports
        # come from (ray start refuses a fixed port inside the worker range).
        self.worker_low = 10000 + (os.getpid() % 200) * 100
        ports = _free_ports(9)
        while any(self.worker_low <= port <= self.worker_low + 99 for port in ports):
            ports = _free_ports(9)
        (self.gcs_port, self.dashboard_port, self.client_port, self.node_manager_port,
         self.object_manager_port, self.agent_listen_port, self.agent_grpc_port,
         self.runtime_env_port, self.metrics_port) = ports
        self.num_cpus = num_cpus
        # As with an activated virtualenv: `python` in a job's entrypoint is this interpreter.
        path = str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", "")
        self.env = dict(os.environ, RAY_AUTH_MODE="disabled", OMP_NUM_THREADS="1", PATH=path)

    @property
    def dashboard_url(self) -> str:
        return f"http://127.0.0.1:{self.dashboard_port}"

    def start(self) -> "LocalRayCluster":
        ray_bin = str(Path(sys.executable).parent / "ray")
        cmd = [
            ray_bin, "start", "--head",
            f"--temp-dir={self.temp_dir}",
            f"--port={self.gcs_port}",
            f"--num-cpus={self.num_cpus}",
            "--include-dashboard=true",
            "--dashboard-host=127.0.0.1",
            f"--dashboard-port={self.dashboard_port}",
            f"--ray-client-server-port={self.client_port}",
            f"--node-manager-port={self.node_manager_port}",
            f"--object-manager-port={self.object_manager_port}",
            f"--dashboard-agent-listen-port={self.agent_listen_port}",
            f"--dashboard-agent-grpc-port={self.agent_grpc_port}",
            f"--runtime-env-agent-port={self.runtime_env_port}",
            f"--metrics-export-port={self.metrics_port}",
            f"--min-worker-port={self.worker_low}",
            f"--max-worker-port={self.worker_low + 99}",
            "--disable-usage-stats",
        ]
        subprocess.run(cmd, check=True, env=self.env, capture_output=True, timeout=180)
        return self

    def stop(self) -> None:
        """Terminate every process of this cluster (found by its private temp dir), by pid."""
        for sig, wait in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
            pids = _pids_using(self.temp_dir)
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            deadline = time.time() + wait
            while time.time() < deadline and _pids_using(self.temp_dir):
                time.sleep(0.2)
            if not _pids_using(self.temp_dir):
                return
