"""Two jobs on one output folder: the second is refused with one line naming the holder, before any work, and
the first finishes undisturbed (common/run_lock.py through pipelines/runtime/cli.py's ``run_pipeline``).

The first job is a real run of the command, stopped (SIGSTOP) as soon as it holds the folder, so the second
always starts while the first is mid-run, however fast the machine."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from common.run_lock import LOCK_NAME
from pipelines.tools.demo_warc import build_demo_warc
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import ntrex_sentences


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("inputs")
    curated = root / "curated"
    for lang, name in (("en", "eng_Latn.txt"), ("de", "deu_Latn.txt")):
        (curated / lang).mkdir(parents=True)
        texts = ntrex_sentences(name, 60)
        pq.write_table(pa.table({"id": [f"{lang}{i}" for i in range(60)], "text": texts, "lang": [lang] * 60}),
                       curated / lang / "part-0.parquet")
    return {"warc": build_demo_warc(str(root / "demo.warc.gz")), "curated": str(curated)}


COMMANDS = {
    "curate_cc": lambda inputs, out: ["curate_cc.py", "--input", inputs["warc"], "--output", out, "--in-process"],
    "dedup": lambda inputs, out: ["dedup.py", "--input", inputs["curated"], "--output", out, "--in-process"],
    "tokenize_shards": lambda inputs, out: ["tokenize_shards.py", "--input", inputs["curated"], "--output", out,
                                            "--in-process"],
}


def holder_pid(out) -> int:
    try:
        text = open(os.path.join(out, LOCK_NAME), encoding="utf-8").read()
    except OSError:
        return 0
    return int(text.split()[1]) if text.startswith("pid ") else 0


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_second_job_on_the_same_output_is_refused_naming_the_holder(name, inputs, tmp_path):
    out = str(tmp_path / "out")
    argv = COMMANDS[name](inputs, out)
    argv[0] = str(ROOT / "pipelines" / argv[0])
    env = dict(os.environ, OMP_NUM_THREADS="1")
    first = subprocess.Popen([sys.executable, *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.time() + 120
        while holder_pid(out) != first.pid:
            assert first.poll() is None and time.time() < deadline, "the first job never held its output"
            time.sleep(0.005)
        first.send_signal(signal.SIGSTOP)   # mid-run, holding the folder
        second = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=120)
        first.send_signal(signal.SIGCONT)
        assert second.returncode == 2
        assert second.stderr.startswith(f"error: {out} is in use by another pipeline job (pid {first.pid} on ")
        assert f"{os.path.basename(argv[0])}, since " in second.stderr
        assert "--output" in second.stderr and "Traceback" not in second.stderr
        assert len(second.stderr.strip().splitlines()) == 1
        _, err = first.communicate(timeout=300)
        assert first.returncode == 0, err[-3000:]
    finally:
        if first.poll() is None:
            first.send_signal(signal.SIGCONT)
            first.kill()
            first.wait()
    # The lock went with the first job: a rerun resumes the finished output.
    rerun = subprocess.run([sys.executable, *argv], env=env, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
