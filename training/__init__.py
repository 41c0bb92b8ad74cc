"""Training on DeepSpeed ZeRO-3: the shared engine (``engine``), token shards and blends (``data``), and one
sub-package per job: continual pretraining (``pretrain``), supervised fine-tuning (``sft``) and DPO (``dpo``)."""
