"""launch/pretrain.py's plan: the LR schedule's golden values, steps from token budgets, config
errors before anything heavy, the DeepSpeed config, and the Megatron command (golden argv)."""

import json
import math

import pytest

from common.config_check import ConfigError
from tests.fixtures.pretrain import blend_overrides, build_blends
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from training.engine.lr_schedule import LrSchedule, steps_for_tokens
from training.pretrain.command import main
from training.pretrain.stage_plan import deepspeed_config, megatron_argv, plan_stage
from training.pretrain.training_config import load_pretrain_config


def test_lr_schedule_golden_values():
    schedule = LrSchedule(max_lr=1e-5, warmup_steps=100, total_steps=1100)
    assert schedule(0) == 0.0
    assert schedule(50) == pytest.approx(5e-6)
    assert schedule(100) == pytest.approx(1e-5)
    assert schedule(600) == pytest.approx(1e-6 + 9e-6 * 0.5)  # half-way through the cosine
    assert schedule(1100) == pytest.approx(1e-6)
    assert schedule(5000) == pytest.approx(1e-6)
    values = [schedule(s) for s in range(100, 1101)]
    assert all(a >= b for a, b in zip(values, values[1:]))


def test_paper_budgets_give_the_papers_steps():
    config = load_pretrain_config(str(ROOT / "configs" / "pretrain" / "qwen2-7b.yaml"))
    assert steps_for_tokens(config.stage(1).tokens, config.global_batch_tokens) == math.ceil(160e9 / 4194304)
    assert round(config.warmup_tokens / config.global_batch_tokens) == 2384  # 10B tokens of 4M-token steps
    assert load_pretrain_config(str(ROOT / "configs" / "pretrain" / "qwen2-72b.yaml")).seq_length == 8192


@pytest.fixture(scope="module")
def blends(tmp_path_factory):
    root = tmp_path_factory.mktemp("pretrain")
    build_blends(root)
    return root


def config_for(blends, *extra):
    return load_pretrain_config(str(ROOT / "configs" / "pretrain" / "qwen2-7b.yaml"),
                                [f"stages.1.blend={blends / 'blends' / 'stage-1.blend.json'}",
                                 f"stages.2.blend={blends / 'blends' / 'stage-2.blend.json'}", *extra])


def test_megatron_command_golden_argv(blends):
    config = config_for(blends, "output_dir=/ckpt", "global_batch_tokens=1048576")
    plan = plan_stage(config, 2)
    argv = megatron_argv(config, plan, nodes=32, nproc_per_node=8)
    samples = math.ceil(140e9 / 1048576) * 32
    data_path = plan.blend["megatron_data_path"]
    assert argv == ["torchrun", "--nnodes=32", "--nproc_per_node=8", "pretrain_gpt.py",
                    "--tensor-model-parallel-size", "8", "--pipeline-model-parallel-size", "8",
                    "--seq-length", "32768", "--max-position-embeddings", "32768",
                    "--micro-batch-size", "1", "--global-batch-size", "32", "--train-samples", str(samples),
                    "--lr", "6e-06", "--min-lr", repr(6e-06 * 0.1), "--lr-decay-style", "cosine",
                    "--lr-warmup-samples", str(round(10e9 / 1048576) * 32), "--lr-decay-samples", str(samples),
                    "--adam-beta1", "0.9", "--adam-beta2", "0.95", "--weight-decay", "0.1", "--clip-grad", "1.0",
                    "--bf16", "--seed", "1234", "--save-interval", "1000",
                    "--save", "/ckpt/stage-2", "--load", "/ckpt/stage-2", "--data-path", *data_path,
                    "--pretrained-checkpoint", "/ckpt/stage-1"]
    assert len(data_path) == 2 * len(plan.blend["entries"])


def test_dry_run_prints_the_plan(blends, capsys):
    args = ["--stage", "1", "--config", str(ROOT / "configs" / "pretrain" / "qwen2-1.5b.yaml"), "--dry-run",
            "--nodes", "2", "--nproc-per-node", "8", f"stages.1.blend={blends / 'blends' / 'stage-1.blend.json'}",
            f"stages.2.blend={blends / 'blends' / 'stage-2.blend.json'}"]
    assert main(args) == 0
    plan = json.loads(capsys.readouterr().out)
    assert plan["steps"] == math.ceil(160e9 / 4194304) and plan["warmup_steps"] == 2384
    assert plan["lr_key_points"]["0"] == 0.0 and plan["lr_key_points"]["2384"] == pytest.approx(1e-5)
    assert plan["lr_key_points"][str(plan["steps"])] == pytest.approx(1e-6)
    ds = plan["deepspeed"]
    assert ds["zero_optimization"]["stage"] == 3 and ds["bf16"]["enabled"]
    assert ds["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] and ds["zero_optimization"]["overlap_comm"]
    assert ds["train_batch_size"] == 128 and ds["gradient_accumulation_steps"] == 128 // 16


@pytest.mark.parametrize("override, message", [
    ("learning_rate=1", "unknown config key learning_rate"),
    ("stages.1.max_lr=-1", "stages.1.max_lr: must be positive"),
    ("stages.1.blend=/nowhere/stage-1.blend.json", "stages.1.blend: blend file not found"),
    ("global_batch_tokens=1000", "global_batch_tokens: must be a multiple of seq_length"),
])
def test_bad_configs_fail_with_one_message(blends, capsys, override, message):
    args = ["--stage", "1", "--config", str(ROOT / "configs" / "pretrain" / "qwen2-7b.yaml"), "--dry-run",
            f"stages.1.blend={blends / 'blends' / 'stage-1.blend.json'}",
            f"stages.2.blend={blends / 'blends' / 'stage-2.blend.json'}", override]
    assert main(args) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("override, message", [
    ("precision=fp16", "precision: expected one of bf16, fp32"),
    ("random_init=false|model_config={hidden_size: 8}", "model_config: only applies with random_init: true"),
    ("model=/nowhere/qwen2", "model: folder not found: /nowhere/qwen2"),
    ("model=.", "is a folder without config.json"),
    ("keep_checkpoints=-1", "keep_checkpoints: must not be negative"),
])
def test_training_refuses_bad_settings_before_building_anything(blends, tmp_path, capsys, override, message):
    args = ["--stage", "1", "--config", str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"),
            f"output_dir={tmp_path / 'run'}", *blend_overrides(blends / "blends"), *override.split("|")]
    assert main(args) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_stage_two_without_stage_one_weights_is_one_clear_error(blends, tmp_path, capsys):
    args = ["--stage", "2", "--config", str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"),
            f"output_dir={tmp_path / 'run'}", *blend_overrides(blends / "blends")]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "starts from stage 1's final weights" in err and str(tmp_path / "run" / "stage-1" / "final") in err
    assert not (tmp_path / "run").exists()


def test_stage_numbers_and_batch_shapes_are_checked(blends):
    config_args = blend_overrides(blends / "blends")
    with pytest.raises(ConfigError, match="--stage: 3"):
        load_pretrain_config(None, config_args).stage(3)
    config = load_pretrain_config(None, config_args + ["micro_batch_size=3"])
    with pytest.raises(ConfigError, match="not a multiple"):
        deepspeed_config(config, 8)


def test_the_deepspeed_launchers_local_rank_argument_is_accepted(blends, capsys):
    args = ["--stage", "1", "--local_rank=1", "--config", str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"),
            "--dry-run", "--nproc-per-node", "2", *blend_overrides(blends / "blends")]
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["start"]["kind"] == "model"
