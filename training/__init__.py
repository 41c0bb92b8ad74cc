"""Training library: continual pretraining (DeepSpeed ZeRO-3 on Qwen2), SFT and DPO — not built yet."""
