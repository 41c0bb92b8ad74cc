"""Neat packing and the ChatML template on real conversations (NTREX-128 sentences as translation
requests and answers): best-fit-decreasing rows, positions restarting per example, the loss only on
assistant tokens, and a packed forward pass equal to the unpacked ones."""

import pytest
import torch
import torch.nn.functional as F

from common.tokenizer import load_tokenizer
from tests.fixtures.shared_data import REPO_ROOT as ROOT
from tests.fixtures.shared_data import ntrex_sentences as sentences
from training.sft.chat_template import ChatML, ChatMLFormatError
from training.sft.packing import (
    IGNORE_INDEX,
    TokenizedExample,
    best_fit_decreasing,
    block_diagonal_mask,
    collate,
    pack_examples,
    pack_row,
)


@pytest.fixture(scope="module")
def chatml():
    return ChatML(load_tokenizer(None))


@pytest.fixture(scope="module")
def conversations():
    english, german, chinese = (sentences(n, 12) for n in ("eng_Latn.txt", "deu_Latn.txt", "zho_Hans.txt"))
    result = []
    for i in range(12):
        target, name = (german[i], "German") if i % 2 else (chinese[i], "Chinese")
        turns = [{"role": "user", "content": f"Translate into {name}: {english[i]}"},
                 {"role": "assistant", "content": target}]
        if i % 3 == 0:  # some multi-turn, some with their own system prompt
            turns += [{"role": "user", "content": "Thanks. Now the next one, please."},
                      {"role": "assistant", "content": german[(i + 1) % 12]}]
        if i % 4 == 0:
            turns.insert(0, {"role": "system", "content": "You translate news."})
        result.append(turns)
    return result


def test_best_fit_decreasing_golden_rows():
    rows, too_long = best_fit_decreasing([5, 3, 7, 2, 6, 11], capacity=10)
    assert rows == [[2, 1], [4, 3], [0]] and too_long == [5]


def test_position_ids_restart_per_example_golden():
    row = pack_row([TokenizedExample((11, 12, 13), (-100, 12, 13)), TokenizedExample((21, 22), (-100, 22))],
                   capacity=7, pad_id=0)
    assert row == {"input_ids": [11, 12, 13, 21, 22, 0, 0], "labels": [-100, 12, 13, -100, 22, -100, -100],
                   "position_ids": [0, 1, 2, 0, 1, 0, 0], "segment_ids": [1, 1, 1, 2, 2, 0, 0]}


def test_only_assistant_tokens_carry_labels(chatml, conversations):
    tokenizer = chatml.tokenizer
    for messages in conversations:
        example = chatml.tokenize(messages)
        assert tokenizer.decode(list(example.input_ids), skip_special_tokens=False) == chatml.render(messages)
        trained = [t for t, label in zip(example.input_ids, example.labels) if label != IGNORE_INDEX]
        assert all(label in (IGNORE_INDEX, token) for token, label in zip(example.input_ids, example.labels))
        expected = "".join(m["content"] + "<|im_end|>" for m in messages if m["role"] == "assistant")
        assert tokenizer.decode(trained, skip_special_tokens=False) == expected
    with pytest.raises(ChatMLFormatError, match="format:no_assistant_turn"):
        chatml.tokenize([{"role": "user", "content": "hello"}])


def test_packed_forward_equals_unpacked_forwards(chatml, conversations):
    from transformers import AutoConfig, AutoModelForCausalLM

    torch.manual_seed(0)
    config = AutoConfig.from_pretrained(ROOT / "configs" / "pretrain" / "tiny-qwen2")
    config._attn_implementation = "sdpa"
    model = AutoModelForCausalLM.from_config(config).eval()
    examples = [chatml.tokenize(m) for m in conversations]
    capacity = max(len(e) for e in examples) + 40
    rows, too_long = pack_examples(examples, capacity, chatml.pad)
    assert not too_long and len(rows) < len(examples)
    batch = collate(rows)
    with torch.no_grad():
        packed = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"],
                       attention_mask=block_diagonal_mask(batch["segment_ids"])).logits
    placed = 0
    packed_losses, single_losses = [], []
    for r, row in enumerate(rows):
        segments = batch["segment_ids"][r]
        for number in range(1, int(segments.max()) + 1):
            where = (segments == number).nonzero().flatten()
            ids = batch["input_ids"][r, where]
            with torch.no_grad():
                alone = model(input_ids=ids[None]).logits[0]
            assert torch.allclose(packed[r, where], alone, atol=1e-4), (r, number)
            labels = batch["labels"][r, where]
            packed_losses.append(F.cross_entropy(packed[r, where][:-1], labels[1:], reduction="sum"))
            single_losses.append(F.cross_entropy(alone[:-1], labels[1:], reduction="sum"))
            placed += 1
    assert placed == len(examples)
    starts = (batch["position_ids"] == 0) & (batch["segment_ids"] > 0)
    assert (batch["labels"][starts] == IGNORE_INDEX).all()  # no target crosses from one example into the next
    assert torch.allclose(torch.stack(packed_losses), torch.stack(single_losses), atol=1e-3)
