"""Continual pretraining by stages (paper §3.2): its training config, the stage plan, where a stage starts,
and the per-rank loop."""
