"""The chunked next-token loss equals the plain fp32 cross-entropy, in value and in gradient."""

import torch
import torch.nn.functional as F

from training.engine.lm_loss import next_token_loss


def test_chunked_loss_and_gradient_equal_the_plain_loss():
    generator = torch.Generator().manual_seed(0)
    logits = torch.randn(2, 37, 1000, generator=generator, dtype=torch.bfloat16).requires_grad_()
    labels = torch.randint(0, 1000, (2, 37), generator=generator)
    plain = F.cross_entropy(logits.float().reshape(-1, 1000), labels.reshape(-1))
    (plain_grad,) = torch.autograd.grad(plain, logits)
    chunked = next_token_loss(logits, labels, chunk=8)  # 5 chunks, the last one short
    (chunked_grad,) = torch.autograd.grad(chunked, logits)
    assert torch.allclose(chunked, plain, rtol=1e-6)
    assert torch.allclose(chunked_grad.float(), plain_grad.float(), atol=1e-6)
    assert abs(next_token_loss(logits.detach(), labels, chunk=8).item() - plain.item()) < 1e-5  # without autograd


def test_uniform_logits_give_log_vocabulary():
    logits = torch.zeros(1, 10, 151936)
    labels = torch.randint(0, 151936, (1, 10))
    assert abs(next_token_loss(logits, labels, chunk=3).item() - torch.log(torch.tensor(151936.0)).item()) < 1e-4


def test_masked_positions_do_not_count():
    generator = torch.Generator().manual_seed(1)
    logits = torch.randn(1, 12, 50, generator=generator)
    labels = torch.randint(0, 50, (1, 12), generator=generator)
    labels[0, :5] = -100
    expected = F.cross_entropy(logits[0, 5:], labels[0, 5:])
    assert torch.allclose(next_token_loss(logits, labels, chunk=4), expected, rtol=1e-6)


def test_micro_batch_shares_add_up_to_the_mean_over_both():
    """Two micro-batches, each divided by (tokens of both) / 2 and averaged: the mean over all tokens,
    not the mean of the two micro-batch means."""
    generator = torch.Generator().manual_seed(2)
    logits = torch.randn(2, 12, 50, generator=generator)
    labels = torch.randint(0, 50, (2, 12), generator=generator)
    labels[0, :9] = -100  # 3 tokens in the first micro-batch, 12 in the second
    expected = F.cross_entropy(logits.reshape(-1, 50), labels.reshape(-1))
    denominator = 15 / 2
    shares = [next_token_loss(logits[i:i + 1], labels[i:i + 1], chunk=5, denominator=denominator) for i in (0, 1)]
    assert torch.allclose(sum(shares) / 2, expected, rtol=1e-6)
    assert not torch.allclose(sum(next_token_loss(logits[i:i + 1], labels[i:i + 1]) for i in (0, 1)) / 2, expected,
                              rtol=1e-3)
