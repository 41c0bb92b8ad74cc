"""The sigmoid DPO loss: log 2 when the policy is the reference, and a tiny Qwen2-shaped model trained
with it on real preference pairs (a correct vs a wrong translation of NTREX-128 sentences) widens its
chosen-vs-rejected margin within a few steps."""

import math

import torch

from common.tokenizer import load_tokenizer
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import ntrex_sentences
from training.dpo.loss import dpo_loss, sequence_logps
from training.sft.chat_template import ChatML
from training.sft.packing import IGNORE_INDEX


def test_loss_is_log_two_when_policy_equals_reference():
    logps = torch.tensor([-12.5, -40.0, -3.25])
    loss, chosen, rejected = dpo_loss(logps, logps - 5, logps, logps - 5, beta=0.1)
    assert abs(loss.item() - math.log(2)) < 1e-7
    assert torch.equal(chosen, torch.zeros(3)) and torch.equal(rejected, torch.zeros(3))


def test_sequence_logps_sum_the_labelled_tokens_only():
    torch.manual_seed(0)
    logits = torch.randn(1, 5, 11)
    labels = torch.tensor([[IGNORE_INDEX, IGNORE_INDEX, 4, 7, IGNORE_INDEX]])
    logprobs = torch.log_softmax(logits, dim=-1)
    expected = logprobs[0, 1, 4] + logprobs[0, 2, 7]
    assert torch.allclose(sequence_logps(logits, labels), expected[None])


def _pairs(chatml, count=4):
    english, german = ntrex_sentences("eng_Latn.txt", count + 1), ntrex_sentences("deu_Latn.txt", count + 1)
    pairs = []
    for i in range(count):
        prompt = [{"role": "user", "content": f"Translate into German: {english[i]}"}]
        chosen = chatml.tokenize(prompt + [{"role": "assistant", "content": german[i]}])
        rejected = chatml.tokenize(prompt + [{"role": "assistant", "content": german[i + 1]}])  # another sentence
        pairs.append((chosen, rejected))
    return pairs


def _batch(examples, pad):
    width = max(len(e) for e in examples)
    ids = torch.tensor([list(e.input_ids) + [pad] * (width - len(e)) for e in examples])
    labels = torch.tensor([list(e.labels) + [IGNORE_INDEX] * (width - len(e)) for e in examples])
    mask = torch.tensor([[1] * len(e) + [0] * (width - len(e)) for e in examples])
    return ids, labels, mask


def test_training_on_pairs_widens_the_margin():
    from transformers import AutoConfig, AutoModelForCausalLM

    chatml = ChatML(load_tokenizer(None))
    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(ROOT / "configs" / "pretrain" / "tiny-qwen2")
    policy = AutoModelForCausalLM.from_config(config)
    reference = AutoModelForCausalLM.from_config(config)
    reference.load_state_dict(policy.state_dict())
    reference.eval()
    pairs = _pairs(chatml)
    ids, labels, mask = _batch([c for c, _ in pairs] + [r for _, r in pairs], chatml.pad)
    with torch.no_grad():  # reference log-probs computed once, as launch/dpo.py caches them
        ref = sequence_logps(reference(input_ids=ids, attention_mask=mask).logits, labels)
    optimizer = torch.optim.AdamW(policy.parameters(), lr=1e-3)
    margins = []
    for step in range(6):
        logps = sequence_logps(policy(input_ids=ids, attention_mask=mask).logits, labels)
        half = len(pairs)
        loss, chosen, rejected = dpo_loss(logps[:half], logps[half:], ref[:half], ref[half:])
        if step == 0:
            assert abs(loss.item() - math.log(2)) < 1e-5
        margins.append((chosen - rejected).mean().item())
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    print("\nmargins:", " ".join(f"{m:.3f}" for m in margins))
    assert abs(margins[0]) < 1e-6
    assert margins[-1] > 0.5 and all(b > a for a, b in zip(margins, margins[1:]))
