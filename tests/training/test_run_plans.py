"""A training launcher continues what its run folder holds only when the folder was made with the same settings
and data: the same config resumes, another config (LR, blend content, data file content, the previous stage's
weights) is one error naming what changed, and --overwrite starts afresh. Training itself is replaced by a
stand-in that records where the run would start (tests/training/test_post_training.py and
test_pretrain_training.py train for real, through the same checks)."""

import dataclasses
import json
import os

import pytest

import training.engine.post_training_command as post_training_command
import training.engine.processes as processes
import training.pretrain.command as pretrain_command
import training.sft.command as sft_command
from tests.fixtures.pretrain import blend_overrides, build_blends
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from training.engine.run_layout import latest_checkpoint

TINY = str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml")
SFT_TINY = str(ROOT / "configs" / "post_training" / "sft-tiny-qwen2.yaml")


@pytest.fixture(scope="module")
def blends(tmp_path_factory):
    return build_blends(tmp_path_factory.mktemp("plans"))


@pytest.fixture
def starts(monkeypatch):
    """Where each launched run would start (kind, step), instead of training."""
    recorded = []

    def fake_start_training(script, nproc_per_node, argv, train):
        return 0 if train() == "finished" else 75

    def fake_train_stage(config, plan, start):
        recorded.append((start.kind, start.step))
        return "finished"

    monkeypatch.setattr(pretrain_command, "start_training", fake_start_training)
    monkeypatch.setattr("training.pretrain.loop.train_stage", fake_train_stage)
    monkeypatch.setattr(post_training_command, "start_training", fake_start_training)
    return recorded


def checkpoint(run_dir, step, export=None):
    """What a run leaves behind: a checkpoint named by latest.json (and the export of a finished one)."""
    tag = f"step-{step:08d}"
    os.makedirs(os.path.join(run_dir, "checkpoints", tag), exist_ok=True)
    with open(os.path.join(run_dir, "checkpoints", "latest.json"), "w") as handle:
        json.dump({"tag": tag, "step": step, "consumed_samples": step * 8}, handle)
    if export:
        os.makedirs(os.path.join(run_dir, "final"), exist_ok=True)
        with open(os.path.join(run_dir, "final", "export.json"), "w") as handle:
            json.dump({"step": step, "weights_sha256": export}, handle)


def released(code):
    """A launcher's rank 0 holds its run folder's lock until the process exits; here the next call is the next
    run, so the lock goes with the call."""
    while processes._held_locks:
        processes._held_locks.pop().close()
    return code


def pretrain(blends, output, stage, *extra):
    return released(pretrain_command.main(["--stage", str(stage), "--config", TINY, f"output_dir={output}",
                                           *blend_overrides(blends), *extra]))


def sft_main(args):
    return released(sft_command.main(args))


def test_same_config_resumes_another_is_refused_and_overwrite_starts_afresh(blends, tmp_path, starts, capsys):
    output = tmp_path / "run"
    stage_dir = str(output / "stage-1")
    assert pretrain(blends, output, 1) == 0
    assert starts == [("model", 0)] and os.path.isfile(os.path.join(stage_dir, "_plan.json"))
    checkpoint(stage_dir, 4)  # the run got to step 4, then stopped

    # The same config, and settings that cannot change the result: resumed.
    assert pretrain(blends, output, 1, "save_every_steps=5", "tensorboard=false", "keep_checkpoints=3") == 0
    assert starts[-1] == ("resume", 4)

    # Another LR: one error naming it, and the folder untouched.
    assert pretrain(blends, output, 1, "stages.1.max_lr=0.002") == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and f"output_dir {stage_dir} holds a run made with other inputs or settings" in err
    assert "settings.stages.1.max_lr: 0.003 → 0.002" in err and "--overwrite" in err
    assert latest_checkpoint(stage_dir)["step"] == 4 and len(starts) == 2

    # --overwrite: emptied, started afresh from the model, with the new plan recorded.
    assert pretrain(blends, output, 1, "stages.1.max_lr=0.002", "--overwrite") == 0
    assert starts[-1] == ("model", 0) and latest_checkpoint(stage_dir) is None
    assert "0.002" in open(os.path.join(stage_dir, "_plan.json")).read()
    checkpoint(stage_dir, 2)
    assert pretrain(blends, output, 1, "stages.1.max_lr=0.002", "--overwrite") == 0  # the same plan: resumed
    assert starts[-1] == ("resume", 2)


def test_other_blend_content_or_stage_one_weights_are_refused_and_stage_two_covers_its_own_folder(
        blends, tmp_path, starts, capsys):
    output = tmp_path / "run"
    checkpoint(str(output / "stage-1"), 12, export="a" * 64)
    assert pretrain(blends, output, 2) == 0 and starts[-1] == ("previous_stage", 0)
    checkpoint(str(output / "stage-2"), 2)
    # Stage 1's own settings are not stage 2's business: stage 2 resumes.
    assert pretrain(blends, output, 2, "stages.1.max_lr=0.001") == 0 and starts[-1] == ("resume", 2)
    # Stage 1 retrained (other final weights): stage 2's folder was made from the old ones.
    checkpoint(str(output / "stage-1"), 12, export="b" * 64)
    assert pretrain(blends, output, 2) == 2
    assert "inputs.previous_stage_weights_sha256" in capsys.readouterr().err
    checkpoint(str(output / "stage-1"), 12, export="a" * 64)
    # Another blend under the same name.
    blend = blends / "stage-2.blend.json"
    original = blend.read_text()
    try:
        document = json.loads(original)
        document["entries"][0]["epochs"] += 0.5
        blend.write_text(json.dumps(document))
        assert pretrain(blends, output, 2) == 2
        assert "inputs.blend_sha256" in capsys.readouterr().err
    finally:
        blend.write_text(original)
    assert pretrain(blends, output, 2) == 0 and starts[-1] == ("resume", 2)


@pytest.fixture
def sft_data(tmp_path):
    path = tmp_path / "sft.jsonl"
    path.write_text("".join(json.dumps({"messages": [{"role": "user", "content": f"Say {i}."},
                                                     {"role": "assistant", "content": str(i)}]}) + "\n"
                            for i in range(4)))
    return path


def test_post_training_refuses_other_data_content_and_a_folder_it_did_not_record(sft_data, tmp_path, monkeypatch,
                                                                                capsys):
    trained = []
    monkeypatch.setattr(sft_command, "JOB", dataclasses.replace(sft_command.JOB, train=lambda config: trained.append(
        config) or "finished"))
    monkeypatch.setattr(post_training_command, "start_training",
                        lambda script, nproc, argv, train: 0 if train() == "finished" else 75)
    output = tmp_path / "sft-run"
    args = ["--config", SFT_TINY, f"output_dir={output}", f"data={sft_data}"]
    assert sft_main(args) == 0 and len(trained) == 1
    checkpoint(str(output), 1)
    assert sft_main(args) == 0 and len(trained) == 2  # the same: continues
    # The data file rewritten (another size and modification time): refused, naming it.
    extra = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    sft_data.write_text(sft_data.read_text() + json.dumps(extra) + "\n")
    assert sft_main(args) == 2
    err = capsys.readouterr().err
    assert f"files.{sft_data}" in err and "--overwrite" in err and len(trained) == 2
    assert sft_main(args + ["--overwrite"]) == 0 and len(trained) == 3
    assert latest_checkpoint(str(output)) is None

    # A folder with a run in it but no record of what made it (an older run): refused; --overwrite replaces it.
    legacy = tmp_path / "legacy"
    checkpoint(str(legacy), 3)
    legacy_args = ["--config", SFT_TINY, f"output_dir={legacy}", f"data={sft_data}"]
    assert sft_main(legacy_args) == 2
    assert "is not empty and holds no record (_plan.json)" in capsys.readouterr().err
    assert sft_main(legacy_args + ["--overwrite"]) == 0 and latest_checkpoint(str(legacy)) is None
    # A folder no training run wrote is never emptied.
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    assert sft_main(["--config", SFT_TINY, f"output_dir={other}", f"data={sft_data}", "--overwrite"]) == 2
    assert "refuses to empty a folder no training run wrote" in capsys.readouterr().err
    assert (other / "notes.txt").read_text() == "mine"


def test_a_dry_run_says_what_a_run_would_do_with_the_folder(sft_data, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(post_training_command, "start_training", lambda script, nproc, argv, train: 0)
    output = tmp_path / "sft-run"
    args = ["--config", SFT_TINY, f"output_dir={output}", f"data={sft_data}"]
    assert sft_main(args + ["--dry-run"]) == 0  # packs into the folder's cache, records nothing
    assert json.loads(capsys.readouterr().out)["run_folder"]["status"] == "new"
    assert sft_main(args) == 0  # the dry run's cache does not count as a run
    assert sft_main(args + ["--dry-run"]) == 0
    assert json.loads(capsys.readouterr().out)["run_folder"]["status"] == "resume"
    assert sft_main(args + ["--dry-run", "max_lr=0.001"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["run_folder"]["status"] == "refused" and "without --overwrite" in captured.err
