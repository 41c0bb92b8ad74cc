"""Direct preference optimization (paper §4.2; Rafailov et al. 2023), the sigmoid loss as TRL and
LLaMA-Factory compute it.

* :func:`sequence_logps`: the summed log-probability of each row's labelled tokens (the response;
  prompt and padding are -100), from logits over the same row: position t predicts label t + 1.
* :func:`dpo_loss`: ``-log sigmoid(beta * ((pi_c - ref_c) - (pi_r - ref_r)))`` averaged over pairs, with
  the implicit rewards ``beta * (pi - ref)`` of the chosen and rejected responses. When the policy equals
  the reference every margin is 0 and the loss is log 2.
"""

from __future__ import annotations

from typing import Tuple

import torch
import torch.nn.functional as F

from training.engine.lm_loss import IGNORE_INDEX

DEFAULT_BETA = 0.1  # TRL's and LLaMA-Factory's default


def sequence_logps(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """[batch] sums of log p(label) over the labelled positions of each row."""
    shifted_logits, shifted_labels = logits[:, :-1], labels[:, 1:]
    per_token = -F.cross_entropy(shifted_logits.float().reshape(-1, shifted_logits.shape[-1]),
                                 shifted_labels.reshape(-1), ignore_index=IGNORE_INDEX, reduction="none")
    return per_token.view(shifted_labels.shape).sum(dim=-1)


def dpo_loss(policy_chosen: torch.Tensor, policy_rejected: torch.Tensor, reference_chosen: torch.Tensor,
             reference_rejected: torch.Tensor, beta: float = DEFAULT_BETA) -> Tuple[torch.Tensor, torch.Tensor,
                                                                                   torch.Tensor]:
    """(mean loss, chosen rewards, rejected rewards) of a batch of pairs."""
    chosen_rewards = beta * (policy_chosen - reference_chosen)
    rejected_rewards = beta * (policy_rejected - reference_rejected)
    loss = -F.logsigmoid(chosen_rewards - rejected_rewards).mean()
    return loss, chosen_rewards.detach(), rejected_rewards.detach()


__all__ = ["sequence_logps", "dpo_loss", "DEFAULT_BETA"]
