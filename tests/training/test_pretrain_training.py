"""Two-stage continual pretraining end to end on CPU: a Qwen2-shaped model (configs/pretrain/tiny-qwen2,
random weights, Qwen2's full vocabulary) trains on token shards built by the mixture step from
NTREX-128 text, with 2 processes on gloo under DeepSpeed ZeRO-3.

* stage 1 then stage 2: the loss falls; stage 2 starts from stage 1's exported weights (same SHA-256),
  with step 0, learning rate 0, a fresh Adam state, consumed samples counted from 0, and its own blend;
* a stage stopped by SIGTERM (checkpoint written at that step), resumed, killed with SIGKILL (back to
  the last periodic checkpoint) and resumed again logs exactly the losses of an uninterrupted run.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.fixtures.pretrain import blend_overrides, build_blends
from tests.fixtures.process_tree import descendants, kill_tree, wait_gone
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from training.engine.step_log import read_steps

# Several torch processes train a model on the CPU: minutes, not seconds.
pytestmark = pytest.mark.slow

STAGE1_STEPS, STAGE2_STEPS = 8, 4
TOKENS_PER_STEP = 512  # configs/pretrain/tiny-qwen2.yaml: 8 samples of 64 tokens


@pytest.fixture(scope="module")
def blends(tmp_path_factory):
    return build_blends(tmp_path_factory.mktemp("pretrain-data"), lines_per_language=600, total_tokens=200_000)


def command(blends, output, stage, *overrides):
    return [sys.executable, str(ROOT / "launch" / "pretrain.py"), "--stage", str(stage), "--nproc-per-node", "2",
            "--config", str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"), f"output_dir={output}",
            f"model={ROOT / 'configs' / 'pretrain' / 'tiny-qwen2'}",
            f"stages.1.tokens={STAGE1_STEPS * TOKENS_PER_STEP}", f"stages.2.tokens={STAGE2_STEPS * TOKENS_PER_STEP}",
            "stages.1.max_lr=0.01", "stages.2.max_lr=0.005", *blend_overrides(blends), *overrides]


def environment():
    return {**os.environ, "OMP_NUM_THREADS": "1", "TOKENIZERS_PARALLELISM": "false"}


def run(blends, output, stage):
    done = subprocess.run(command(blends, output, stage), env=environment(), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done


def log_of(output, stage):
    return os.path.join(output, f"stage-{stage}", "logs", "train.jsonl")


def events(output, stage, name):
    with open(log_of(output, stage), encoding="utf-8") as handle:
        return [r for r in map(json.loads, handle) if r.get("event") == name]


@pytest.fixture
def started():
    """Processes started by the test; any still running at the end is killed with every process below it."""
    processes = []
    yield processes
    for process in processes:
        if process.poll() is None:  # an exited (reaped) process's id may belong to another process by now
            orphans = kill_tree(process.pid)
            process.wait()
            wait_gone(orphans, 30)


def start_and_wait_for_step(blends, output, stage, step, started, *overrides):
    """Starts a stage in its own process group; returns it once ``step`` is logged."""
    process = subprocess.Popen(command(blends, output, stage, *overrides), env=environment(), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, start_new_session=True)
    started.append(process)
    deadline = time.time() + 300
    while time.time() < deadline:
        if os.path.exists(log_of(output, stage)) and step in read_steps(log_of(output, stage)):
            return process
        assert process.poll() is None, f"stage {stage} exited early with {process.returncode}"
        time.sleep(0.2)
    pytest.fail(f"stage {stage} did not reach step {step} in 300 s")


@pytest.fixture(scope="module")
def uninterrupted(blends, tmp_path_factory):
    output = str(tmp_path_factory.mktemp("uninterrupted"))
    run(blends, output, 1)
    run(blends, output, 2)
    return output


def test_stage_one_then_stage_two_from_its_final_weights(uninterrupted):
    first, second = read_steps(log_of(uninterrupted, 1)), read_steps(log_of(uninterrupted, 2))
    assert sorted(first) == list(range(1, STAGE1_STEPS + 1)) and sorted(second) == list(range(1, STAGE2_STEPS + 1))
    losses = [first[s]["loss"] for s in sorted(first)]
    print("\nstage 1 losses:", " ".join(f"{loss:.3f}" for loss in losses))
    assert losses[-1] < losses[0] - 0.5 and sum(losses[-2:]) < sum(losses[:2])

    export = json.load(open(os.path.join(uninterrupted, "stage-1", "final", "export.json")))
    assert export["step"] == STAGE1_STEPS and export["tokens"] == STAGE1_STEPS * TOKENS_PER_STEP
    (start,) = events(uninterrupted, 2, "start")
    assert start["init_from"].endswith(os.path.join("stage-1", "final"))
    assert start["weights_sha256"] == export["weights_sha256"]
    (start_one,) = events(uninterrupted, 1, "start")
    assert start_one["weights_sha256"] != export["weights_sha256"]  # stage 1 did change the weights

    # A fresh schedule and counters: step 1 runs at lr 0 with the first global batch of the stage-2 blend.
    assert second[1]["lr"] == 0.0 and second[1]["consumed_samples"] == TOKENS_PER_STEP // 64
    assert second[2]["lr"] == pytest.approx(0.0025) and second[3]["lr"] == pytest.approx(0.005)  # 2 warm-up steps
    assert second[STAGE2_STEPS]["loss"] < first[1]["loss"]
    # A fresh optimizer: Adam has taken exactly the stage-2 steps.
    tag = json.load(open(os.path.join(uninterrupted, "stage-2", "checkpoints", "latest.json")))["tag"]
    states = torch.load(os.path.join(uninterrupted, "stage-2", "checkpoints", tag,
                                     "zero_pp_rank_0_mp_rank_00_optim_states.pt"), weights_only=False)
    adam = states["optimizer_state_dict"]["optimizer_state_dict"]["state"]
    assert {float(s["step"]) for s in adam.values()} == {float(STAGE2_STEPS)}


def test_logs_hold_throughput_and_the_realized_mixture(uninterrupted, blends):
    last = read_steps(log_of(uninterrupted, 1))[STAGE1_STEPS]
    for key in ("loss", "lr", "grad_norm", "tokens_per_s", "tflops_per_device", "memory_gib", "consumed_tokens"):
        assert isinstance(last[key], float | int) and last[key] >= 0, key
    assert last["mfu"] is None  # a CPU has no entry in the peak-FLOPs table
    blend = json.load(open(blends / "stage-1.blend.json"))
    categories = {e["category"] for e in blend["entries"]}
    for category in categories:
        in_blend = sum(e["weight"] for e in blend["entries"] if e["category"] == category)
        assert last[f"mix_blend/{category}"] == pytest.approx(in_blend)
        assert last[f"mix_intended/{category}"] == pytest.approx(blend["target_shares"][category])  # Table 2
        assert abs(last[f"mix_consumed/{category}"] - in_blend) <= len(blend["entries"]) / last["consumed_samples"]
    (mixture,) = events(uninterrupted, 1, "mixture")
    assert mixture["category_shares"]["english"] == {"intended": pytest.approx(0.32),
                                                      "in_blend": pytest.approx(last["mix_blend/english"])}
    assert set(mixture["epochs_per_group"]) == {"en", "zh", "th"}
    assert any(name.startswith("events.out.tfevents") for name in os.listdir(os.path.join(uninterrupted, "stage-1",
                                                                                            "tensorboard")))


def test_exported_weights_load_in_transformers(uninterrupted):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(os.path.join(uninterrupted, "stage-2", "final"))
    assert os.path.isfile(os.path.join(uninterrupted, "stage-2", "final", "model.safetensors"))
    logits = model(input_ids=torch.tensor([[151643, 785, 3974]])).logits
    assert logits.shape == (1, 3, model.config.vocab_size) and torch.isfinite(logits).all()


def test_stopped_and_killed_runs_resume_with_the_same_losses(uninterrupted, blends, tmp_path, started):
    output = str(tmp_path / "interrupted")
    # SIGTERM after step 3: the step finishes, a checkpoint is written at step 3, the command exits 75.
    process = start_and_wait_for_step(blends, output, 1, 3, started)
    os.kill(process.pid, signal.SIGTERM)
    assert process.wait(timeout=120) != 0  # not finished: rerun to resume
    (stopped,) = events(output, 1, "stopped")
    latest = json.load(open(os.path.join(output, "stage-1", "checkpoints", "latest.json")))
    assert latest["step"] == stopped["step"] >= 3
    # Resumed, then the machine dies after step 6 (torchrun and its workers SIGKILLed at once): the next run
    # resumes from the step-6 or step-4 checkpoint.
    process = start_and_wait_for_step(blends, output, 1, 6, started)
    killed = kill_tree(process.pid)
    process.wait(timeout=60)
    assert wait_gone(killed, 30) == []
    run(blends, output, 1)
    resumes = events(output, 1, "resume")
    assert [r["step"] for r in resumes][0] == latest["step"] and len(resumes) == 2

    reference, resumed = read_steps(log_of(uninterrupted, 1)), read_steps(log_of(output, 1))
    assert sorted(resumed) == sorted(reference)
    for step in sorted(reference):
        assert resumed[step]["loss"] == reference[step]["loss"], step
        assert resumed[step]["lr"] == reference[step]["lr"] and resumed[step]["consumed_samples"] == \
            reference[step]["consumed_samples"]
    export = json.load(open(os.path.join(output, "stage-1", "final", "export.json")))
    assert export["weights_sha256"] == json.load(open(os.path.join(uninterrupted, "stage-1", "final",
                                                                   "export.json")))["weights_sha256"]


def test_one_run_per_directory_and_workers_stop_with_their_launcher(blends, tmp_path, started):
    output, longer = str(tmp_path / "contended"), f"stages.1.tokens={64 * TOKENS_PER_STEP}"
    first = start_and_wait_for_step(blends, output, 1, 2, started, longer)
    workers = descendants(first.pid)
    # A second run on the same directory is refused with one message; the first goes on.
    second = subprocess.run(command(blends, output, 1, longer), env=environment(), capture_output=True, text=True,
                            timeout=300)
    assert second.returncode != 0
    assert f"{os.path.join(output, 'stage-1')} is in use by another training run (pid " in second.stderr, \
        second.stderr[-3000:]
    assert first.poll() is None
    # torchrun alone SIGKILLed: its workers (own sessions, so not in its process group) get SIGTERM, save a
    # checkpoint at the end of the step and exit instead of training on as orphans.
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=60)
    assert wait_gone(workers, 180) == [], "workers outlived their launcher"
    (stopped,) = events(output, 1, "stopped")
    latest = json.load(open(os.path.join(output, "stage-1", "checkpoints", "latest.json")))
    assert latest["step"] == stopped["step"] >= 2


def test_a_full_disk_at_a_checkpoint_stops_with_one_error_and_latest_on_the_previous_one(uninterrupted, blends,
                                                                                         tmp_path, started):
    """The stage's folder on a small file system with room for one checkpoint: the second cannot be written.
    The run stops with one error naming the path, latest.json stays on the first, and after space is freed the
    same command resumes to the uninterrupted run's losses and weights."""
    from tests.fixtures.small_filesystem import fill, small_filesystem

    step_folders = sorted(p for p in (Path(uninterrupted) / "stage-1" / "checkpoints").iterdir() if p.is_dir())
    checkpoint_bytes = sum(f.stat().st_size for f in step_folders[-1].rglob("*") if f.is_file())
    with small_filesystem(tmp_path / "mnt", size=f"{4 * checkpoint_bytes // (1 << 20) + 64}m") as mount:
        output = str(mount / "run")
        filler = fill(mount, leave_bytes=int(1.5 * checkpoint_bytes) + (8 << 20))
        process = subprocess.Popen(command(blends, output, 1), env=environment(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, start_new_session=True)
        started.append(process)
        _, err = process.communicate(timeout=600)
        assert process.returncode != 0
        checkpoints = os.path.join(output, "stage-1", "checkpoints")
        latest = json.load(open(os.path.join(checkpoints, "latest.json")))
        assert latest["tag"] == "step-00000002"
        message = [line for line in err.splitlines() if line.startswith("error: checkpoint step-00000004 not written")]
        assert message, err[-4000:]
        assert checkpoints in message[0] and " MiB free there" in message[0]
        assert "latest.json still names step-00000002" in message[0]
        filler.unlink()
        run(blends, output, 1)
        reference, resumed = read_steps(log_of(uninterrupted, 1)), read_steps(log_of(output, 1))
        assert sorted(resumed) == sorted(reference)
        assert all(resumed[step]["loss"] == reference[step]["loss"] for step in reference)
        export = json.load(open(os.path.join(output, "stage-1", "final", "export.json")))
        assert export["weights_sha256"] == json.load(open(os.path.join(uninterrupted, "stage-1", "final",
                                                                       "export.json")))["weights_sha256"]
