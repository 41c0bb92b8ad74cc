"""Pretraining data: Megatron token shards (``megatron_index``) and fixed-length samples blended from them
(``blended_dataset``)."""
