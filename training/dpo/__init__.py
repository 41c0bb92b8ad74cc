"""Preference alignment with DPO (paper §4.2): the loss, tokenized pairs, training config and the per-rank
loop."""
