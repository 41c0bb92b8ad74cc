"""The engine every training job shares: step loop, checkpoints and run-folder layout, step log, engine and
post-training settings, model builder, LR schedule, LM loss, throughput, run lock."""
