"""Training library: token shards (megatron_index), blended fixed-length samples (blended_dataset); the
continual-pretraining launcher, SFT and DPO are not built yet."""
