"""Training throughput and MFU of Qwen2-0.5B- and Qwen2-1.5B-shaped models (random weights) at 4K, 8K
and 32K context on one GPU, through the pretraining launcher's own step (DeepSpeed ZeRO-3, bf16,
torch AdamW, chunked loss: training/pretrain/loop.micro_step).

Anchor, measured in the same run on the same GPU: the same model and loss in a plain PyTorch loop
(bf16 weights, torch AdamW, no ZeRO). The ratio ours / anchor is the cost of the ZeRO-3 machinery on
one device, which buys nothing there but is what multi-GPU runs use.

    python -m bench.train_throughput                     # the GPU run: 2 models x 3 contexts
    python -m bench.train_throughput --smoke             # CPU check of the script: a tiny model at 64 tokens

MFU = model FLOPs per token (6 N' + 12 L d T, training/engine/throughput.py) x tokens/s / peak BF16 FLOP/s of
the device (looked up from its name). Gradient checkpointing is on for every row so that 32K fits.
A row that runs out of memory is reported as such. Results go to bench/results/train_throughput-*.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import torch

from bench.report import save_report

# Qwen2 model cards (config.json of Qwen/Qwen2-0.5B and Qwen/Qwen2-1.5B), weights not needed.
SHAPES = {
    "qwen2-0.5b": dict(hidden_size=896, intermediate_size=4864, num_hidden_layers=24, num_attention_heads=14,
                       num_key_value_heads=2, tie_word_embeddings=True),
    "qwen2-1.5b": dict(hidden_size=1536, intermediate_size=8960, num_hidden_layers=28, num_attention_heads=12,
                       num_key_value_heads=2, tie_word_embeddings=True),
    "tiny": dict(hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
                 num_key_value_heads=2, tie_word_embeddings=True),
}
CONTEXTS = (4096, 8192, 32768)


def model_folder(shape: str, seq: int) -> str:
    from transformers import Qwen2Config

    folder = tempfile.mkdtemp(prefix=f"{shape}-")
    Qwen2Config(vocab_size=151936, max_position_embeddings=max(seq, 32768), rope_theta=1_000_000.0,
                **SHAPES[shape]).save_pretrained(folder)
    return folder


def random_tokens(steps: int, seq: int, device) -> list:
    generator = torch.Generator().manual_seed(0)
    return [torch.randint(0, 151643, (1, seq + 1), generator=generator).to(device) for _ in range(steps)]


def run_ours(folder: str, seq: int, steps: int, warmup: int, precision: str):
    from training.engine.step_loop import init_distributed, make_engine
    from training.pretrain.loop import micro_step
    from training.pretrain.stage_plan import deepspeed_config
    from training.pretrain.training_config import PretrainConfig

    init_distributed()
    config = PretrainConfig(model=folder, random_init=True, precision=precision, seq_length=seq,
                            global_batch_tokens=seq, micro_batch_size=1, gradient_checkpointing=True)
    engine, model, keep_alive = make_engine(folder, True, {}, config, deepspeed_config(config, 1))
    batches = random_tokens(warmup + steps, seq, engine.device)
    seconds = timed(lambda tokens: micro_step(engine, tokens), batches, warmup)
    result = measures(model.config, sum(getattr(p, "ds_numel", p.numel()) for p in model.parameters()), seq,
                      steps, seconds)
    engine.destroy()
    del keep_alive
    return result


def run_anchor(folder: str, seq: int, steps: int, warmup: int, precision: str):
    from transformers import AutoConfig, AutoModelForCausalLM

    from training.engine.lm_loss import next_token_loss

    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    torch.manual_seed(0)
    dtype = torch.bfloat16 if precision == "bf16" else torch.float32
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(folder), dtype=dtype).to(device)
    model.config.use_cache = False
    model.gradient_checkpointing_enable()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, betas=(0.9, 0.95), weight_decay=0.1)

    def step(tokens):
        loss = next_token_loss(model(input_ids=tokens[:, :-1]).logits, tokens[:, 1:])
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        return loss.detach()

    seconds = timed(step, random_tokens(warmup + steps, seq, device), warmup)
    return measures(model.config, sum(p.numel() for p in model.parameters()), seq, steps, seconds)


def timed(step, batches, warmup: int) -> float:
    for tokens in batches[:warmup]:
        step(tokens)
    synchronize()
    began = time.perf_counter()
    for tokens in batches[warmup:]:
        loss = step(tokens)
    float(loss)
    synchronize()
    return time.perf_counter() - began


def synchronize() -> None:
    if torch.cuda.is_available():
        torch.cuda.synchronize()


def measures(model_config, parameters: int, seq: int, steps: int, seconds: float) -> dict:
    from training.engine.step_loop import memory_gib
    from training.engine.throughput import model_flops_per_token, peak_tflops

    tokens_per_s = steps * seq / seconds
    tflops = model_flops_per_token(model_config, parameters, seq) * tokens_per_s / 1e12
    peak = peak_tflops(torch.cuda.get_device_name()) if torch.cuda.is_available() else None
    return {"parameters": parameters, "tokens_per_s": round(tokens_per_s, 1), "tflops": round(tflops, 2),
            "mfu": round(tflops / peak, 4) if peak else None, "peak_memory_gib": round(memory_gib(), 2)}


def guarded(run, *args) -> dict:
    """One measurement; out of memory is a result, not a crash."""
    try:
        return run(*args)
    except torch.cuda.OutOfMemoryError as exc:
        return {"error": f"out of memory: {str(exc).splitlines()[0]}"}
    finally:
        gc.collect()
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
            torch.cuda.reset_peak_memory_stats()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--smoke", action="store_true", help="tiny model, 64 tokens: checks the script on a CPU")
    parser.add_argument("--models", nargs="*", default=["qwen2-0.5b", "qwen2-1.5b"])
    parser.add_argument("--contexts", nargs="*", type=int, default=list(CONTEXTS))
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    if args.smoke:
        args.models, args.contexts, args.steps, args.warmup = ["tiny"], [64], 3, 1
    elif not torch.cuda.is_available():
        print("no GPU: run with --smoke to check the script on a CPU")
        return 2
    os.environ.update({"LOCAL_RANK": "0", "RANK": "0", "WORLD_SIZE": "1", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": os.environ.get("MASTER_PORT", "29531")})
    precision = "bf16" if torch.cuda.is_available() else "fp32"
    device = torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu"
    rows = []
    print(f"device: {device}")
    print(f"{'model':<12}{'context':>8}{'anchor tok/s':>14}{'ours tok/s':>12}{'ours/anchor':>13}{'TFLOP/s':>9}"
          f"{'MFU':>8}{'memory GiB':>12}")
    for shape in args.models:
        for seq in args.contexts:
            folder = model_folder(shape, seq)
            anchor = guarded(run_anchor, folder, seq, args.steps, args.warmup, precision)
            ours = guarded(run_ours, folder, seq, args.steps, args.warmup, precision)
            ratio = (ours["tokens_per_s"] / anchor["tokens_per_s"]
                     if "tokens_per_s" in ours and "tokens_per_s" in anchor else None)
            rows.append({"model": shape, "context": seq, "anchor": anchor, "ours": ours, "ratio": ratio})
            ratio_text = "" if ratio is None else f"{ratio:.2f}"
            mfu_text = "" if ours.get("mfu") is None else f"{ours['mfu']:.1%}"
            print(f"{shape:<12}{seq:>8}{anchor.get('tokens_per_s', 'OOM'):>14}{ours.get('tokens_per_s', 'OOM'):>12}"
                  f"{ratio_text:>13}{ours.get('tflops', ''):>9}{mfu_text:>8}{ours.get('peak_memory_gib', ''):>12}",
                  flush=True)
    save_report("train_throughput", {"device": device, "precision": precision, "steps": args.steps,
                                     "warmup": args.warmup, "rows": rows})
    print(json.dumps(rows[-1]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
