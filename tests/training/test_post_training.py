"""SFT and DPO end to end on CPU: a Qwen2-shaped model (configs/pretrain/tiny-qwen2, random weights)
fine-tuned with neat packing on conversations curated by pipelines/curate_sft.py, then aligned with DPO
on pairs built by pipelines/build_preferences.py, each with 2 processes on gloo under ZeRO-3. The
conversations and pairs are translation requests over NTREX-128 sentences (a wrong sentence is the
rejected answer)."""

import json
import math
import os
import subprocess
import sys

import numpy as np
import pytest

from pipelines.preferences.build import build_preferences, to_pair
from pipelines.sft.curate import curate_sft
from pipelines.sft.curation_config import SftConfig
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import ntrex_sentences as ntrex
from training.dpo.command import main as dpo_main
from training.engine.step_log import read_steps
from training.sft.command import main as sft_main

# Several torch processes train a model on the CPU: minutes, not seconds.
pytestmark = pytest.mark.slow

TINY = str(ROOT / "configs" / "pretrain" / "tiny-qwen2")


@pytest.fixture(scope="module")
def sft_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sft")
    english, german, chinese = ntrex("eng_Latn.txt", 24), ntrex("deu_Latn.txt", 24), ntrex("zho_Hans.txt", 24)
    with open(folder / "raw.jsonl", "w", encoding="utf-8") as handle:
        for i in range(24):
            target, name = (german[i], "German") if i % 2 else (chinese[i], "Chinese")
            handle.write(json.dumps({"messages": [{"role": "user", "content": f"Translate into {name}: {english[i]}"},
                                                  {"role": "assistant", "content": target}]},
                                    ensure_ascii=False) + "\n")
    curate_sft(SftConfig(), [str(folder / "raw.jsonl")], str(folder / "curated"), in_process=True)
    return folder / "curated" / "sft.jsonl"


@pytest.fixture(scope="module")
def preference_data(tmp_path_factory):
    folder = tmp_path_factory.mktemp("prefs")
    english, german = ntrex("eng_Latn.txt", 9), ntrex("deu_Latn.txt", 9)
    with open(folder / "pairs.jsonl", "w", encoding="utf-8") as handle:
        for i in range(4):
            prompt = f"Translate into German: {english[i]}"
            handle.write(json.dumps({"prompt": prompt, "chosen": german[i], "rejected": german[i + 1]},
                                    ensure_ascii=False) + "\n")
        handle.write(json.dumps({"prompt": "Translate: Hallo", "chosen": "Hello", "rejected": "Hello"}) + "\n")
        handle.write(json.dumps({"prompt": f"Translate into German: {english[0]}", "chosen": german[0],
                                 "rejected": german[1]}, ensure_ascii=False) + "\n")  # a duplicate
    with open(folder / "arena.jsonl", "w", encoding="utf-8") as handle:
        for i in range(4, 8):
            handle.write(json.dumps({"id": i, "prompt": json.dumps([f"Translate into German: {english[i]}"]),
                                     "response_a": json.dumps([german[i + 1]]), "response_b": json.dumps([german[i]]),
                                     "winner_model_a": 0, "winner_model_b": 1, "winner_tie": 0},
                                    ensure_ascii=False) + "\n")
        handle.write(json.dumps({"id": 99, "prompt": "[\"hi\"]", "response_a": "[\"a\"]", "response_b": "[\"b\"]",
                                 "winner_model_a": 0, "winner_model_b": 0, "winner_tie": 1}) + "\n")
    stats = build_preferences([str(folder / "pairs.jsonl"), str(folder / "arena.jsonl")], str(folder / "built"))
    return folder / "built" / "preferences.jsonl", stats.to_dict()


def test_preference_records_and_reasons(preference_data):
    path, stats = preference_data
    ops = {op["name"]: op for op in stats["operators"]}
    assert ops["preference_reader"]["dropped"] == {"pref:identical": 1, "pref:tie": 1}
    assert ops["preference_dedup"]["dropped"] == {"pref:duplicate": 1}
    pairs = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    german = ntrex("deu_Latn.txt", 9)
    assert len(pairs) == 8 and all(p["chosen"] == german[i] for i, p in enumerate(pairs))  # arena winner b chosen
    assert to_pair({"prompt": "q", "chosen": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
                    "rejected": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "b"}]}) == \
        ({"prompt": [{"role": "user", "content": "q"}], "chosen": "a", "rejected": "b"}, None)
    assert to_pair({"question": "?"}) == (None, "format:unknown")


def launch(script, config, output, data, *extra, processes=2):
    command = [sys.executable, str(ROOT / "launch" / script), "--nproc-per-node", str(processes), "--config", config,
               f"output_dir={output}", f"model={TINY}", f"data={data}", *extra]
    done = subprocess.run(command, env={**os.environ, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def events(output, name):
    with open(os.path.join(output, "logs", "train.jsonl"), encoding="utf-8") as handle:
        return [r for r in map(json.loads, handle) if r.get("event") == name]


def test_sft_dry_run_packs_whole_conversations(sft_data, tmp_path, capsys):
    config = str(ROOT / "configs" / "post_training" / "sft-tiny-qwen2.yaml")
    assert sft_main(["--config", config, "--dry-run", "--nproc-per-node", "2", f"output_dir={tmp_path}", f"model={TINY}",
                     f"data={sft_data}"]) == 0
    plan = json.loads(capsys.readouterr().out)
    packing = plan["packing"]
    assert packing["examples"] == 24 and packing["too_long"] == 0 and packing["rows"] < 24
    assert plan["steps"] == math.ceil(packing["rows"] * 3.0 / 4)
    assert plan["lr_key_points"]["0"] == 0.0 and plan["lr_key_points"][str(plan["steps"])] == pytest.approx(3e-4)


def test_sft_then_dpo_end_to_end(sft_data, preference_data, tmp_path):
    sft_out = tmp_path / "sft"
    launch("sft.py", str(ROOT / "configs" / "post_training" / "sft-tiny-qwen2.yaml"), sft_out, sft_data,
           "epochs=2.0")
    steps = read_steps(str(sft_out / "logs" / "train.jsonl"))
    losses = [steps[s]["loss"] for s in sorted(steps)]
    print("\nSFT losses:", " ".join(f"{loss:.3f}" for loss in losses))
    assert losses[-1] < losses[0] - 0.3
    (start,) = events(str(sft_out), "start")
    assert start["examples"] == 24
    assert (sft_out / "final" / "model.safetensors").is_file()

    dpo_out = tmp_path / "dpo"
    path, _ = preference_data
    launch("dpo.py", str(ROOT / "configs" / "post_training" / "dpo-tiny-qwen2.yaml"), dpo_out, path,
           "epochs=5.0", "pairs_per_step=8", "max_lr=0.001")  # every step sees all 8 pairs
    steps = read_steps(str(dpo_out / "logs" / "train.jsonl"))
    print("DPO margins:", " ".join(f"{steps[s]['reward_margin']:.3f}" for s in sorted(steps)))
    assert abs(steps[1]["loss"] - math.log(2)) < 1e-3 and abs(steps[1]["reward_margin"]) < 1e-3
    margins = [steps[s]["reward_margin"] for s in sorted(steps)]
    assert all(b > a for a, b in zip(margins, margins[1:])) and margins[-1] > 0.3
    assert steps[max(steps)]["reward_accuracy"] >= 0.75
    reference = np.load(dpo_out / "reference_logps.npy")
    assert reference.shape == (8, 2) and np.all(reference < 0)
    assert (dpo_out / "final" / "model.safetensors").is_file()


def all_pairs_evaluation(run_dir, beta=0.1):
    """(loss, mean margin, accuracy) of every pair of a DPO run under its exported weights, against the
    reference log-probabilities the run cached: what the run did to the whole pair set."""
    import torch
    from transformers import AutoModelForCausalLM

    from training.dpo.loop import pad_rows
    from training.dpo.loss import dpo_loss, sequence_logps
    from training.dpo.pairs import load_pairs

    (folder,) = (run_dir / "tokenized").iterdir()
    pairs, _ = load_pairs(str(folder))
    reference = torch.tensor(np.load(run_dir / "reference_logps.npy"))
    model = AutoModelForCausalLM.from_pretrained(run_dir / "final", dtype=torch.float32).eval()
    with torch.no_grad():
        rows = pad_rows([c for c, _ in pairs] + [r for _, r in pairs], 151643, "cpu")
        logps = sequence_logps(model(input_ids=rows["input_ids"], attention_mask=rows["attention_mask"]).logits,
                               rows["labels"]).double()
    n = len(pairs)
    loss, chosen, rejected = dpo_loss(logps[:n], logps[n:], reference[:, 0], reference[:, 1], beta)
    return loss.item(), (chosen - rejected).mean().item(), (chosen > rejected).double().mean().item()


def test_dpo_launcher_learns_a_fixed_pair_set_over_a_few_epochs(preference_data, tmp_path, capsys):
    """The shipped tiny DPO config as it is (4 pairs per step, LR 1e-3, no warm-up) over build_preferences.py's 8
    pairs for 4 epochs. Each step logs its own pairs before its update, so in the first epoch half of them are
    pairs the policy has not been trained on; and in these pairs every wrong answer is another pair's right one
    (a response pushed down in one pair is pushed up in the next), so what one pair teaches undoes another's
    until the policy ties answers to prompts. Over the epochs the logged loss falls, and under the exported
    weights the whole set's loss is below log 2, with a positive margin and most pairs ranked right."""
    dpo_out = tmp_path / "dpo"
    path, _ = preference_data
    config = str(ROOT / "configs" / "post_training" / "dpo-tiny-qwen2.yaml")
    launch("dpo.py", config, dpo_out, path, "epochs=4.0", processes=1)
    steps = read_steps(str(dpo_out / "logs" / "train.jsonl"))
    assert sorted(steps) == list(range(1, 9))  # 8 pairs x 4 epochs / 4 pairs per step
    assert abs(steps[1]["loss"] - math.log(2)) < 1e-4 and abs(steps[1]["reward_margin"]) < 1e-4
    by_epoch = [[steps[s] for s in (2 * e + 1, 2 * e + 2)] for e in range(4)]
    loss = [np.mean([r["loss"] for r in epoch]) for epoch in by_epoch]
    margin = [np.mean([r["reward_margin"] for r in epoch]) for epoch in by_epoch]
    accuracy = [np.mean([r["reward_accuracy"] for r in epoch]) for epoch in by_epoch]
    with capsys.disabled():
        print("\nDPO per epoch: loss", " ".join(f"{v:.3f}" for v in loss), "| margin",
              " ".join(f"{v:.3f}" for v in margin), "| accuracy", " ".join(f"{v:.3f}" for v in accuracy))
    assert loss[-1] < loss[1] < loss[0] and loss[-1] < math.log(2) - 0.05
    assert margin[-1] > margin[0] and margin[-1] > 0.1 and accuracy[-1] > accuracy[0]
    whole_loss, whole_margin, whole_accuracy = all_pairs_evaluation(dpo_out)
    with capsys.disabled():
        print(f"all 8 pairs under the final weights: loss {whole_loss:.3f} margin {whole_margin:.3f} "
              f"accuracy {whole_accuracy:.3f}")
    assert whole_loss < math.log(2) - 0.07 and whole_margin > 0.15 and whole_accuracy >= 0.625  # from 0.693, 0, 0

    # The finished run: the same command says so; another beta is refused, naming it.
    import training.engine.processes as processes

    args = ["--config", config, f"output_dir={dpo_out}", f"model={TINY}", f"data={path}", "epochs=4.0"]
    assert dpo_main(args) == 0
    assert "DPO is complete" in capsys.readouterr().out
    while processes._held_locks:  # this process is the next run too
        processes._held_locks.pop().close()
    assert dpo_main(args + ["beta=0.2"]) == 2
    assert "settings.beta: 0.1 → 0.2" in capsys.readouterr().err
    while processes._held_locks:
        processes._held_locks.pop().close()


def test_tokenized_pairs_cache_round_trips(preference_data, tmp_path):
    from common.tokenizer import load_tokenizer, tokenizer_source
    from training.dpo.pairs import cached_pairs, tokenize_pairs
    from training.sft.chat_template import ChatML

    path, _ = preference_data
    chatml = ChatML(load_tokenizer(None), "You are a helpful assistant.")
    pairs, skipped = tokenize_pairs(str(path), chatml, 90)
    assert skipped["too_long"] > 0 and pairs  # a max_length that leaves some out
    built = cached_pairs(str(path), chatml, tokenizer_source(None), 90, "You are a helpful assistant.", str(tmp_path))
    (folder,) = (tmp_path / "tokenized").iterdir()
    read = cached_pairs(str(path), chatml, tokenizer_source(None), 90, "You are a helpful assistant.", str(tmp_path))
    assert built == read == (pairs, skipped)
    assert [p.name for p in (tmp_path / "tokenized").iterdir()] == [folder.name]


def test_sft_loss_is_the_token_mean_of_the_whole_step(sft_data, tmp_path):
    """Two processes with two micro-batches of one row each take the same steps as one process with one
    micro-batch of four rows: the step's loss is its token mean, not a mean of per-row means, and the
    gradients agree too (the second and third steps start from the weights the earlier steps made)."""
    config = str(ROOT / "configs" / "post_training" / "sft-tiny-qwen2.yaml")
    split, whole = tmp_path / "split", tmp_path / "whole"
    launch("sft.py", config, split, sft_data, "epochs=1.0", "micro_batch_size=1", processes=2)
    launch("sft.py", config, whole, sft_data, "epochs=1.0", "micro_batch_size=4", processes=1)
    split_steps = read_steps(str(split / "logs" / "train.jsonl"))
    whole_steps = read_steps(str(whole / "logs" / "train.jsonl"))
    assert sorted(split_steps) == sorted(whole_steps) and len(whole_steps) >= 3
    for step in sorted(whole_steps):
        assert split_steps[step]["loss"] == pytest.approx(whole_steps[step]["loss"], rel=1e-4), step


def test_missing_data_is_one_error(tmp_path, capsys):
    config = str(ROOT / "configs" / "post_training" / "dpo-tiny-qwen2.yaml")
    assert dpo_main(["--config", config, f"output_dir={tmp_path}", f"model={TINY}",
                     f"data={tmp_path / 'none.jsonl'}"]) == 2
    assert "data: file not found" in capsys.readouterr().err


def test_a_cache_installed_by_another_process_first_is_kept(tmp_path):
    from training.sft.dataset import install_folder

    theirs, mine = tmp_path / "cache", tmp_path / "cache.tmp-1"
    theirs.mkdir()
    (theirs / "meta.json").write_text("theirs")
    mine.mkdir()
    (mine / "meta.json").write_text("mine")
    install_folder(str(mine), str(theirs))
    assert (theirs / "meta.json").read_text() == "theirs" and not mine.exists()
    fresh = tmp_path / "fresh.tmp-1"
    fresh.mkdir()
    install_folder(str(fresh), str(tmp_path / "fresh"))
    assert (tmp_path / "fresh").is_dir() and not fresh.exists()
