"""The three training command lines before anything trains: every shipped config dry-runs as given; without
--config they use the documented default config and data places and name what is missing with the command
that makes it; the world a dry run plans for comes from the flags a run uses; errors use the right unit;
--help keeps its examples' lines; another interpreter is told which to use; paths in a config resolve
against the config's folder, command-line ones against the current directory; the pretraining dry run
compares the stage's tokens with its blend."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.fixtures.pretrain import build_blends
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from training.dpo.command import main as dpo_main
from training.pretrain.command import main as pretrain_main
from training.sft.command import main as sft_main

PRETRAIN_CONFIGS = sorted((ROOT / "configs" / "pretrain").glob("*.yaml"))
POST_TRAINING_CONFIGS = sorted((ROOT / "configs" / "post_training").glob("*.yaml"))
MAINS = {"pretrain": pretrain_main, "sft": sft_main, "dpo": dpo_main}


def write_post_training_data(root: Path) -> None:
    """sft/sft.jsonl and prefs/preferences.jsonl where curate_sft.py and build_preferences.py write by default,
    in their output formats."""
    (root / "sft").mkdir(exist_ok=True)
    (root / "prefs").mkdir(exist_ok=True)
    with open(root / "sft" / "sft.jsonl", "w", encoding="utf-8") as handle:
        for i in range(6):
            answer = " ".join(map(str, range(1, i + 2)))
            handle.write(json.dumps({"messages": [{"role": "user", "content": f"Count to {i + 1}."},
                                                  {"role": "assistant", "content": answer}]}) + "\n")
    with open(root / "prefs" / "preferences.jsonl", "w", encoding="utf-8") as handle:
        for i in range(6):
            handle.write(json.dumps({"prompt": [{"role": "user", "content": f"What is {i} + 1?"}],
                                     "chosen": str(i + 1), "rejected": str(i + 2)}) + "\n")


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A working directory laid out as the pipelines leave it by default: blends/, sft/, prefs/."""
    root = tmp_path_factory.mktemp("work")
    build_blends(root)
    write_post_training_data(root)
    return root


def dry_run(capsys, job, *args):
    code = MAINS[job](["--dry-run", *args])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out), captured.err


@pytest.mark.parametrize("config", PRETRAIN_CONFIGS, ids=lambda p: p.name)
@pytest.mark.parametrize("stage", [1, 2])
def test_every_pretrain_config_dry_runs_as_given(workdir, monkeypatch, capsys, config, stage):
    monkeypatch.chdir(workdir)
    plan, _ = dry_run(capsys, "pretrain", "--stage", str(stage), "--config", str(config))
    assert plan["world_size"] == 1
    assert plan["config"]["stages"][str(stage)]["blend"] == str(workdir / "blends" / f"stage-{stage}.blend.json")
    assert plan["run_folder"] == {"path": str(workdir / "checkpoints" / f"stage-{stage}"), "status": "new"}
    settings = plan["config"]
    assert plan["deepspeed"]["train_batch_size"] == settings["global_batch_tokens"] // settings["seq_length"]
    assert not (workdir / "checkpoints" / f"stage-{stage}").exists()  # a dry run writes nothing


@pytest.mark.parametrize("config", POST_TRAINING_CONFIGS, ids=lambda p: p.name)
def test_every_post_training_config_dry_runs_as_given(workdir, monkeypatch, capsys, config):
    monkeypatch.chdir(workdir)
    job = config.name.split("-")[0]
    plan, _ = dry_run(capsys, job, "--config", str(config))
    assert plan["world_size"] == 1 and plan["steps"] >= 1
    data = {"sft": workdir / "sft" / "sft.jsonl", "dpo": workdir / "prefs" / "preferences.jsonl"}[job]
    assert plan["config"]["data"] == str(data)
    assert plan["config"]["output_dir"] == str(workdir / "checkpoints" / job)


def test_without_a_config_the_default_one_and_the_default_data_places_are_used(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    plan, err = dry_run(capsys, "pretrain", "--stage", "2")
    assert plan["stage"] == 2 and plan["tokens"] == 140e9 and plan["config"]["seq_length"] == 32768  # Marco-7B
    assert plan["config"]["model"] == "Qwen/Qwen2-7B" and plan["config"]["stages"]["2"]["max_lr"] == 6e-6
    assert "starts from stage 1's final weights" in err  # not yet there: a warning in a dry run
    plan, err = dry_run(capsys, "sft")
    assert plan["config"]["seq_length"] == 16384 and plan["config"]["max_lr"] == 6e-6
    assert "checkpoints/stage-2/final" in err and ".venv/bin/python launch/pretrain.py --stage 2" in err
    plan, err = dry_run(capsys, "dpo")
    assert plan["config"]["beta"] == 0.1 and ".venv/bin/python launch/sft.py" in err
    # These pairs' wrong answers are other pairs' right ones ("2" rejected for 0 + 1, chosen for 1 + 1).
    assert "in 5 of 6 pairs the rejected answer is another pair's chosen answer" in err


@pytest.mark.parametrize("job, args, path, command", [
    ("pretrain", ["--stage", "2"], "blends/stage-2.blend.json",
     "`.venv/bin/python pipelines/build_mixture.py --stage 2 --tokens TOKENS`"),
    ("pretrain", ["--stage", "1", "--dry-run"], "blends/stage-1.blend.json",
     "`.venv/bin/python pipelines/build_mixture.py --stage 1 --tokens TOKENS`"),
    ("sft", [], "sft/sft.jsonl", "`.venv/bin/python pipelines/curate_sft.py --input INSTRUCTIONS --output sft/`"),
    ("dpo", [], "prefs/preferences.jsonl",
     "`.venv/bin/python pipelines/build_preferences.py --input PREFERENCE_DATA --output prefs/`"),
])
def test_missing_data_is_one_message_naming_it_and_the_command_that_makes_it(tmp_path, monkeypatch, capsys, job, args,
                                                                              path, command):
    monkeypatch.chdir(tmp_path)
    assert MAINS[job](args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("error: ")
    assert str(tmp_path / path) in err and command in err
    assert os.listdir(tmp_path) == []


def test_a_missing_model_is_one_message_naming_the_way_to_get_it(workdir, monkeypatch, capsys):
    import training.engine.settings as settings

    monkeypatch.chdir(workdir)
    monkeypatch.setattr(settings, "hub_cached", lambda repo_id: False)  # whatever this machine's cache holds
    assert pretrain_main(["--stage", "1"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "model: Qwen/Qwen2-7B is not a local folder" in err and "huggingface-cli download Qwen/Qwen2-7B" in err
    assert sft_main([]) == 2
    err = capsys.readouterr().err
    assert f"model: folder not found: {workdir / 'checkpoints' / 'stage-2' / 'final'}" in err
    assert "`.venv/bin/python launch/pretrain.py --stage 2`" in err
    assert dpo_main([]) == 2
    assert "`.venv/bin/python launch/sft.py`" in capsys.readouterr().err
    assert not any((workdir / "checkpoints" / name / "_plan.json").exists() for name in ("stage-1", "sft", "dpo"))
    assert not (workdir / "checkpoints" / "stage-1").exists()


def test_the_dry_run_world_is_the_runs_and_errors_use_the_right_unit(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    tiny = str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml")
    plan, _ = dry_run(capsys, "pretrain", "--stage", "1", "--config", tiny, "--nproc-per-node", "2")
    assert plan["world_size"] == 2 and plan["deepspeed"]["gradient_accumulation_steps"] == 2  # 8 samples / (2 x 2)
    plan, _ = dry_run(capsys, "pretrain", "--stage", "1", "--config", tiny, "--nodes", "2", "--nproc-per-node", "2")
    assert plan["world_size"] == 4 and plan["deepspeed"]["gradient_accumulation_steps"] == 1
    assert pretrain_main(["--stage", "1", "--config", tiny, "--dry-run", "--nodes", "2", "--nproc-per-node", "4"]) == 2
    assert ("global_batch_tokens: 512 tokens per step = 8 samples of seq_length 64 is not a multiple of "
            "micro_batch_size x world size (2 x 8 = 16 samples)") in capsys.readouterr().err
    sft_tiny = str(ROOT / "configs" / "post_training" / "sft-tiny-qwen2.yaml")
    assert sft_main(["--config", sft_tiny, "--dry-run", "--nproc-per-node", "8"]) == 2
    assert "rows_per_step: 4 rows per step is not a multiple of micro_batch_size x world size (1 x 8 = 8 rows)" in \
        capsys.readouterr().err
    dpo_tiny = str(ROOT / "configs" / "post_training" / "dpo-tiny-qwen2.yaml")
    assert dpo_main(["--config", dpo_tiny, "--dry-run", "--nodes", "3"]) == 2
    assert "pairs_per_step: 4 pairs per step is not a multiple of micro_batch_size x world size (2 x 3 = 6 pairs)" in \
        capsys.readouterr().err
    # A run started here trains on this node only.
    assert pretrain_main(["--stage", "1", "--config", tiny, "--nodes", "2"]) == 2
    assert "--nodes 2: a run on several nodes starts this command on every node under torchrun" in \
        capsys.readouterr().err


@pytest.mark.parametrize("job", ["pretrain", "sft", "dpo"])
def test_help_keeps_the_line_breaks_of_its_examples(capsys, job):
    args = ["--help"]
    with pytest.raises(SystemExit) as exit:
        MAINS[job](args)
    assert exit.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--nproc-per-node", "--nodes", "--overwrite", "--dry-run", "--config"):
        assert flag in text
    if job != "dpo":
        assert f"--master-port 29500 \\\n        launch/{job}.py --" in text
    for line in text.splitlines():
        assert "29500 launch/" not in line and "29500         launch/" not in line


@pytest.mark.parametrize("job", ["pretrain", "sft", "dpo"])
def test_another_interpreter_is_told_which_one_to_use(job):
    # -I -S: this Python without its site-packages, as a system Python without torch would be.
    done = subprocess.run([sys.executable, "-I", "-S", str(ROOT / "launch" / f"{job}.py"), "--help"],
                          capture_output=True, text=True, timeout=60, cwd=ROOT.parent)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"error: this project is not installed in {sys.executable}; run `make setup` and use "
                           ".venv/bin/python (or activate .venv)\n")
    # The project importable (a checkout on the path) but not torch: the missing module is named.
    script = (f"import runpy, sys; sys.path.insert(0, {str(ROOT)!r}); sys.argv = ['{job}.py', '--help']; "
              f"runpy.run_path({str(ROOT / 'launch' / f'{job}.py')!r}, run_name='__main__')")
    done = subprocess.run([sys.executable, "-I", "-S", "-c", script], capture_output=True, text=True, timeout=60,
                          cwd=ROOT.parent)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == (f"error: torch is not installed in {sys.executable}; run `make setup` and use "
                           ".venv/bin/python (or activate .venv)\n")


def test_config_paths_resolve_against_the_config_file_and_command_line_ones_against_the_current_directory(
        tmp_path, monkeypatch):
    from training.dpo.training_config import load_dpo_train_config
    from training.pretrain.training_config import load_pretrain_config
    from training.sft.training_config import load_sft_train_config

    monkeypatch.chdir(tmp_path)  # not the checkout
    tiny_model = str(ROOT / "configs" / "pretrain" / "tiny-qwen2")
    config = load_pretrain_config(str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"))
    assert config.model == tiny_model
    config.check_model_source()
    assert config.output_dir == str(tmp_path / "checkpoints")  # left out of the file: the current directory
    assert config.stage(1).blend == str(tmp_path / "blends" / "stage-1.blend.json")
    for load, name in ((load_sft_train_config, "sft-tiny-qwen2.yaml"), (load_dpo_train_config, "dpo-tiny-qwen2.yaml")):
        assert load(str(ROOT / "configs" / "post_training" / name)).model == tiny_model

    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "config.json").write_text("{}")
    (tmp_path / "configs").mkdir()
    (tmp_path / "configs" / "sft.yaml").write_text("data: data/sft.jsonl\noutput_dir: ../runs/sft\n"
                                                   "model: Qwen/Qwen2-7B\n")
    config = load_sft_train_config(str(tmp_path / "configs" / "sft.yaml"))
    assert config.data == str(tmp_path / "configs" / "data" / "sft.jsonl")
    assert config.output_dir == str(tmp_path / "runs" / "sft")
    assert config.model == "Qwen/Qwen2-7B"  # a hub id stays a name
    config = load_sft_train_config(str(tmp_path / "configs" / "sft.yaml"), ["data=here.jsonl", "model=mine",
                                                                            "output_dir=out"])
    assert (config.data, config.model, config.output_dir) == \
        (str(tmp_path / "here.jsonl"), str(tmp_path / "mine"), str(tmp_path / "out"))
    config = load_pretrain_config(str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml"),
                                  ["stages.2.blend=b/two.json", "stages.1={tokens: 512, blend: b/one.json}"])
    assert config.stage(2).blend == str(tmp_path / "b" / "two.json")
    assert config.stage(1).blend == str(tmp_path / "b" / "one.json")


def test_the_pretraining_dry_run_compares_the_stages_tokens_with_its_blend(workdir, monkeypatch, capsys):
    monkeypatch.chdir(workdir)
    tiny = str(ROOT / "configs" / "pretrain" / "tiny-qwen2.yaml")
    blend = json.loads((workdir / "blends" / "stage-1.blend.json").read_text())
    plan, err = dry_run(capsys, "pretrain", "--stage", "1", "--config", tiny)
    data = plan["data"]
    assert data["train_tokens"] == 12 * 512 and data["blend_tokens"] == blend["planned_tokens"]
    available = {e["group"]: e["available_tokens"] for e in blend["entries"]}
    for entry in blend["entries"]:
        assert data["epochs_per_group"][entry["group"]] == pytest.approx(
            12 * 512 * entry["weight"] / available[entry["group"]], abs=1e-3)
    assert "more than 4 times" not in err
    # The intended (Table 2) and realised shares side by side, per stage.
    assert data["category_shares"]["english"]["intended"] == pytest.approx(0.32)
    in_blend = sum(e["weight"] for e in blend["entries"] if e["category"] == "english")
    assert data["category_shares"]["english"]["in_blend"] == pytest.approx(in_blend)
    plan, _ = dry_run(capsys, "pretrain", "--stage", "2", "--config", tiny)
    assert plan["data"]["category_shares"]["english"]["intended"] == pytest.approx(0.28)
    # A budget that would pass over the data many times: the epochs per group, and a warning.
    plan, err = dry_run(capsys, "pretrain", "--stage", "1", "--config", tiny, "stages.1.tokens=1000000")
    assert all(value > 4 for value in plan["data"]["epochs_per_group"].values())
    assert "groups would be seen more than 4 times" in err and plan["data"]["warnings"]
