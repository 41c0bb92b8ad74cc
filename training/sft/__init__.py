"""Supervised fine-tuning with neat packing (paper §4.1.2): ChatML template, packing, packed dataset, training
config and the per-rank loop."""
